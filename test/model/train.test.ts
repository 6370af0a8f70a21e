import { expect } from "chai";
import { mkdtemp } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { featurizeTexts } from "../../node/model/dataset";
import { decodeModel, encodeModel, hashModelBytes } from "../../node/model/format";
import { readModelFile, writeModelFile } from "../../node/model/files";
import { predictNotes } from "../../node/model/predict";
import { specHash } from "../../node/model/spec";
import { createInitialModel, expectedTensors } from "../../node/model/params";
import { evaluateModel } from "../../node/model/evaluate";
import { trainLocal } from "../../node/model/train";
import { separableNotes, tinySpec } from "./fixtures";

describe("model training", () => {
  const spec = tinySpec();
  const notes = separableNotes(48);

  it("creates the same genesis bytes for a seed and different bytes for another seed", () => {
    const a = createInitialModel(spec, 1);
    expect(a.equals(createInitialModel(spec, 1))).to.equal(true);
    expect(a.equals(createInitialModel(spec, 2))).to.equal(false);
    expect(decodeModel(a).map(({ name, dtype, shape }) => ({ name, dtype, shape }))).to.deep.equal(
      expectedTensors(spec),
    );
  });

  it("is deterministic: same base, notes and seed give identical bytes; another seed differs", async () => {
    const base = createInitialModel(spec, 3);
    const first = await trainLocal({ spec, base, notes, seed: 11 });
    const second = await trainLocal({ spec, base, notes, seed: 11 });
    const other = await trainLocal({ spec, base, notes, seed: 12 });
    expect(hashModelBytes(first.model)).to.equal(hashModelBytes(second.model));
    expect(first.delta.equals(second.delta)).to.equal(true);
    expect(first.model.equals(other.model)).to.equal(false);
    expect(first.numSamples).to.equal(notes.length);
  });

  it("returns a delta that added to the base gives the local model (to float32 rounding), same layout", async () => {
    const base = createInitialModel(spec, 4);
    const { model, delta } = await trainLocal({ spec, base, notes, seed: 5 });
    const b = decodeModel(base);
    const d = decodeModel(delta);
    const m = decodeModel(model);
    expect(d.map((t) => [t.name, t.shape])).to.deep.equal(m.map((t) => [t.name, t.shape]));
    // The delta is rounded to float32 once, so base + delta is the local value within two float32 ulps
    // (exactly equal for almost every weight).
    let changed = 0;
    let exact = 0;
    let total = 0;
    let beyond = 0;
    m.forEach((t, k) => {
      for (let i = 0; i < t.data.length; i++) {
        const sum = Math.fround(b[k].data[i] + d[k].data[i]);
        const scale = Math.max(Math.abs(b[k].data[i]), Math.abs(t.data[i]));
        if (Math.abs(sum - t.data[i]) > scale * 2 ** -22) beyond++;
        if (sum === t.data[i]) exact++;
        if (d[k].data[i] !== 0) changed++;
        total++;
      }
    });
    expect(beyond).to.equal(0);
    expect(changed).to.be.greaterThan(0);
    expect(exact / total).to.be.greaterThan(0.99);
  });

  it("leaves the embedding rows of features the notes never contain unchanged (zero delta)", async () => {
    const { delta } = await trainLocal({ spec, base: createInitialModel(spec, 4), notes, seed: 5 });
    const used = new Set<number>();
    for (const units of featurizeTexts(notes, spec)) for (const u of units) for (const id of u) used.add(id);
    const table = decodeModel(delta).find((t) => t.name === "embedding/table")!;
    let usedChanged = 0;
    let unusedChanged = 0;
    for (let row = 0; row < spec.features.buckets; row++) {
      const changed = table.data.subarray(row * spec.dim, (row + 1) * spec.dim).some((x) => x !== 0);
      if (changed && used.has(row)) usedChanged++;
      else if (changed) unusedChanged++;
    }
    expect(unusedChanged).to.equal(0);
    expect(usedChanged).to.equal(used.size);
  });

  it("round-trips a trained model through its bytes and its files", async () => {
    const { model } = await trainLocal({ spec, base: createInitialModel(spec, 6), notes, seed: 1 });
    expect(encodeModel(decodeModel(model)).equals(model)).to.equal(true);
    const dir = await mkdtemp(path.join(os.tmpdir(), "fedledger-model-"));
    const file = path.join(dir, "site.model");
    await writeModelFile(file, model, spec);
    const read = await readModelFile(file);
    expect(hashModelBytes(read.bytes)).to.equal(hashModelBytes(model));
    expect(specHash(read.spec)).to.equal(specHash(spec));
    const before = await predictNotes(model, spec, notes.slice(0, 3));
    const after = await predictNotes(read.bytes, read.spec, notes.slice(0, 3));
    expect(after).to.deep.equal(before);
  });

  it("learns: the loss falls and a separable set is classified perfectly", async () => {
    const { model, losses } = await trainLocal({
      spec,
      base: createInitialModel(spec, 7),
      notes,
      seed: 2,
      epochs: 6,
    });
    expect(losses).to.have.length(6);
    expect(losses[5]).to.be.lessThan(losses[0] / 2);
    const metrics = await evaluateModel(model, spec, separableNotes(30));
    expect(metrics.macro.f1).to.equal(1);
    expect(metrics.implant.recall).to.equal(1);
  });

  it("refuses to train without notes or with bad settings", async () => {
    const base = createInitialModel(spec, 8);
    let error: unknown;
    await trainLocal({ spec, base, notes: [], seed: 1 }).catch((e) => (error = e));
    expect(String(error)).to.match(/no training notes/);
    await trainLocal({ spec, base, notes, seed: 1, epochs: 0 }).catch((e) => (error = e));
    expect(String(error)).to.match(/invalid training setting: epochs 0/);
    await trainLocal({ spec: tinySpec({ dim: 16 }), base, notes, seed: 1 }).catch((e) => (error = e));
    expect(String(error)).to.match(/does not match its spec/);
  });
});
