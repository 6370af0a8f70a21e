/**
 * FedAvg (on-chain aggregation rule 1): the sample-weighted mean of the site deltas, added to the parent.
 *
 *   new[j] = fround(parent[j] + (Σ_i n_i · Δ_i[j]) / (Σ_i n_i))
 *
 * Inputs are taken in ascending site-address order; each product n_i · Δ_i[j] and each partial sum is a float64
 * operation, the quotient and the addition of the parent value are float64 too, and the result is rounded to
 * float32 once. When the weighted sum is exactly zero the parent value is kept as it is (IEEE would turn a -0 parent
 * into +0). docs/aggregation.md spells this out with a worked example.
 *
 * Memory stays O(model size) whatever the number of updates: one float64 accumulator per model value, and one
 * update's bytes at a time.
 */
import { finishAggregate, sumWeightedDeltas } from "./deltaSums";
import type { AggregationRule, UpdateSource } from "./rule";

export { MAX_TOTAL_SAMPLES } from "./deltaSums";

/**
 * Runs FedAvg. Throws AggregationError for an empty input, duplicate sites, a bad sample count, an update whose
 * tensors differ from the parent's or hold non-finite values, or a result that overflows float32.
 *
 * @example
 * const next = await fedAvgAggregate(parentBytes, [
 *   { site: "0x…01", numSamples: 30, bytes: async () => deltaA },
 *   { site: "0x…02", numSamples: 10, bytes: async () => deltaB },
 * ]);
 */
export async function fedAvgAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
): Promise<Uint8Array> {
  const sums = await sumWeightedDeltas(parent, updates, "FedAvg", false);
  return finishAggregate(parent, sums, sums.total);
}

/** FedAvg as an {@link AggregationRule} (on-chain rule id 1). */
export const fedAvg: AggregationRule = { id: 1, name: "fedavg", aggregate: fedAvgAggregate };
