/**
 * Sparse FedAvg (on-chain aggregation rule 2, "fedavg-sparse"): per model value, the sample-weighted mean of the
 * deltas of the sites that changed that value, added to the parent.
 *
 *   S[j]   = Σ_i n_i · Δ_i[j]                 (i over every included site, ascending address order)
 *   W[j]   = Σ_{i: Δ_i[j] ≠ 0} n_i            (the weight of the sites whose delta at j is non-zero)
 *   new[j] = parent[j]                        if S[j] == 0 (in particular when no site changed j)
 *   new[j] = fround(parent[j] + S[j] / W[j])  otherwise
 *
 * Why: the local optimiser is lazy (rows of the feature table a site never saw keep an exact zero delta), and
 * with one language per site most feature rows are trained by one site only. Plain FedAvg divides such a row's
 * update by the total weight of all sites, shrinking it to that site's share; this rule gives it the full step
 * of the sites that trained it. Where every site changed a value (the dense head), W[j] = N and the result is
 * FedAvg's, bit for bit. The rule applies to every tensor, per value: the simplest form to specify and
 * re-implement.
 *
 * Same determinism as FedAvg: float64 products and sums in ascending site order, W[j] exact (a sum of integers
 * at most 2^53 − 1), one rounding to float32. Memory is two float64 accumulators per model value plus one update
 * at a time. docs/aggregation.md specifies it with a worked example.
 */
import { finishAggregate, sumWeightedDeltas } from "./deltaSums";
import { AggregationError, type AggregationRule, type UpdateSource } from "./rule";

/**
 * Runs sparse FedAvg. Throws AggregationError for the same inputs FedAvg refuses: an empty input, duplicate
 * sites, a bad sample count, an update whose tensors differ from the parent's or hold non-finite values, or a
 * result that overflows float32.
 *
 * @example
 * const next = await fedAvgSparseAggregate(parentBytes, [
 *   { site: "0x…01", numSamples: 30, bytes: async () => deltaA },
 *   { site: "0x…02", numSamples: 10, bytes: async () => deltaB },
 * ]);
 */
export async function fedAvgSparseAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
): Promise<Uint8Array> {
  const sums = await sumWeightedDeltas(parent, updates, "Sparse FedAvg", true);
  if (!sums.weights) throw new AggregationError("sparse FedAvg needs the participating weights");
  return finishAggregate(parent, sums, sums.weights);
}

/** Sparse FedAvg as an {@link AggregationRule} (on-chain rule id 2). */
export const fedAvgSparse: AggregationRule = {
  id: 2,
  name: "fedavg-sparse",
  aggregate: fedAvgSparseAggregate,
};
