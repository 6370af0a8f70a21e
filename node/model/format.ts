/**
 * The canonical binary layout of model and update bytes ("FLM1"). The SHA-256 of these bytes is the model
 * hash recorded on the chain, so the layout is fixed to the byte; docs/model-format.md specifies it for
 * independent re-implementation. Global models and site updates use the same layout.
 *
 * Layout (all integers little-endian):
 *   magic    4 bytes  ASCII "FLM1"
 *   count    u32      number of tensors N (1..4096)
 *   N entries, in ascending bytewise order of their UTF-8 names (names unique):
 *     nameLen u16, name (UTF-8, 1..256 bytes), dtype u8 (1 = float32, 2 = int32), rank u8 (0..8), rank × u32 dims (each >= 1)
 *   zero bytes up to the next multiple of 8 from the start of the file
 *   data     for each entry in the same order: product(dims) elements of 4 bytes, little-endian, row-major
 * Nothing follows the last tensor's data.
 */
import { FedledgerError } from "../errors";
import { sha256Hex } from "../sha256";

export const FORMAT_MAGIC = "FLM1";
export const MAX_TENSORS = 4096;
export const MAX_NAME_BYTES = 256;
export const MAX_RANK = 8;

export type DType = "float32" | "int32";
const DTYPE_CODES: Record<DType, number> = { float32: 1, int32: 2 };
const CODE_DTYPES: Record<number, DType> = { 1: "float32", 2: "int32" };

/** One named tensor: its values in row-major order. */
export interface NamedTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Raised when bytes do not follow the canonical layout. */
export class ModelFormatError extends FedledgerError {
  constructor(message: string) {
    super(`not a valid fedledger model file: ${message}`, {
      hint: "The file must be written by fedledger (layout FLM1, docs/model-format.md)",
    });
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkTensor(t: NamedTensor): Buffer {
  const name = Buffer.from(t.name, "utf8");
  if (name.length < 1 || name.length > MAX_NAME_BYTES) {
    throw new ModelFormatError(`tensor name "${t.name}" must be 1 to ${MAX_NAME_BYTES} bytes of UTF-8`);
  }
  if (!(t.dtype in DTYPE_CODES))
    throw new ModelFormatError(`tensor "${t.name}" has unknown dtype ${t.dtype}`);
  if (t.shape.length > MAX_RANK) throw new ModelFormatError(`tensor "${t.name}" has rank above ${MAX_RANK}`);
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 1 || d > 0xffffffff) {
      throw new ModelFormatError(`tensor "${t.name}" has invalid dimension ${d}`);
    }
  }
  const expected = elementCount(t.shape);
  if (t.data.length !== expected) {
    throw new ModelFormatError(`tensor "${t.name}" has ${t.data.length} values for shape [${t.shape}]`);
  }
  const wantFloat = t.dtype === "float32";
  if (wantFloat !== t.data instanceof Float32Array) {
    throw new ModelFormatError(`tensor "${t.name}" data does not match dtype ${t.dtype}`);
  }
  return name;
}

/** Size in bytes of the header including its padding, for the given encoded names and ranks. */
function headerSize(entries: { name: Buffer; rank: number }[]): number {
  let size = 8;
  for (const e of entries) size += 2 + e.name.length + 2 + 4 * e.rank;
  return Math.ceil(size / 8) * 8;
}

/**
 * Encodes tensors in the canonical layout. The order of `tensors` does not matter: entries are sorted by name.
 * @example const bytes = encodeModel([{ name: "dense/bias", dtype: "float32", shape: [2], data: new Float32Array(2) }]);
 */
export function encodeModel(tensors: readonly NamedTensor[]): Buffer {
  if (tensors.length < 1 || tensors.length > MAX_TENSORS) {
    throw new ModelFormatError(`a model has 1 to ${MAX_TENSORS} tensors, got ${tensors.length}`);
  }
  const entries = tensors
    .map((t) => ({ tensor: t, name: checkTensor(t), rank: t.shape.length }))
    .sort((a, b) => compareBytes(a.name, b.name));
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1].name, entries[i].name) === 0) {
      throw new ModelFormatError(`tensor name "${entries[i].tensor.name}" appears twice`);
    }
  }
  const dataOffset = headerSize(entries);
  let total = dataOffset;
  for (const e of entries) total += 4 * e.tensor.data.length;
  const out = Buffer.alloc(total);
  out.write(FORMAT_MAGIC, 0, "ascii");
  out.writeUInt32LE(entries.length, 4);
  let pos = 8;
  for (const e of entries) {
    out.writeUInt16LE(e.name.length, pos);
    pos += 2;
    e.name.copy(out, pos);
    pos += e.name.length;
    out.writeUInt8(DTYPE_CODES[e.tensor.dtype], pos++);
    out.writeUInt8(e.rank, pos++);
    for (const d of e.tensor.shape) {
      out.writeUInt32LE(d, pos);
      pos += 4;
    }
  }
  pos = dataOffset;
  for (const e of entries) {
    const src = e.tensor.data;
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength), pos);
    } else {
      const view = new DataView(out.buffer, out.byteOffset + pos, src.byteLength);
      for (let i = 0; i < src.length; i++) {
        if (src instanceof Float32Array) view.setFloat32(4 * i, src[i], true);
        else view.setInt32(4 * i, src[i], true);
      }
    }
    pos += src.byteLength;
  }
  return out;
}

/** Header of an encoded model: the tensors' names, dtypes and shapes, in file order, with data offsets. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte offset of the tensor's data from the start of the file. */
  offset: number;
  /** Number of elements. */
  size: number;
}

/** Reads and validates the header of canonical bytes; throws ModelFormatError on any deviation. */
export function readModelHeader(bytes: Uint8Array): TensorEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || buf.toString("ascii", 0, 4) !== FORMAT_MAGIC) {
    throw new ModelFormatError(`it does not start with "${FORMAT_MAGIC}"`);
  }
  const count = buf.readUInt32LE(4);
  if (count < 1 || count > MAX_TENSORS) throw new ModelFormatError(`tensor count ${count} is out of range`);
  const raw: { name: Buffer; dtype: DType; shape: number[] }[] = [];
  let pos = 8;
  const need = (n: number) => {
    if (pos + n > buf.length) throw new ModelFormatError("the header is truncated");
  };
  for (let i = 0; i < count; i++) {
    need(2);
    const nameLen = buf.readUInt16LE(pos);
    pos += 2;
    if (nameLen < 1 || nameLen > MAX_NAME_BYTES)
      throw new ModelFormatError(`tensor ${i} has name length ${nameLen}`);
    need(nameLen + 2);
    const name = buf.subarray(pos, pos + nameLen);
    pos += nameLen;
    const dtype = CODE_DTYPES[buf.readUInt8(pos++)];
    if (!dtype) throw new ModelFormatError(`tensor ${i} has an unknown dtype code ${buf.readUInt8(pos - 1)}`);
    const rank = buf.readUInt8(pos++);
    if (rank > MAX_RANK) throw new ModelFormatError(`tensor ${i} has rank ${rank}`);
    need(4 * rank);
    const shape: number[] = [];
    for (let r = 0; r < rank; r++) {
      const d = buf.readUInt32LE(pos);
      pos += 4;
      if (d < 1) throw new ModelFormatError(`tensor ${i} has a zero dimension`);
      shape.push(d);
    }
    if (raw.length > 0 && compareBytes(raw[raw.length - 1].name, name) >= 0) {
      throw new ModelFormatError("tensor names are not unique and in ascending order");
    }
    raw.push({ name, dtype, shape });
  }
  const dataOffset = Math.ceil(pos / 8) * 8;
  if (dataOffset > buf.length) throw new ModelFormatError("the header is truncated");
  for (let p = pos; p < dataOffset; p++) {
    if (buf[p] !== 0) throw new ModelFormatError("header padding is not zero");
  }
  let offset = dataOffset;
  const entries: TensorEntry[] = raw.map((r) => {
    const size = elementCount(r.shape);
    const entry = { name: r.name.toString("utf8"), dtype: r.dtype, shape: r.shape, offset, size };
    offset += 4 * size;
    return entry;
  });
  if (offset !== buf.length) {
    throw new ModelFormatError(
      `the data section should end at byte ${offset} but the file has ${buf.length} bytes`,
    );
  }
  return entries;
}

/** Reads one tensor's values; a view into `bytes` when aligned on a little-endian host, else a copy. */
export function readTensorData(bytes: Uint8Array, entry: TensorEntry): Float32Array | Int32Array {
  const start = bytes.byteOffset + entry.offset;
  const Ctor = entry.dtype === "float32" ? Float32Array : Int32Array;
  if (LITTLE_ENDIAN_HOST && start % 4 === 0) return new Ctor(bytes.buffer as ArrayBuffer, start, entry.size);
  const out = new Ctor(entry.size);
  const view = new DataView(bytes.buffer, start, 4 * entry.size);
  for (let i = 0; i < entry.size; i++) {
    out[i] = entry.dtype === "float32" ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  }
  return out;
}

/** Decodes canonical bytes into tensors (in file order, i.e. sorted by name). */
export function decodeModel(bytes: Uint8Array): NamedTensor[] {
  return readModelHeader(bytes).map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    data: readTensorData(bytes, e),
  }));
}

/** The model hash: SHA-256 of the canonical bytes, as 0x-prefixed lowercase hex (a bytes32 on the chain). */
export function hashModelBytes(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}
