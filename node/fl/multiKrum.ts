/**
 * Multi-Krum (on-chain aggregation rule 6, "multi-krum"): keep the K − f updates closest to their neighbours,
 * then average them as FedAvg (rule 1) does.
 *
 *   f      = ⌊(K − 3) / 2⌋ for K ≥ 3 (the most hostile sites Krum tolerates: K ≥ 2f + 3); K ≤ 2 keeps all
 *   D[i,k] = Σ_j (Δ_i[j] − Δ_k[j])²      (float64, j over every value in canonical order, from +0)
 *   s_i    = the sum of the K − f − 2 smallest D[i,k], k ≠ i, added in ascending order from +0
 *   keep   = the K − f sites with the smallest s_i; equal scores: the lower site address first
 *   new    = rule 1 over the kept updates (their sample counts; N = the kept sites' total)
 *
 * Memory: K × K float64 distances, the coordinate buffer of coordinateChunks.ts (sites × chunk), then FedAvg's
 * accumulators; every update is loaded once per chunk, and the kept ones once more. The distances are summed in
 * coordinate order whatever the chunk size, so the result does not depend on it. docs/aggregation.md specifies
 * it with a worked example.
 */
import { gatherChunks, type CoordinateRuleOptions } from "./coordinateChunks";
import { finishAggregate, orderInputs, sumWeightedDeltas } from "./deltaSums";
import type { AggregationRule, UpdateSource } from "./rule";

/** Sites multi-Krum assumes may be hostile among K: ⌊(K − 3) / 2⌋ from 3 sites on, else 0. */
export function krumByzantine(k: number): number {
  return k >= 3 ? Math.floor((k - 3) / 2) : 0;
}

/** The Krum scores and the kept updates of a round. */
export interface KrumSelection {
  /** Every update's score, in ascending site order (0 for all when K ≤ 2). */
  scores: number[];
  /** The kept updates, in ascending site order. */
  kept: UpdateSource[];
}

/**
 * Computes the Krum scores and picks the updates multi-Krum keeps. Throws AggregationError for an input the
 * rule cannot use.
 *
 * @example
 * const { kept } = await krumSelect(parent, updates); // 5 sites: the 4 closest to their neighbours
 */
export async function krumSelect(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  options: CoordinateRuleOptions = {},
): Promise<KrumSelection> {
  const inputs = orderInputs(parent, updates, "multi-Krum");
  const { ordered } = inputs;
  const K = ordered.length;
  const distances = new Float64Array(K * K);
  await gatherChunks(inputs, options, (start, end, values) => {
    for (let g = start; g < end; g++) {
      const at = (g - start) * K;
      for (let i = 0; i < K; i++)
        for (let k = i + 1; k < K; k++) {
          const d = values[at + i] - values[at + k];
          distances[i * K + k] += d * d;
        }
    }
  });
  if (K <= 2) return { scores: new Array<number>(K).fill(0), kept: ordered };
  const f = krumByzantine(K);
  const neighbours = K - f - 2;
  const scores = ordered.map((_, i) => {
    const row: number[] = [];
    for (let k = 0; k < K; k++) if (k !== i) row.push(i < k ? distances[i * K + k] : distances[k * K + i]);
    row.sort((a, b) => a - b);
    let score = 0;
    for (let n = 0; n < neighbours; n++) score += row[n];
    return score;
  });
  // A stable sort by score keeps ascending site order among equal scores.
  const picked = ordered
    .map((u, i) => ({ i, score: scores[i] }))
    .sort((a, b) => a.score - b.score)
    .slice(0, K - f)
    .map((x) => x.i)
    .sort((a, b) => a - b);
  return { scores, kept: picked.map((i) => ordered[i]) };
}

/**
 * Runs multi-Krum. Throws AggregationError for the inputs FedAvg refuses.
 *
 * @example
 * const next = await multiKrumAggregate(parentBytes, updates); // drops the update farthest from the others
 */
export async function multiKrumAggregate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  options: CoordinateRuleOptions = {},
): Promise<Uint8Array> {
  const { kept } = await krumSelect(parent, updates, options);
  const sums = await sumWeightedDeltas(parent, kept, "multi-Krum", false);
  return finishAggregate(parent, sums, sums.total);
}

/** Multi-Krum as an {@link AggregationRule} (on-chain rule id 6). */
export const multiKrum: AggregationRule = {
  id: 6,
  name: "multi-krum",
  aggregate: (parent, updates) => multiKrumAggregate(parent, updates),
};
