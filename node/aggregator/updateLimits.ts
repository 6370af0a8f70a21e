/**
 * The limits an update must respect to count in a round: a largest committed sample count (so one site cannot
 * take all the FedAvg weight, or stall aggregation with a count FedAvg refuses) and a largest L2 norm (so one
 * site cannot push the model to 1e30). The upload path refuses an update beyond either, and the round driver
 * leaves out a stored one (e.g. accepted before the limit was lowered): both call the functions below, so they
 * always agree.
 *
 * Today the limits come from the aggregator's config. When the task records them on the chain, only
 * {@link updateLimitsFor} changes: it will read them from the task.
 */
import { readTensorData, type TensorEntry } from "../model/format";
import { DEFAULT_LIMITS } from "./config";

/** The limits of one task's updates. */
export interface UpdateLimits {
  /** Largest committed sample count. */
  maxNumSamples: bigint;
  /** Largest L2 norm over all float32 values of the update; null when not checked. */
  maxUpdateNorm: number | null;
}

/** What the configuration says (any field left out takes its documented default). */
export interface ConfiguredUpdateLimits {
  maxNumSamples?: number | bigint;
  maxUpdateNorm?: number | null;
}

/** Why an update is beyond a limit: the API error code, a one-line message and what to do. */
export interface LimitProblem {
  code: "too_many_samples" | "norm_too_large";
  message: string;
  hint: string;
}

/**
 * The limits that apply to `taskId`'s updates. The single place that decides them, shared by the upload path
 * and the round driver.
 *
 * @example
 * const limits = updateLimitsFor(1n, { maxNumSamples: 50_000 }); // { maxNumSamples: 50000n, maxUpdateNorm: 1e6 }
 */
export function updateLimitsFor(_taskId: bigint, configured: ConfiguredUpdateLimits = {}): UpdateLimits {
  return {
    maxNumSamples: BigInt(configured.maxNumSamples ?? DEFAULT_LIMITS.maxNumSamples),
    maxUpdateNorm:
      configured.maxUpdateNorm === undefined ? DEFAULT_LIMITS.maxUpdateNorm : configured.maxUpdateNorm,
  };
}

/** The problem with a committed sample count, or undefined when it is within the limit. */
export function sampleCountProblem(numSamples: bigint, limits: UpdateLimits): LimitProblem | undefined {
  if (numSamples <= limits.maxNumSamples) return undefined;
  return {
    code: "too_many_samples",
    message: `the committed sample count ${numSamples} is above this task's maximum of ${limits.maxNumSamples}`,
    hint: "Commit the number of training notes the update was trained on; ask the consortium if more are real",
  };
}

/** The L2 norm of every float32 value of an update (float64 sum of squares). */
export function updateNorm(bytes: Uint8Array, entries: readonly TensorEntry[]): number {
  let sum = 0;
  for (const e of entries) {
    if (e.dtype !== "float32") continue;
    const data = readTensorData(bytes, e);
    for (let i = 0; i < data.length; i++) sum += data[i] * data[i];
  }
  return Math.sqrt(sum);
}

/** The problem with an update's norm, or undefined when it is within the limit (or the check is off). */
export function updateNormProblem(norm: number, limits: UpdateLimits): LimitProblem | undefined {
  if (limits.maxUpdateNorm === null || norm <= limits.maxUpdateNorm) return undefined;
  return {
    code: "norm_too_large",
    message: `the update's L2 norm ${norm.toPrecision(4)} is above this task's bound of ${limits.maxUpdateNorm}`,
    hint: "Check the local training for divergence (learning rate, loss); send the delta from the round's base model",
  };
}
