/**
 * The streaming part shared by the weighted-mean rules (FedAvg and sparse FedAvg): validate the inputs, take
 * the updates in ascending site-address order one at a time, and accumulate the float64 sums
 * S[j] = Σ_i n_i · Δ_i[j] (and, when asked, the participating weight W[j] = Σ_{i: Δ_i[j] ≠ 0} n_i). The final
 * step (divisor, rounding to float32, encoding) is also here, so every rule finishes the same way.
 *
 * Memory is O(model size): one float64 per model value (two with the participating weights) and one update's
 * bytes at a time.
 */
import {
  encodeModel,
  readModelHeader,
  readTensorData,
  type NamedTensor,
  type TensorEntry,
} from "../model/format";
import { AggregationError, type UpdateSource } from "./rule";
import { checkUpdate, UpdateCheckError } from "./updateCheck";
import { normaliseSite, sortBySite } from "./siteOrder";

/** Largest sample count (and sum of sample counts) the weighted rules accept: float64 must hold it exactly. */
export const MAX_TOTAL_SAMPLES = BigInt(Number.MAX_SAFE_INTEGER);

/** The float64 sums of one aggregation, laid out as the parent's tensors concatenated in canonical order. */
export interface DeltaSums {
  /** The parent's tensors (all float32), in canonical order. */
  header: TensorEntry[];
  /** Where each tensor of `header` starts in `sums` (and `weights`). */
  offsets: number[];
  /** S[j] = Σ_i n_i · Δ_i[j], in ascending site order, float64. */
  sums: Float64Array;
  /** N = Σ_i n_i over every update (exact in float64). */
  total: number;
  /** W[j] = Σ n_i over the updates whose delta at j is non-zero; present when asked for. */
  weights?: Float64Array;
}

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

function parentHeader(parent: Uint8Array, ruleLabel: string): TensorEntry[] {
  let entries: TensorEntry[];
  try {
    entries = readModelHeader(parent);
  } catch (err) {
    throw new AggregationError(`the parent model is unusable: ${(err as Error).message}`);
  }
  for (const e of entries) {
    if (e.dtype !== "float32")
      throw new AggregationError(`${ruleLabel} averages float32 tensors only; "${e.name}" is ${e.dtype}`);
  }
  return entries;
}

/** The validated inputs of a rule: the parent's layout, the updates in site order and their sample counts. */
export interface OrderedInputs {
  /** The parent's tensors (all float32), in canonical order. */
  header: TensorEntry[];
  /** Where each tensor of `header` starts in the concatenated values. */
  offsets: number[];
  /** Number of values in the model. */
  size: number;
  /** The updates in ascending site-address order. */
  ordered: UpdateSource[];
  /** Their committed sample counts, in the same order. */
  counts: bigint[];
  /** N = Σ_i n_i (at most 2^53 − 1). */
  total: bigint;
}

/**
 * The checks every rule makes before reading an update: at least one update, a float32 parent, no duplicate
 * site, every sample count in 1 … 2^53 − 1 and their total too. Throws AggregationError.
 *
 * @example
 * const { ordered, counts, header } = orderInputs(parent, updates, "median");
 */
export function orderInputs(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  ruleLabel: string,
): OrderedInputs {
  if (updates.length === 0) throw new AggregationError(`${ruleLabel} needs at least one update`);
  const header = parentHeader(parent, ruleLabel);
  let ordered: UpdateSource[];
  try {
    ordered = sortBySite(updates);
  } catch (err) {
    throw new AggregationError((err as Error).message);
  }
  const counts = ordered.map(sampleCount);
  const total = counts.reduce((a, b) => a + b, 0n);
  if (total > MAX_TOTAL_SAMPLES)
    throw new AggregationError(`the total sample count ${total} is above 2^53 - 1`);
  const offsets: number[] = [];
  let size = 0;
  for (const e of header) {
    offsets.push(size);
    size += e.size;
  }
  return { header, offsets, size, ordered, counts, total };
}

/**
 * Loads one update and checks it against the parent's layout (same tensors, finite values). Returns its
 * bytes and header entries (in canonical order). Throws AggregationError naming the site.
 */
export async function loadUpdate(
  update: UpdateSource,
  header: readonly TensorEntry[],
): Promise<{ bytes: Uint8Array; entries: TensorEntry[] }> {
  const site = normaliseSite(update.site);
  const bytes = await update.bytes();
  try {
    return { bytes, entries: checkUpdate(bytes, header) };
  } catch (err) {
    if (err instanceof UpdateCheckError) throw new AggregationError(err.message, site);
    throw err;
  }
}

/**
 * Checks the inputs and accumulates S (and W when `participatingWeights` is set). Throws AggregationError for
 * an empty input, duplicate sites, a bad sample count, or an update whose tensors differ from the parent's or
 * hold non-finite values. `ruleLabel` names the rule in messages ("FedAvg"). `scale`, when given, multiplies
 * each site's weight: S[j] += (n_i × c_i) × Δ_i[j], with c_i looked up by the site's checksummed address
 * (norm-clipped FedAvg); without it the weight is n_i exactly.
 *
 * @example
 * const { sums, total } = await sumWeightedDeltas(parent, updates, "FedAvg", false);
 */
export async function sumWeightedDeltas(
  parent: Uint8Array,
  updates: readonly UpdateSource[],
  ruleLabel: string,
  participatingWeights: boolean,
  scale?: ReadonlyMap<string, number>,
): Promise<DeltaSums> {
  const { header, offsets, size, ordered, counts, total } = orderInputs(parent, updates, ruleLabel);
  const sums = new Float64Array(size);
  const weights = participatingWeights ? new Float64Array(size) : undefined;

  for (let i = 0; i < ordered.length; i++) {
    const site = normaliseSite(ordered[i].site);
    const n = scale ? Number(counts[i]) * (scale.get(site) ?? 1) : Number(counts[i]);
    const { bytes, entries } = await loadUpdate(ordered[i], header);
    // checkUpdate guarantees the same names; both lists are in canonical (name) order.
    for (let t = 0; t < entries.length; t++) {
      const delta = readTensorData(bytes, entries[t]);
      const base = offsets[t];
      if (weights) {
        for (let j = 0; j < delta.length; j++) {
          const d = delta[j];
          // -0 compares equal to 0: a negative zero is "untouched" as well.
          if (d !== 0) {
            sums[base + j] += n * d;
            weights[base + j] += n;
          }
        }
      } else {
        for (let j = 0; j < delta.length; j++) sums[base + j] += n * delta[j];
      }
    }
  }
  return { header, offsets, sums, total: Number(total), weights };
}

/**
 * Finishes an aggregation: new[j] = parent[j] bit for bit when S[j] is zero, else
 * fround(parent[j] + S[j] / divisor[j]) in float64 with one rounding, where the divisor is N for every value
 * (a number) or W[j] per value (an array). Throws AggregationError when a value overflows float32.
 */
export function finishAggregate(
  parent: Uint8Array,
  sums: DeltaSums,
  divisor: number | Float64Array,
): Uint8Array {
  const tensors: NamedTensor[] = sums.header.map((e, t) => {
    const prev = readTensorData(parent, e);
    const out = new Float32Array(e.size);
    const base = sums.offsets[t];
    for (let j = 0; j < e.size; j++) {
      const s = sums.sums[base + j];
      // A zero weighted sum keeps the parent value bit for bit (so -0 stays -0).
      if (s === 0) {
        out[j] = prev[j];
        continue;
      }
      const d = typeof divisor === "number" ? divisor : divisor[base + j];
      const v = Math.fround(prev[j] + s / d);
      if (!Number.isFinite(v))
        throw new AggregationError(`the new value of "${e.name}" at index ${j} is ${v} (parent ${prev[j]})`);
      out[j] = v;
    }
    return { name: e.name, dtype: "float32", shape: e.shape, data: out };
  });
  return encodeModel(tensors);
}
