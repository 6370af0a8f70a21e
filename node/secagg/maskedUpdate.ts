/**
 * A site's update as secure aggregation carries it, and the model computed from the unmasked sum.
 *
 * The **plain vector** of a site's delta is its tensors' values concatenated in the model's canonical tensor
 * order (FLM1 name order), each quantised with the site's weight (quantize.ts). For sparse FedAvg (rule 2) the
 * vector goes on with ⌈n/2⌉ **participation words**: value j's participation (the site's weight w where its
 * delta is non-zero, else 0) is the low 16 bits of word n + ⌊j/2⌋ for even j and the high 16 bits for odd j, so
 * that the summed lanes are the rule's per-value weight W[j]. The lanes do not carry into each other while the
 * round's total weight is at most 65,535, which both sides check. The site adds its masks to the
 * whole vector (protocol.ts, stage 3) and sends it as FLM1 bytes holding one int32 tensor named
 * `secagg.masked` of shape [vector length]: the words, read as two's-complement int32. The site commits the
 * SHA-256 of those bytes, as for a plaintext update.
 *
 * From the unmasked sum Σ q (each word read as signed int32), the round's model is the rule's, as in
 * node/fl/deltaSums.ts: S[j] = Σq[j] · 2^−scaleBits (exact in float64), and new[j] = parent[j] when S[j] = 0,
 * else fround(parent[j] + S[j] / D[j]) with D[j] = N, the survivors' committed sample count (FedAvg), or
 * D[j] = W[j] (sparse FedAvg).
 */
import { AggregationError, checkUpdate, type TensorLayout } from "../fl";
import { finishAggregate, type DeltaSums } from "../fl/deltaSums";
import { encodeModel, readModelHeader, readTensorData, type TensorEntry } from "../model/format";
import type { SecAggContext } from "./context";
import {
  applyMasks,
  SecAggError,
  unmaskSum,
  unmaskPresummed,
  type KeyAdvertisement,
  type SecAggParameters,
  type SiteRoundSecrets,
  type UnmaskingMaterial,
} from "./protocol";
import { checkCapacity, quantize, type UniformSource } from "./quantize";

/** The one tensor of a masked update. */
export const MASKED_TENSOR = "secagg.masked";

/** The aggregation rules that run on sums: 1 (FedAvg) and 2 (sparse FedAvg). */
export const SECURE_RULES: ReadonlySet<number> = new Set([1, 2]);

function valueCount(layout: readonly TensorLayout[]): number {
  return layout.reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
}

/** Whether rule `ruleId` sums participation words (sparse FedAvg). */
function isSparse(ruleId: number): boolean {
  if (!SECURE_RULES.has(ruleId))
    throw new SecAggError(
      "bad_material",
      `aggregation rule ${ruleId} cannot run on securely aggregated sums; use 1 (FedAvg) or 2 (sparse FedAvg)`,
    );
  return ruleId === 2;
}

/** Largest total weight of a sparse-FedAvg round: a participation lane holds 16 bits. */
export const MAX_LANE_WEIGHT = 0xffff;

/** Words of a masked vector for n values: n, plus ⌈n/2⌉ participation words under sparse FedAvg. */
function vectorLength(n: number, sparse: boolean): number {
  return sparse ? n + Math.ceil(n / 2) : n;
}

/** The layout a masked update must have for a model layout and rule. */
export function maskedLayout(layout: readonly TensorLayout[], ruleId: number): TensorLayout[] {
  return [
    { name: MASKED_TENSOR, dtype: "int32", shape: [vectorLength(valueCount(layout), isSparse(ruleId))] },
  ];
}

function checkLaneWeight(total: number | bigint): void {
  if (Number(total) > MAX_LANE_WEIGHT)
    throw new SecAggError(
      "bad_material",
      `a sparse-FedAvg round holds at most ${MAX_LANE_WEIGHT} samples in all (16-bit participation lanes), got ${total}`,
    );
}

/**
 * The site's masked update bytes from its delta (FLM1 in the model's layout) and weight; see the module
 * comment. `sharedAds` is the round's shared set.
 *
 * @example
 * const bytes = maskDelta(context, params, 1, secrets, sharedAds, deltaBytes, layout, 120, cryptoUniform);
 */
export function maskDelta(
  c: SecAggContext,
  p: SecAggParameters,
  ruleId: number,
  secrets: SiteRoundSecrets,
  sharedAds: readonly KeyAdvertisement[],
  delta: Uint8Array,
  layout: readonly TensorLayout[],
  weight: number,
  uniform: UniformSource,
): Buffer {
  const sparse = isSparse(ruleId);
  checkCapacity(p, [weight]);
  if (sparse) checkLaneWeight(weight);
  const entries = checkUpdate(delta, layout);
  const n = valueCount(layout);
  const values = new Float32Array(n);
  let at = 0;
  for (const e of entries) {
    values.set(readTensorData(delta, e), at);
    at += e.size;
  }
  const quantised = quantize(values, weight, p, uniform);
  const words = new Uint32Array(vectorLength(n, sparse));
  words.set(quantised);
  if (sparse)
    for (let j = 0; j < n; j++)
      if (values[j] !== 0)
        words[n + (j >> 1)] = (words[n + (j >> 1)] + (j & 1 ? weight * 0x10000 : weight)) >>> 0;
  applyMasks(c, secrets, sharedAds, words);
  return encodeModel([
    { name: MASKED_TENSOR, dtype: "int32", shape: [words.length], data: new Int32Array(words.buffer) },
  ]);
}

/** The words of masked update bytes; throws SecAggError("bad_material") unless they fit `layout` and rule. */
export function readMasked(bytes: Uint8Array, layout: readonly TensorLayout[], ruleId: number): Uint32Array {
  let entries: TensorEntry[];
  try {
    entries = checkUpdate(bytes, maskedLayout(layout, ruleId));
  } catch (err) {
    throw new SecAggError("bad_material", `a masked update does not fit the task: ${(err as Error).message}`);
  }
  const data = readTensorData(bytes, entries[0]) as Int32Array;
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

/** One survivor's masked update and committed sample count. */
export interface MaskedInput {
  site: string;
  numSamples: bigint | number;
  /** The masked update's bytes (not read when aggregateMasked is given the presummed words). */
  bytes: Uint8Array;
}

/**
 * The round's model from the parent, the unmasking material and the survivors' masked updates: unmask the sum
 * (protocol.ts), then finish as the rule does (module comment). The aggregator and the auditor both call it.
 * Throws SecAggError for material or inputs that do not fit, AggregationError for a model value that
 * overflows float32.
 */
export function aggregateMasked(
  c: SecAggContext,
  p: SecAggParameters,
  ruleId: number,
  parent: Uint8Array,
  material: UnmaskingMaterial,
  inputs: readonly MaskedInput[],
  /** Σ of the inputs' masked words, added up as they arrived (MaskedSums); the inputs' bytes are not read then. */
  presummed?: Uint32Array,
): Uint8Array {
  const sparse = isSparse(ruleId);
  const header = readModelHeader(parent);
  const layout = header.map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape }));
  const weights = inputs.map((u) => BigInt(u.numSamples));
  try {
    checkCapacity(p, weights);
  } catch (err) {
    throw new SecAggError("bad_material", (err as Error).message);
  }
  if (sparse) checkLaneWeight(weights.reduce((a, b) => a + b, 0n));
  let unmasked: Uint32Array;
  if (presummed) {
    if (presummed.length !== vectorLength(valueCount(layout), sparse))
      throw new SecAggError("bad_material", "the summed masked updates have another length than the model's");
    unmasked = unmaskPresummed(
      c,
      material,
      inputs.map((u) => u.site),
      presummed,
    );
  } else {
    const masked = new Map(inputs.map((u) => [u.site, readMasked(u.bytes, layout, ruleId)]));
    unmasked = unmaskSum(c, material, masked);
  }
  const sum = new Int32Array(unmasked.buffer);
  const n = valueCount(layout);
  const scale = 2 ** -p.scaleBits;
  const offsets: number[] = [];
  let at = 0;
  for (const e of header) {
    offsets.push(at);
    at += e.size;
  }
  const total = Number(weights.reduce((a, b) => a + b, 0n));
  const values = new Float64Array(n);
  for (let j = 0; j < n; j++) values[j] = sum[j] * scale;
  const sums: DeltaSums = { header, offsets, sums: values, total };
  let divisor: number | Float64Array = total;
  if (sparse) {
    const w = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const lanes = unmasked[n + (j >> 1)];
      w[j] = j & 1 ? lanes >>> 16 : lanes & 0xffff;
    }
    // A value no site changed has S = 0 and keeps the parent's; W = 0 with S ≠ 0 cannot come from honest sites.
    for (let j = 0; j < n; j++)
      if (w[j] === 0 && sums.sums[j] !== 0)
        throw new AggregationError(`value ${j} has a non-zero sum and no participating weight`);
    divisor = w;
  }
  return finishAggregate(parent, sums, divisor);
}
