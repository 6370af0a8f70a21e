/**
 * What a DP-SGD run of a spec does, as numbers the privacy accountant (node/privacy/rdp.ts) and the site
 * need: the sampling rate, the number of noisy steps of one local run, the noise scale and the divisor.
 * docs/privacy.md ("DP-SGD at each site") states the algorithm; node/model/train.ts runs it.
 *
 * @example
 * const { sampleRate, steps, noiseMultiplier } = dpPlan(spec, notes.length);
 * const epsilonPerRound = computeEpsilon({ q: sampleRate, sigma: noiseMultiplier, steps, delta });
 */
import { FedledgerError } from "../errors";
import type { DpConfig, ModelSpec } from "./spec";

/** One local DP-SGD run (one federated round) of a site. */
export interface DpPlan {
  /** q: each step includes each note independently with this probability (Poisson sampling). */
  sampleRate: number;
  /** σ: the noise standard deviation is σ·C per parameter per step. */
  noiseMultiplier: number;
  /** C: the L2 bound of one note's gradient. */
  clipNorm: number;
  /** Noisy steps of the run: epochs × max(1, round(1 / q)). */
  steps: number;
  /** Steps per epoch: max(1, round(1 / q)), so an epoch sees each note once in expectation. */
  stepsPerEpoch: number;
  /** The expected batch size q·notes: every step's noisy sum is divided by this (never the realised size). */
  divisor: number;
}

/** Raised for DP settings a run cannot use. */
export class DpError extends FedledgerError {}

/** The spec's DP settings, or an error when the spec trains without DP. */
export function dpConfig(spec: ModelSpec): DpConfig {
  const dp = spec.training.dp;
  if (!dp) {
    throw new DpError("the model spec has no training.dp settings", {
      hint: "Create the task with DP settings (docs/privacy.md) to train with differential privacy",
    });
  }
  return dp;
}

/** Steps per epoch for a sampling rate: max(1, round(1 / q)). */
export function dpStepsPerEpoch(sampleRate: number): number {
  return Math.max(1, Math.round(1 / sampleRate));
}

/**
 * The DP-SGD run of `spec` on a site with `numNotes` notes. The sampling rate and the number of steps
 * depend on the spec only (so ε per round does too); the divisor q·numNotes depends on the site.
 */
export function dpPlan(spec: ModelSpec, numNotes: number): DpPlan {
  return dpPlanOf(dpConfig(spec), spec.training.epochs, numNotes);
}

/** {@link dpPlan} from the DP settings and the number of epochs. */
export function dpPlanOf(dp: DpConfig, epochs: number, numNotes: number): DpPlan {
  if (!Number.isInteger(numNotes) || numNotes < 1) {
    throw new DpError(`cannot plan DP training on ${numNotes} notes`, {
      hint: "Give at least one labelled note",
    });
  }
  const stepsPerEpoch = dpStepsPerEpoch(dp.sampleRate);
  return {
    sampleRate: dp.sampleRate,
    noiseMultiplier: dp.noiseMultiplier,
    clipNorm: dp.clipNorm,
    stepsPerEpoch,
    steps: epochs * stepsPerEpoch,
    divisor: dp.sampleRate * numNotes,
  };
}

/**
 * Noisy steps of one local run (one round) for the accountant: spec.training.epochs × max(1,
 * round(1 / dp.sampleRate)). `numNotes` does not change it (the sampling rate is fixed by the spec); it is
 * accepted so callers need not care.
 * @example computeEpsilon({ q: spec.training.dp.sampleRate, sigma, steps: rounds * dpStepsPerRun(spec), delta })
 */
export function dpStepsPerRun(spec: ModelSpec, numNotes?: number): number {
  if (numNotes !== undefined) return dpPlan(spec, numNotes).steps;
  return spec.training.epochs * dpStepsPerEpoch(dpConfig(spec).sampleRate);
}

/**
 * Throws unless the spec's DP noise is the production CSPRNG. A site calls it before training a task's
 * round (unless it runs with an explicit test flag); a spec without DP passes.
 */
export function assertProductionNoise(spec: ModelSpec): void {
  const dp = spec.training.dp;
  if (dp && dp.noise !== "csprng") {
    throw new DpError(`the task's model spec asks for DP noise "${dp.noise}", which is for tests only`, {
      hint: 'Create the task with training.dp.noise "csprng"; seeded noise is predictable and gives no privacy',
    });
  }
}
