import { expect } from "chai";
import { encodeModel } from "../../node/model/format";
import { checkUpdate, UpdateCheckError, type TensorLayout } from "../../node/fl";

const layout: TensorLayout[] = [
  { name: "b", dtype: "float32", shape: [2] },
  { name: "a", dtype: "float32", shape: [2, 1] },
];

const make = (tensors: { name: string; shape: number[]; data: number[] }[]) =>
  encodeModel(tensors.map((t) => ({ ...t, dtype: "float32" as const, data: Float32Array.from(t.data) })));

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof UpdateCheckError) return `${err.problem}: ${err.message}`;
    throw err;
  }
  return "ok";
}

describe("update checks", () => {
  it("accepts exactly the expected tensors with finite values", () => {
    const bytes = make([
      { name: "a", shape: [2, 1], data: [1, 2] },
      { name: "b", shape: [2], data: [-0, 3e38] },
    ]);
    expect(checkUpdate(bytes, layout).map((e) => e.name)).to.deep.equal(["a", "b"]);
  });

  it("names the failed check", () => {
    const a = { name: "a", shape: [2, 1], data: [1, 2] };
    expect(problem(() => checkUpdate(Buffer.from("FLM1"), layout))).to.match(
      /^unparseable: not a valid fedledger model/,
    );
    expect(problem(() => checkUpdate(make([a]), layout))).to.match(/^wrong_shape: missing 1 tensor\(s\): b/);
    expect(
      problem(() => checkUpdate(make([a, { name: "b", shape: [1, 2], data: [0, 0] }]), layout)),
    ).to.match(/^wrong_shape: tensor b float32 \[1, 2\] should be b float32 \[2\]/);
    expect(
      problem(() =>
        checkUpdate(
          make([a, { name: "b", shape: [2], data: [0, 0] }, { name: "c", shape: [1], data: [0] }]),
          layout,
        ),
      ),
    ).to.match(/^wrong_shape: unexpected tensor "c"/);
    expect(
      problem(() => checkUpdate(make([a, { name: "b", shape: [2], data: [0, -Infinity] }]), layout)),
    ).to.match(/^non_finite: tensor "b" holds -Infinity at index 1/);
  });
});
