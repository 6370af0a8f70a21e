/**
 * Coordinate-wise median (on-chain aggregation rule 3, "median"): per model value, the median of the sites'
 * deltas, added to the parent.
 *
 *   v      = the K deltas Δ_i[j], sorted ascending (as float32 values; −0 and +0 are equal)
 *   m[j]   = v[(K − 1) / 2]                       K odd
 *   m[j]   = (v[K/2 − 1] + v[K/2]) / 2            K even (float64 addition and division)
 *   new[j] = parent[j] if m[j] == 0, else fround(parent[j] + m[j])
 *
 * Sample counts are validated as for FedAvg but do not weigh: a site cannot buy influence by claiming more
 * samples, and one site's update, however large, moves no value beyond the other sites' range. The result
 * depends only on the multiset of values at each coordinate, so it is the same in any input order and
 * whichever of two equal values is taken. docs/aggregation.md specifies it with a worked example.
 */
import { aggregateByCoordinate, type CoordinateRuleOptions } from "./coordinateChunks";
import type { AggregationRule, UpdateSource } from "./rule";

/** The median of sorted float32 values, in float64 (the mean of the two middle values for an even count). */
export function sortedMedian(v: ArrayLike<number>): number {
  const k = v.length;
  return k % 2 === 1 ? v[(k - 1) / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/**
 * Runs the coordinate-wise median. Throws AggregationError for the inputs FedAvg refuses.
 *
 * @example
 * const next = await medianAggregate(parentBytes, [
 *   { site: "0x…01", numSamples: 30, bytes: async () => deltaA },
 *   { site: "0x…02", numSamples: 10, bytes: async () => deltaB },
 *   { site: "0x…03", numSamples: 20, bytes: async () => deltaC },
 * ]);
 */
export function medianAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  options: CoordinateRuleOptions = {},
): Promise<Uint8Array> {
  return aggregateByCoordinate(parent, updates, "median", sortedMedian, options);
}

/** The coordinate-wise median as an {@link AggregationRule} (on-chain rule id 3). */
export const median: AggregationRule = {
  id: 3,
  name: "median",
  aggregate: (parent, updates) => medianAggregate(parent, updates),
};
