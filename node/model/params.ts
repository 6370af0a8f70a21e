/**
 * The model's tensors: their stable names and shapes for a spec, seeded initial values, and checks that
 * canonical bytes hold exactly the tensors a spec expects.
 *
 * Tensors (float32, row-major):
 *   embedding/table  [buckets, dim]   one row per hashed feature id
 *   hidden/kernel    [dim, hidden]    only when hidden > 0
 *   hidden/bias      [hidden]         only when hidden > 0
 *   head/kernel      [dim or hidden, labels]
 *   head/bias        [labels]
 */
import { decodeModel, encodeModel, ModelFormatError, type NamedTensor } from "./format";
import { Prng } from "./prng";
import type { ModelSpec } from "./spec";

/** Stable tensor names. */
export const TENSOR_NAMES = {
  table: "embedding/table",
  hiddenKernel: "hidden/kernel",
  hiddenBias: "hidden/bias",
  headKernel: "head/kernel",
  headBias: "head/bias",
} as const;

/** Name, dtype and shape of one tensor a model must contain. */
export interface TensorShapeInfo {
  name: string;
  dtype: "float32";
  shape: number[];
}

/**
 * The tensors a model of `spec` contains, in canonical (file) order. The aggregator validates uploaded
 * updates against this list.
 */
export function expectedTensors(spec: ModelSpec): TensorShapeInfo[] {
  const { buckets } = spec.features;
  const out = spec.labels.length;
  const list: TensorShapeInfo[] = [
    { name: TENSOR_NAMES.table, dtype: "float32", shape: [buckets, spec.dim] },
  ];
  const headIn = spec.hidden > 0 ? spec.hidden : spec.dim;
  list.push({ name: TENSOR_NAMES.headBias, dtype: "float32", shape: [out] });
  list.push({ name: TENSOR_NAMES.headKernel, dtype: "float32", shape: [headIn, out] });
  if (spec.hidden > 0) {
    list.push({ name: TENSOR_NAMES.hiddenBias, dtype: "float32", shape: [spec.hidden] });
    list.push({ name: TENSOR_NAMES.hiddenKernel, dtype: "float32", shape: [spec.dim, spec.hidden] });
  }
  return list.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/** Fills `length` float32 values uniformly in [-limit, limit) from the seed's stream for `name`. */
function uniform(seed: number, name: string, length: number, limit: number): Float32Array {
  const prng = new Prng(seed, `init/${name}`);
  const data = new Float32Array(length);
  for (let i = 0; i < length; i++) data[i] = (2 * prng.next() - 1) * limit;
  return data;
}

/**
 * Initial tensors for a seed: the embedding table uniform in ±1/dim (as fastText), kernels Glorot-uniform
 * (±sqrt(6 / (fanIn + fanOut))), biases zero. Each tensor draws from its own stream, so the bytes depend
 * only on the spec and the seed.
 */
export function initialTensors(spec: ModelSpec, seed: number): NamedTensor[] {
  return expectedTensors(spec).map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name === TENSOR_NAMES.table) data = uniform(seed, name, size, 1 / spec.dim);
    else if (shape.length === 2) data = uniform(seed, name, size, Math.sqrt(6 / (shape[0] + shape[1])));
    else data = new Float32Array(size);
    return { name, dtype: "float32" as const, shape, data };
  });
}

/** Raised when well-formed model bytes hold other tensors than the spec expects. */
export class SpecMismatchError extends ModelFormatError {
  constructor(message: string) {
    super(`${message} (the model does not match its spec)`);
  }
}

/**
 * Checks that `tensors` are exactly the tensors of `spec` (names, dtypes, shapes) and returns them keyed
 * by name. Throws {@link SpecMismatchError} otherwise.
 */
export function checkTensors(tensors: readonly NamedTensor[], spec: ModelSpec): Map<string, Float32Array> {
  const expected = expectedTensors(spec);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const e of expected) {
    const t = byName.get(e.name);
    if (!t) throw new SpecMismatchError(`tensor "${e.name}" is missing`);
    if (t.dtype !== e.dtype)
      throw new SpecMismatchError(`tensor "${e.name}" is ${t.dtype}, expected ${e.dtype}`);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new SpecMismatchError(`tensor "${e.name}" has shape [${t.shape}], expected [${e.shape}]`);
    }
  }
  if (tensors.length !== expected.length) {
    const extra = tensors.find((t) => !expected.some((e) => e.name === t.name));
    throw new SpecMismatchError(`unexpected tensor "${extra?.name}"`);
  }
  return new Map(tensors.map((t) => [t.name, t.data as Float32Array]));
}

/** Decodes canonical bytes and checks them against the spec; returns the float32 values by tensor name. */
export function readWeights(bytes: Uint8Array, spec: ModelSpec): Map<string, Float32Array> {
  return checkTensors(decodeModel(bytes), spec);
}

/** Encodes weights keyed by tensor name (all float32) as canonical bytes, checking them against the spec. */
export function writeWeights(weights: Map<string, Float32Array>, spec: ModelSpec): Buffer {
  const tensors: NamedTensor[] = expectedTensors(spec).map(({ name, shape }) => {
    const data = weights.get(name);
    if (!data) throw new SpecMismatchError(`tensor "${name}" is missing`);
    return { name, dtype: "float32", shape, data };
  });
  return encodeModel(tensors);
}

/**
 * The genesis model of a task: canonical bytes of the seeded initial tensors ({@link initialTensors}).
 * @example const genesis = createInitialModel(defaultSpec(), 42); // same bytes for the same spec and seed
 */
export function createInitialModel(spec: ModelSpec, seed: number): Buffer {
  return encodeModel(initialTensors(spec, seed));
}
