import { createHash } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import {
  decodeModel,
  encodeModel,
  hashModelBytes,
  ModelFormatError,
  readModelHeader,
  type NamedTensor,
} from "../../node/model/format";

const sample = (): NamedTensor[] => [
  { name: "head/kernel", dtype: "float32", shape: [2, 3], data: new Float32Array([1, -2, 0.5, 3, 4, -0]) },
  { name: "embedding", dtype: "float32", shape: [2], data: new Float32Array([0.25, -1e-30]) },
  { name: "step", dtype: "int32", shape: [], data: new Int32Array([7]) },
];

describe("canonical model format", () => {
  it("encodes the documented worked example byte for byte", () => {
    const bytes = encodeModel([
      { name: "b", dtype: "float32", shape: [2], data: new Float32Array([1, -2]) },
      { name: "a", dtype: "int32", shape: [], data: new Int32Array([5]) },
    ]);
    expect(bytes.toString("hex")).to.equal(
      "464c4d3102000000" + // "FLM1", 2 tensors
        "0100" +
        "61" +
        "02" +
        "00" + // "a", int32, rank 0
        "0100" +
        "62" +
        "01" +
        "01" +
        "02000000" + // "b", float32, rank 1, [2]
        "0000" + // padding to 24
        "05000000" + // a = 5
        "0000803f" +
        "000000c0", // b = [1, -2]
    );
    expect(hashModelBytes(bytes)).to.equal("0x" + createHash("sha256").update(bytes).digest("hex"));
  });

  it("round-trips bit-exactly and sorts tensors by name", () => {
    const bytes = encodeModel(sample());
    const decoded = decodeModel(bytes);
    expect(decoded.map((t) => t.name)).to.deep.equal(["embedding", "head/kernel", "step"]);
    expect(encodeModel(decoded).equals(bytes)).to.equal(true);
    expect(Object.is(decoded[1].data[5], -0)).to.equal(true);
  });

  it("gives the same bytes whatever the input order (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1000 }),
        (names, seed) => {
          const tensors = names.map((name, i) => {
            const n = ((seed + i) % 7) + 1;
            const data = Float32Array.from({ length: n }, (_, j) => Math.fround((seed * 31 + j) / 7 - 50));
            return { name, dtype: "float32" as const, shape: [n], data };
          });
          const a = encodeModel(tensors);
          const b = encodeModel([...tensors].reverse());
          expect(a.equals(b)).to.equal(true);
          expect(encodeModel(decodeModel(a)).equals(a)).to.equal(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("rejects malformed bytes with a precise message", () => {
    const good = encodeModel(sample());
    const cases: [Buffer, RegExp][] = [
      [Buffer.from("nope"), /does not start with "FLM1"/],
      [Buffer.concat([good, Buffer.from([0])]), /data section should end/],
      [good.subarray(0, good.length - 1), /data section should end/],
      [good.subarray(0, 12), /truncated/],
    ];
    const badDtype = Buffer.from(good);
    badDtype[8 + 2 + "embedding".length] = 9;
    cases.push([badDtype, /unknown dtype code 9/]);
    for (const [bytes, message] of cases) {
      expect(() => readModelHeader(bytes)).to.throw(ModelFormatError, message);
    }
  });

  it("refuses tensors that cannot be encoded", () => {
    const t = sample()[0];
    expect(() => encodeModel([])).to.throw(ModelFormatError, /1 to 4096 tensors/);
    expect(() => encodeModel([t, { ...t }])).to.throw(ModelFormatError, /appears twice/);
    expect(() => encodeModel([{ ...t, shape: [4, 3] }])).to.throw(ModelFormatError, /6 values for shape/);
    expect(() => encodeModel([{ ...t, shape: [0, 3] }])).to.throw(ModelFormatError, /invalid dimension 0/);
    expect(() => encodeModel([{ ...t, dtype: "int32" }])).to.throw(ModelFormatError, /does not match dtype/);
  });
});
