/**
 * Norm-clipped FedAvg (on-chain aggregation rule 5, "fedavg-clipped"): every delta is scaled down to at most
 * the median of the round's update norms, then the deltas are averaged as FedAvg (rule 1) does.
 *
 *   ‖Δ_i‖  = sqrt(Σ_j Δ_i[j]²)        (float64, j over every value in canonical order, from +0)
 *   τ      = the median of the K norms (the mean of the two middle ones for an even K)
 *   c_i    = τ / ‖Δ_i‖ if ‖Δ_i‖ > τ, else 1
 *   S[j]   = Σ_i (n_i × c_i) × Δ_i[j]   (ascending site order, float64, as in rule 1)
 *   new[j] = parent[j] if S[j] == 0, else fround(parent[j] + S[j] / N),  N = Σ_i n_i
 *
 * At most half the sites are clipped, and no clipped update counts for more than a median-sized one; when no
 * update is above the median (all norms equal, or K ≤ 2 with equal norms) the result is FedAvg's, bit for
 * bit, because c_i = 1 makes the weight n_i exactly. Sample counts still weigh, as in FedAvg. Each update is
 * loaded twice (norms, then sums); memory is FedAvg's. docs/aggregation.md specifies it with a worked example.
 */
import { readTensorData, type TensorEntry } from "../model/format";
import { finishAggregate, loadUpdate, orderInputs, sumWeightedDeltas } from "./deltaSums";
import { sortedMedian } from "./median";
import type { AggregationRule, UpdateSource } from "./rule";
import { normaliseSite } from "./siteOrder";

/**
 * The L2 norm of a delta: the square root of the float64 sum of its squared float32 values, every tensor in
 * `entries` (canonical order) and every value in row-major order, starting from +0.
 *
 * @example
 * const entries = readModelHeader(bytes);
 * deltaNorm(bytes, entries); // 0.0234…
 */
export function deltaNorm(bytes: Uint8Array, entries: readonly TensorEntry[]): number {
  let sum = 0;
  for (const e of entries) {
    const data = readTensorData(bytes, e);
    for (let j = 0; j < data.length; j++) sum += data[j] * data[j];
  }
  return Math.sqrt(sum);
}

/** The scale factors c_i of rule 5, by checksummed site address, and the bound τ. */
export interface ClipFactors {
  bound: number;
  norms: Map<string, number>;
  factors: Map<string, number>;
}

/**
 * Loads every update once (checking it as FedAvg does) and computes its norm, the bound τ (the median norm)
 * and each site's scale factor. Throws AggregationError for an unusable input.
 */
export async function clipFactors(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
): Promise<ClipFactors> {
  const { header, ordered } = orderInputs(parent, updates, "norm-clipped FedAvg");
  const norms = new Map<string, number>();
  for (const u of ordered) {
    const { bytes, entries } = await loadUpdate(u, header);
    norms.set(normaliseSite(u.site), deltaNorm(bytes, entries));
  }
  const bound = sortedMedian(Float64Array.from(norms.values()).sort());
  const factors = new Map<string, number>();
  for (const [site, norm] of norms) factors.set(site, norm > bound ? bound / norm : 1);
  return { bound, norms, factors };
}

/**
 * Runs norm-clipped FedAvg. Throws AggregationError for the inputs FedAvg refuses.
 *
 * @example
 * const next = await normClippedAggregate(parentBytes, updates); // a ×100 update counts as a median-sized one
 */
export async function normClippedAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
): Promise<Uint8Array> {
  const { factors } = await clipFactors(parent, updates);
  const sums = await sumWeightedDeltas(parent, updates, "norm-clipped FedAvg", false, factors);
  return finishAggregate(parent, sums, sums.total);
}

/** Norm-clipped FedAvg as an {@link AggregationRule} (on-chain rule id 5). */
export const normClipped: AggregationRule = {
  id: 5,
  name: "fedavg-clipped",
  aggregate: normClippedAggregate,
};
