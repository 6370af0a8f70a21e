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
import {
  encodeModel,
  readModelHeader,
  readTensorData,
  type NamedTensor,
  type TensorEntry,
} from "../model/format";
import { AggregationError, type AggregationRule, type UpdateSource } from "./rule";
import { checkUpdate, UpdateCheckError } from "./updateCheck";
import { normaliseSite, sortBySite } from "./siteOrder";

/** Largest sample count (and sum of sample counts) FedAvg accepts: float64 must hold it exactly. */
export const MAX_TOTAL_SAMPLES = BigInt(Number.MAX_SAFE_INTEGER);

function sampleCount(u: UpdateSource): bigint {
  let n: bigint;
  try {
    n = BigInt(u.numSamples);
  } catch {
    throw new AggregationError(`sample count ${String(u.numSamples)} is not an integer`, u.site);
  }
  if (n <= 0n) throw new AggregationError(`sample count must be positive, got ${n}`, u.site);
  if (n > MAX_TOTAL_SAMPLES) throw new AggregationError(`sample count ${n} is above 2^53 - 1`, u.site);
  return n;
}

function parentHeader(parent: Uint8Array): TensorEntry[] {
  let entries: TensorEntry[];
  try {
    entries = readModelHeader(parent);
  } catch (err) {
    throw new AggregationError(`the parent model is unusable: ${(err as Error).message}`);
  }
  for (const e of entries) {
    if (e.dtype !== "float32")
      throw new AggregationError(`FedAvg averages float32 tensors only; "${e.name}" is ${e.dtype}`);
  }
  return entries;
}

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
  if (updates.length === 0) throw new AggregationError("FedAvg needs at least one update");
  const header = parentHeader(parent);
  let ordered: UpdateSource[];
  try {
    ordered = sortBySite(updates);
  } catch (err) {
    throw new AggregationError((err as Error).message);
  }
  const weights = ordered.map(sampleCount);
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total > MAX_TOTAL_SAMPLES)
    throw new AggregationError(`the total sample count ${total} is above 2^53 - 1`);

  const offsets: number[] = [];
  let size = 0;
  for (const e of header) {
    offsets.push(size);
    size += e.size;
  }
  const acc = new Float64Array(size);

  for (let i = 0; i < ordered.length; i++) {
    const site = normaliseSite(ordered[i].site);
    const n = Number(weights[i]);
    const bytes = await ordered[i].bytes();
    let entries: TensorEntry[];
    try {
      entries = checkUpdate(bytes, header);
    } catch (err) {
      if (err instanceof UpdateCheckError) throw new AggregationError(err.message, site);
      throw err;
    }
    // checkUpdate guarantees the same names; both lists are in canonical (name) order.
    for (let t = 0; t < entries.length; t++) {
      const delta = readTensorData(bytes, entries[t]);
      const base = offsets[t];
      for (let j = 0; j < delta.length; j++) acc[base + j] += n * delta[j];
    }
  }

  const divisor = Number(total);
  const tensors: NamedTensor[] = header.map((e, t) => {
    const prev = readTensorData(parent, e);
    const out = new Float32Array(e.size);
    const base = offsets[t];
    for (let j = 0; j < e.size; j++) {
      const sum = acc[base + j];
      // A zero weighted sum keeps the parent value bit for bit (so -0 stays -0).
      const v = sum === 0 ? prev[j] : Math.fround(prev[j] + sum / divisor);
      if (!Number.isFinite(v))
        throw new AggregationError(`the new value of "${e.name}" at index ${j} is ${v} (parent ${prev[j]})`);
      out[j] = v;
    }
    return { name: e.name, dtype: "float32", shape: e.shape, data: out };
  });
  return encodeModel(tensors);
}

/** FedAvg as an {@link AggregationRule} (on-chain rule id 1). */
export const fedAvg: AggregationRule = { id: 1, name: "fedavg", aggregate: fedAvgAggregate };
