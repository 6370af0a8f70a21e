/**
 * Coordinate-wise trimmed mean (on-chain aggregation rule 4, "trimmed-mean"): per model value, drop the b
 * smallest and the b largest of the K sites' deltas and average the rest, unweighted.
 *
 *   b      = 0 when K ≤ 2, else max(1, ⌊K / 5⌋)     (β = 0.2 per side, at least one from 3 sites on)
 *   v      = the K deltas Δ_i[j], sorted ascending (as float32 values; −0 and +0 are equal)
 *   t[j]   = (v[b] + v[b+1] + … + v[K−b−1]) / (K − 2b)  (float64, summed from +0 in ascending order)
 *   new[j] = parent[j] if t[j] == 0, else fround(parent[j] + t[j])
 *
 * Like the median, sample counts are validated but do not weigh. With 3 or 4 sites the rule is the median of
 * 3 or the mean of the middle 2 (b = 1); from 10 sites on it drops 2 per side, from 15 on 3. The result depends
 * only on the multiset of values at each coordinate. docs/aggregation.md specifies it with a worked example.
 */
import { aggregateByCoordinate, type CoordinateRuleOptions } from "./coordinateChunks";
import type { AggregationRule, UpdateSource } from "./rule";

/** Values trimmed from each side for K sites: 0 for K ≤ 2, else max(1, ⌊K / 5⌋). */
export function trimCount(k: number): number {
  return k <= 2 ? 0 : Math.max(1, Math.floor(k / 5));
}

/** The trimmed mean of sorted float32 values, in float64. */
export function sortedTrimmedMean(v: ArrayLike<number>): number {
  const k = v.length;
  const b = trimCount(k);
  let sum = 0;
  for (let i = b; i < k - b; i++) sum += v[i];
  return sum / (k - 2 * b);
}

/**
 * Runs the coordinate-wise trimmed mean. Throws AggregationError for the inputs FedAvg refuses.
 *
 * @example
 * const next = await trimmedMeanAggregate(parentBytes, updates); // five sites: drops 1 per side
 */
export function trimmedMeanAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  options: CoordinateRuleOptions = {},
): Promise<Uint8Array> {
  return aggregateByCoordinate(parent, updates, "trimmed mean", sortedTrimmedMean, options);
}

/** The coordinate-wise trimmed mean as an {@link AggregationRule} (on-chain rule id 4). */
export const trimmedMean: AggregationRule = {
  id: 4,
  name: "trimmed-mean",
  aggregate: (parent, updates) => trimmedMeanAggregate(parent, updates),
};
