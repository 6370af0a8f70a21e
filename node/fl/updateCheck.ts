/**
 * Checks that update bytes are usable as a delta for a given model layout: canonical FLM1 bytes, exactly the
 * expected tensors (same names, dtypes and shapes, nothing missing or extra) and only finite values.
 */
import { FedledgerError } from "../errors";
import {
  ModelFormatError,
  readModelHeader,
  readTensorData,
  type DType,
  type TensorEntry,
} from "../model/format";

/** The layout of one tensor: what an update must contain. */
export interface TensorLayout {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/** Why update bytes were refused. */
export type UpdateProblem = "unparseable" | "wrong_shape" | "non_finite";

/** Update bytes that cannot be used; `problem` says which check failed. */
export class UpdateCheckError extends FedledgerError {
  readonly problem: UpdateProblem;

  constructor(problem: UpdateProblem, message: string, hint: string) {
    super(message, { hint });
    this.problem = problem;
  }
}

function describe(t: TensorLayout): string {
  return `${t.name} ${t.dtype} [${t.shape.join(", ")}]`;
}

/**
 * Parses the header of `bytes` and compares it with `expected` (in any order). Returns the parsed entries,
 * in file order. Throws UpdateCheckError ("unparseable" or "wrong_shape").
 */
export function checkUpdateLayout(bytes: Uint8Array, expected: readonly TensorLayout[]): TensorEntry[] {
  let entries: TensorEntry[];
  try {
    entries = readModelHeader(bytes);
  } catch (err) {
    if (!(err instanceof ModelFormatError)) throw err;
    throw new UpdateCheckError("unparseable", err.message, err.hint);
  }
  const want = new Map(expected.map((t) => [t.name, t]));
  const hint = "Train from the round's base model and send the delta in the model's own layout";
  for (const e of entries) {
    const w = want.get(e.name);
    if (!w) throw new UpdateCheckError("wrong_shape", `unexpected tensor "${e.name}"`, hint);
    const same =
      w.dtype === e.dtype && w.shape.length === e.shape.length && w.shape.every((d, i) => d === e.shape[i]);
    if (!same)
      throw new UpdateCheckError("wrong_shape", `tensor ${describe(e)} should be ${describe(w)}`, hint);
    want.delete(e.name);
  }
  if (want.size > 0) {
    const missing = [...want.keys()].slice(0, 3).join(", ");
    throw new UpdateCheckError("wrong_shape", `missing ${want.size} tensor(s): ${missing}`, hint);
  }
  return entries;
}

/** Throws UpdateCheckError ("non_finite") when a float32 tensor holds NaN or ±Infinity. */
export function checkFinite(bytes: Uint8Array, entries: readonly TensorEntry[]): void {
  for (const e of entries) {
    if (e.dtype !== "float32") continue;
    const data = readTensorData(bytes, e);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]))
        throw new UpdateCheckError(
          "non_finite",
          `tensor "${e.name}" holds ${data[i]} at index ${i}`,
          "Check the local training for divergence (learning rate, loss) and send only finite values",
        );
    }
  }
}

/**
 * Full check of an update against a layout: parses, compares tensors, refuses non-finite values.
 *
 * @example
 * checkUpdate(bytes, expectedTensors(spec)); // throws UpdateCheckError, or returns the header entries
 */
export function checkUpdate(bytes: Uint8Array, expected: readonly TensorLayout[]): TensorEntry[] {
  const entries = checkUpdateLayout(bytes, expected);
  checkFinite(bytes, entries);
  return entries;
}
