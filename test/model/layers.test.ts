import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { expect } from "chai";
import { featurizeTexts } from "../../node/model/dataset";
import { hashModelBytes } from "../../node/model/format";
import { exportLayersModel, importLayersModel, layersModelInputs } from "../../node/model/layers";
import { createInitialModel } from "../../node/model/params";
import { maxPerNote, Scorer } from "../../node/model/scorer";
import { specHash } from "../../node/model/spec";
import { trainLocal } from "../../node/model/train";
import { separableNotes, tinySpec } from "./fixtures";

describe("model LayersModel export and import", () => {
  for (const [hidden, scale] of [
    [0, "sqrt"],
    [6, "mean"],
  ] as const) {
    it(`exports a model (hidden ${hidden}, ${scale}) that stock TF.js loads and that predicts the same`, async () => {
      const spec = tinySpec({ hidden, scale });
      const notes = separableNotes(24);
      const { model } = await trainLocal({ spec, base: createInitialModel(spec, 5), notes, seed: 1 });
      const dir = await mkdtemp(path.join(os.tmpdir(), "fedledger-layers-"));
      const written = await exportLayersModel(model, spec, dir);
      expect(written.modelHash).to.equal(hashModelBytes(model));

      // Load with plain TF.js from the files, as a user outside fedledger would.
      const json = JSON.parse(await readFile(path.join(dir, "model.json"), "utf8"));
      const weights = await readFile(path.join(dir, json.weightsManifest[0].paths[0]));
      const layersModel = await tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology,
          weightSpecs: json.weightsManifest[0].weights,
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
        }),
      );
      const features = featurizeTexts(notes, spec);
      expect(features.some((units) => units.length > 1)).to.equal(true);
      const inputs = layersModelInputs(features.flat(), spec.scale);
      // Sentence rows; a note's probability is the maximum over its sentences.
      const exported = maxPerNote(
        features,
        (layersModel.predict(inputs) as tf.Tensor).dataSync() as Float32Array,
        spec.labels.length,
      );
      tf.dispose(inputs);
      layersModel.dispose();
      const scorer = await Scorer.load(model, spec);
      const native = scorer.score(features);
      scorer.dispose();
      expect(exported.length).to.equal(native.length);
      let maxDiff = 0;
      for (let i = 0; i < native.length; i++) maxDiff = Math.max(maxDiff, Math.abs(exported[i] - native[i]));
      expect(maxDiff).to.be.below(1e-5);

      const imported = await importLayersModel(dir);
      expect(imported.bytes.equals(model)).to.equal(true);
      expect(specHash(imported.spec)).to.equal(specHash(spec));
    });
  }

  it("refuses a directory that is not a fedledger export", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "fedledger-layers-"));
    let error: unknown;
    await importLayersModel(dir).catch((e) => (error = e));
    expect(String(error)).to.match(/cannot read .*model\.json: ENOENT/);
    await writeFile(path.join(dir, "model.json"), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    await importLayersModel(dir).catch((e) => (error = e));
    expect(String(error)).to.match(/not a fedledger LayersModel export/);
  });

  it("keeps the genesis model's bytes through export and import", async () => {
    const spec = tinySpec();
    const genesis = createInitialModel(spec, 77);
    const dir = await mkdtemp(path.join(os.tmpdir(), "fedledger-layers-"));
    await exportLayersModel(genesis, spec, dir);
    expect((await importLayersModel(dir)).bytes.equals(genesis)).to.equal(true);
  });
});
