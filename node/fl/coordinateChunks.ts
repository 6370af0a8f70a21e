/**
 * The streaming part shared by the coordinate-wise rules (median, trimmed mean): for each model value j they
 * need every site's Δ_i[j] at once. Holding every update whole would cost (number of sites × model size), so
 * the values are gathered in chunks of coordinates: for each chunk, every update is loaded in ascending site
 * order and its values in the chunk are copied into one buffer of (sites × chunk) float32 values; then the rule
 * reduces each coordinate's values to one float64 step (multi-Krum instead sums the pairwise distances). The steps are added to the parent by
 * {@link finishAggregate}, so these rules round and encode exactly as FedAvg does.
 *
 * Memory: one float64 step per model value, the (sites × chunk) buffer, and one update's bytes at a time. An
 * update is loaded once per chunk; the chunk is as large as the budget allows, so a round of a few sites over
 * a model of a few million values reads each update once. The result does not depend on the chunk size.
 */
import { readTensorData, type TensorEntry } from "../model/format";
import { finishAggregate, orderInputs, type OrderedInputs } from "./deltaSums";
import { AggregationError, type UpdateSource } from "./rule";
import { normaliseSite } from "./siteOrder";
import { checkUpdateLayout, UpdateCheckError } from "./updateCheck";

/** Values the (sites × chunk) buffer may hold by default: 2^24 float32 values, 64 MiB. */
export const DEFAULT_CHUNK_BUDGET = 1 << 24;

/** Options of the coordinate-wise rules. */
export interface CoordinateRuleOptions {
  /** Most float32 values to gather at once, sites × chunk ({@link DEFAULT_CHUNK_BUDGET} by default). */
  chunkBudget?: number;
}

/**
 * Reduces one coordinate: `values` holds the K sites' deltas at that coordinate, sorted ascending (−0 before
 * +0); returns the float64 step to add to the parent.
 */
export type CoordinateReducer = (values: Float32Array) => number;

/**
 * Gathers the sites' deltas chunk by chunk: for each chunk of coordinates [start, end) in ascending order,
 * loads every update (ascending site order, layout checked, values checked finite) and calls `visit` with a
 * buffer where the K values of coordinate g are at `values[(g - start) * K + i]`, i the site's position in
 * `inputs.ordered`. Throws AggregationError naming the site of an unusable update.
 *
 * @example
 * await gatherChunks(orderInputs(parent, updates, "median"), {}, (start, end, values) => { … });
 */
export async function gatherChunks(
  inputs: OrderedInputs,
  options: CoordinateRuleOptions,
  visit: (start: number, end: number, values: Float32Array) => void,
): Promise<void> {
  const { header, offsets, size, ordered } = inputs;
  const K = ordered.length;
  const budget = options.chunkBudget ?? DEFAULT_CHUNK_BUDGET;
  const chunk = Math.max(1, Math.min(size, Math.floor(budget / K)));
  const values = new Float32Array(K * chunk);
  for (let start = 0; start < size; start += chunk) {
    const end = Math.min(size, start + chunk);
    for (let i = 0; i < K; i++) {
      const site = normaliseSite(ordered[i].site);
      const bytes = await ordered[i].bytes();
      let entries: TensorEntry[];
      try {
        entries = checkUpdateLayout(bytes, header);
      } catch (err) {
        if (err instanceof UpdateCheckError) throw new AggregationError(err.message, site);
        throw err;
      }
      // Both lists are in canonical (name) order; copy the part of each tensor that falls in [start, end).
      for (let t = 0; t < entries.length; t++) {
        const from = Math.max(start, offsets[t]);
        const to = Math.min(end, offsets[t] + entries[t].size);
        if (from >= to) continue;
        const delta = readTensorData(bytes, entries[t]);
        for (let g = from; g < to; g++) {
          const d = delta[g - offsets[t]];
          if (!Number.isFinite(d))
            throw new AggregationError(
              `tensor "${entries[t].name}" holds ${d} at index ${g - offsets[t]}`,
              site,
            );
          values[(g - start) * K + i] = d;
        }
      }
    }
    visit(start, end, values);
  }
}

/**
 * Runs a coordinate-wise rule: validates the inputs as every rule does, gathers the sites' deltas chunk by
 * chunk, sorts each coordinate's K values ascending, reduces them with `reduce` and adds the steps to the
 * parent (new[j] = parent[j] when the step is zero, else fround(parent[j] + step)). Throws AggregationError for
 * an input the rule cannot use (empty, duplicate sites, bad sample count, wrong tensors, NaN or ±Infinity) or
 * a result that overflows float32.
 *
 * @example
 * const next = await aggregateByCoordinate(parent, updates, "median", (v) => v[(v.length - 1) >> 1], {});
 */
export async function aggregateByCoordinate(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  ruleLabel: string,
  reduce: CoordinateReducer,
  options: CoordinateRuleOptions,
): Promise<Uint8Array> {
  const inputs = orderInputs(parent, updates, ruleLabel);
  const K = inputs.ordered.length;
  const steps = new Float64Array(inputs.size);
  await gatherChunks(inputs, options, (start, end, values) => {
    for (let g = start; g < end; g++) {
      const column = values.subarray((g - start) * K, (g - start + 1) * K);
      column.sort();
      steps[g] = reduce(column);
    }
  });
  const { header, offsets, total } = inputs;
  return finishAggregate(parent, { header, offsets, sums: steps, total: Number(total) }, 1);
}
