import fc from "fast-check";
import { hexlify } from "ethers";
import { encodeModel, type NamedTensor } from "../../node/model/format";

/** Tensor layouts used by the FedAvg tests. */
export const LAYOUT = [
  { name: "embedding", shape: [3, 2] },
  { name: "head/bias", shape: [2] },
  { name: "head/kernel", shape: [2, 2] },
] as const;

/** Encodes float32 values (in LAYOUT order, concatenated) as canonical bytes. */
export function modelFrom(values: readonly number[]): Uint8Array {
  let pos = 0;
  const tensors: NamedTensor[] = LAYOUT.map((l) => {
    const n = l.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from(values.slice(pos, pos + n));
    pos += n;
    return { name: l.name, dtype: "float32", shape: [...l.shape], data };
  });
  return encodeModel(tensors);
}

/** Number of values in LAYOUT. */
export const LAYOUT_SIZE = LAYOUT.reduce((s, l) => s + l.shape.reduce((a, b) => a * b, 1), 0);

/** Arbitrary float32 values of a moderate range (no overflow when averaged). */
export const arbValues = fc.array(fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }), {
  minLength: LAYOUT_SIZE,
  maxLength: LAYOUT_SIZE,
});

/** Arbitrary distinct site addresses. */
export const arbSites = (min: number, max: number) =>
  fc
    .uniqueArray(fc.uint8Array({ minLength: 20, maxLength: 20 }), {
      minLength: min,
      maxLength: max,
      selector: (b) => hexlify(b),
    })
    .map((list) => list.map((b) => hexlify(b)));
