/**
 * A task's privacy budget: the DP settings a task promises (derived from an ε budget, or checked against it)
 * and the ε a site has spent after the rounds it joined. The site service, `fedledger task create`, the demo
 * and the auditor all count with these functions, so they agree to the last bit. docs/privacy.md ("The budget
 * on the ledger") states the rule.
 *
 * @example
 * const dp = planTaskDp({ epsilon: 8, delta: 1e-5, rounds: 5, epochs: 3 }); // σ from the accountant
 * siteEpsilon(dp, 3, 2); // ε after joining 2 rounds
 */
import { dpStepsPerEpoch } from "../model/dp";
import type { DpConfig, DpNoise } from "../model/spec";
import {
  checkDelta,
  checkEpsilon,
  checkNoiseMultiplier,
  checkSamplingRate,
  computeEpsilon,
  PrivacyParameterError,
  sigmaForBudget,
} from "./rdp";

/** Clipping norm C when a task does not name one (the value of scripts/bench-dp.ts). */
export const DEFAULT_DP_CLIP_NORM = 0.2;
/** Poisson sampling rate q when a task does not name one (the value of scripts/bench-dp.ts). */
export const DEFAULT_DP_SAMPLE_RATE = 0.25;

/** Parameters of {@link planTaskDp}. Names of `flags` are used in error messages (e.g. "--dp-epsilon"). */
export interface PlanTaskDpParameters {
  /** The ε budget of every site over the whole task. */
  epsilon: number;
  delta: number;
  /** Rounds planned for the task: the budget must cover a site joining every one of them. */
  rounds: number;
  /** Local epochs per round (the spec's training.epochs). */
  epochs: number;
  clipNorm?: number;
  sampleRate?: number;
  /** σ; when absent the smallest σ that keeps `rounds` rounds within the budget. */
  noiseMultiplier?: number;
  noise?: DpNoise;
  /** How to name each parameter in messages; defaults to the field names. */
  names?: Partial<Record<"epsilon" | "delta" | "clipNorm" | "sampleRate" | "noiseMultiplier", string>>;
}

/** The DP settings of a task, and what they cost when a site joins every planned round. */
export interface TaskDpPlan {
  dp: DpConfig;
  /** Noisy steps of one round: epochs × max(1, round(1/q)). */
  stepsPerRound: number;
  /** ε of a site that joins every planned round (at most the budget). */
  epsilonPlanned: number;
  /** Whether σ was found by the accountant's search (else it was given). */
  sigmaDerived: boolean;
}

/** Noisy steps of `rounds` rounds of DP-SGD at `epochs` local epochs. */
export function dpSteps(dp: Pick<DpConfig, "sampleRate">, epochs: number, rounds: number): number {
  return rounds * epochs * dpStepsPerEpoch(dp.sampleRate);
}

/**
 * ε (at the spec's δ, improved conversion, default orders) spent by a site that published `roundsJoined`
 * updates of a task with these DP settings: one composition of roundsJoined × epochs × max(1, round(1/q))
 * steps of the Poisson-subsampled Gaussian mechanism at (q, σ). 0 for no rounds.
 */
export function siteEpsilon(dp: DpConfig, epochs: number, roundsJoined: number): number {
  if (roundsJoined === 0) return 0;
  return computeEpsilon({
    q: dp.sampleRate,
    sigma: dp.noiseMultiplier,
    steps: dpSteps(dp, epochs, roundsJoined),
    delta: dp.delta,
  }).epsilon;
}

/**
 * The DP settings for a task: C and q as given (or the defaults), σ as given or derived from the budget with
 * the accountant's search (sigmaForBudget over rounds × steps per round). A given σ whose ε over the planned
 * rounds exceeds the budget is refused with a PrivacyParameterError (exit code 2).
 */
export function planTaskDp(params: PlanTaskDpParameters): TaskDpPlan {
  const n = {
    epsilon: "epsilon",
    delta: "delta",
    clipNorm: "clipNorm",
    sampleRate: "sampleRate",
    ...params.names,
  };
  const epsilon = checkEpsilon(params.epsilon, n.epsilon);
  const delta = checkDelta(params.delta, n.delta);
  const clipNorm = params.clipNorm ?? DEFAULT_DP_CLIP_NORM;
  if (!Number.isFinite(clipNorm) || clipNorm <= 0 || clipNorm > 1e6)
    throw new PrivacyParameterError(
      `${n.clipNorm} must be a clipping norm above 0 and at most 1e6; got ${clipNorm}`,
      `Pass the L2 bound of one note's gradient, e.g. ${DEFAULT_DP_CLIP_NORM}`,
    );
  const sampleRate = checkSamplingRate(params.sampleRate ?? DEFAULT_DP_SAMPLE_RATE, n.sampleRate);
  if (epsilon > 1e6) throw new PrivacyParameterError(`${n.epsilon} must be at most 1e6; got ${epsilon}`);
  const steps = dpSteps({ sampleRate }, params.epochs, params.rounds);
  let noiseMultiplier: number;
  const sigmaDerived = params.noiseMultiplier === undefined;
  if (params.noiseMultiplier === undefined) {
    noiseMultiplier = sigmaForBudget({ q: sampleRate, steps, delta, epsilon });
  } else {
    noiseMultiplier = checkNoiseMultiplier(params.noiseMultiplier, n.noiseMultiplier ?? "noiseMultiplier");
  }
  if (noiseMultiplier > 1000)
    throw new PrivacyParameterError(
      `the noise multiplier for ε ${epsilon} over ${params.rounds} round(s) would be ${noiseMultiplier}, above the spec's limit of 1000`,
      "Raise the ε budget, or plan fewer rounds or a smaller sampling rate",
    );
  const dp: DpConfig = {
    clipNorm,
    noiseMultiplier,
    sampleRate,
    delta,
    epsilonBudget: epsilon,
    noise: params.noise ?? "csprng",
  };
  const epsilonPlanned = siteEpsilon(dp, params.epochs, params.rounds);
  if (epsilonPlanned > epsilon)
    throw new PrivacyParameterError(
      `σ ${noiseMultiplier} spends ε ${epsilonPlanned.toFixed(4)} (δ ${delta}) over the ${params.rounds} planned round(s) ` +
        `of ${steps / params.rounds} steps at q ${sampleRate}, more than the budget of ${epsilon}`,
      `Leave ${n.noiseMultiplier ?? "σ"} out to derive it from the budget, or raise it to at least ` +
        `${sigmaForBudget({ q: sampleRate, steps, delta, epsilon })}`,
    );
  return { dp, stepsPerRound: steps / params.rounds, epsilonPlanned, sigmaDerived };
}

/** Relative tolerance between a site's reported ε and the auditor's recomputation. */
export const EPSILON_RELATIVE_TOLERANCE = 1e-9;

/** Whether a reported ε agrees with a recomputed one within {@link EPSILON_RELATIVE_TOLERANCE}. */
export function epsilonAgrees(reported: number, recomputed: number): boolean {
  return (
    Math.abs(reported - recomputed) <= EPSILON_RELATIVE_TOLERANCE * Math.max(Math.abs(recomputed), 1e-12)
  );
}
