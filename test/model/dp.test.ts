import { createHash } from "node:crypto";
import { expect } from "chai";
import * as tf from "@tensorflow/tfjs";
import { batchTensors, disposeBatchTensors, packIds } from "../../node/model/bag";
import { initBackend } from "../../node/model/backend";
import { buildDataset, type LabelledText } from "../../node/model/dataset";
import { assertProductionNoise, DpError, dpPlan, dpStepsPerRun } from "../../node/model/dp";
import { NoteGradients } from "../../node/model/dpGradient";
import { csprngSource, RandomStream, seededTestSource } from "../../node/model/dpNoise";
import { decodeModel } from "../../node/model/format";
import { logits, weightedBce, type NetworkParams } from "../../node/model/network";
import { createInitialModel, expectedTensors, readWeights, TENSOR_NAMES } from "../../node/model/params";
import {
  canonicalJson,
  DEFAULT_TRAINING,
  defaultSpec,
  parseSpec,
  SpecError,
  specHash,
  type DpConfig,
  type ModelSpec,
} from "../../node/model/spec";
import { trainLocal } from "../../node/model/train";
import { LABELS } from "../../node/text/labels";
import { LEXICON_HASH } from "../../node/text/lexicon";
import { separableNotes, tinySpec } from "./fixtures";

const DP: DpConfig = {
  clipNorm: 1,
  noiseMultiplier: 1,
  sampleRate: 0.5,
  delta: 1e-5,
  epsilonBudget: 8,
  noise: "seeded-test-only",
};

function dpSpec(dp: Partial<DpConfig> = {}, training: Partial<ModelSpec["training"]> = {}): ModelSpec {
  const spec = tinySpec();
  return parseSpec({ ...spec, training: { ...spec.training, ...training, dp: { ...DP, ...dp } } });
}

/** L2 norm of a whole delta (all tensors). */
function deltaNorm(delta: Uint8Array): number {
  let sq = 0;
  for (const t of decodeModel(delta)) for (const x of t.data) sq += x * x;
  return Math.sqrt(sq);
}

describe("record-level DP-SGD", () => {
  before(async () => {
    await initBackend();
  });

  describe("per-note gradients", () => {
    const cases: [string, ModelSpec][] = [
      ["linear head, sentence units", tinySpec()],
      ["ReLU hidden layer, sentence units", tinySpec({ hidden: 6 })],
      ["linear head, note units, mean scale", tinySpec({ unit: "note", scale: "mean" })],
    ];
    for (const [label, spec] of cases) {
      it(`equal TF.js autodiff of a one-note batch (${label})`, () => {
        const weights = readWeights(createInitialModel(spec, 21), spec);
        // Non-zero head bias and larger head weights so several labels pick different sentences.
        for (const [name, w] of weights)
          if (name !== TENSOR_NAMES.table) w.forEach((x, i) => (w[i] = 3 * x + 0.01 * (i % 7)));
        const notes: LabelledText[] = [
          ...separableNotes(4),
          {
            lang: "sv",
            text: "Patienten har pacemaker. Utslag efter amoxicillin. Kontroll om ett år. Mår bra.",
            labels: ["cardiac_rhythm_device"],
          },
        ];
        const data = buildDataset(notes, spec);
        const grads = new NoteGradients(spec, weights);
        const layout = expectedTensors(spec);
        data.features.forEach((units, i) => {
          const target = data.targets.subarray(i * spec.labels.length, (i + 1) * spec.labels.length);
          const posWeight = 2;
          const { loss, sqNorm } = grads.compute(units, target, posWeight);
          const ours = grads.toDense();
          const batch = batchTensors(packIds([units], spec.scale, spec.unit === "sentence"));
          const y = tf.tensor2d(target, [1, spec.labels.length]);
          const inputs = layout.map(({ name, shape }) => tf.tensor(weights.get(name) as Float32Array, shape));
          const { value, grads: tfGrads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
            const params: NetworkParams = new Map(layout.map(({ name }, k) => [name, xs[k]]));
            return weightedBce(logits(params, spec, batch), y, posWeight);
          })(inputs);
          expect(loss).to.be.closeTo(value.dataSync()[0], 1e-5);
          let sq = 0;
          layout.forEach(({ name }, k) => {
            const want = tfGrads[k].dataSync();
            const got = ours.get(name) as Float64Array;
            const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
            for (let j = 0; j < want.length; j++) {
              if (Math.abs(got[j] - want[j]) > 1e-4 * scale) {
                expect.fail(`${name}[${j}]: ${got[j]} ≠ autodiff ${want[j]} (note ${i})`);
              }
              sq += want[j] * want[j];
            }
          });
          expect(sqNorm).to.be.closeTo(sq, 1e-4 * sq);
          tf.dispose([value, ...tfGrads, ...inputs, y]);
          disposeBatchTensors(batch);
        });
      });
    }
  });

  describe("noise", () => {
    /** Standard normal CDF (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
    const phi = (x: number) => {
      const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
      const poly =
        t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
      const erf = 1 - poly * Math.exp(-(x * x) / 2);
      return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
    };

    it("draws standard normal values (Kolmogorov–Smirnov, moments, tails beyond the Ziggurat's base strip)", () => {
      const n = 400_000;
      const z = new Float64Array(n);
      new RandomStream(seededTestSource(3)).gaussians(z, n);
      let mean = 0;
      let sq = 0;
      const tails = [1, 2, 3, 3.5, 4].map((t) => ({ t, count: 0 }));
      for (const x of z) {
        mean += x / n;
        sq += (x * x) / n;
        for (const tail of tails) if (Math.abs(x) > tail.t) tail.count++;
      }
      expect(mean).to.be.closeTo(0, 5 / Math.sqrt(n));
      expect(sq).to.be.closeTo(1, 5 * Math.sqrt(2 / n));
      for (const { t, count } of tails) {
        const p = 2 * (1 - phi(t));
        expect(count, `P(|z| > ${t})`).to.be.closeTo(n * p, 5 * Math.sqrt(n * p) + 1);
      }
      const sorted = Float64Array.from(z).sort();
      let d = 0;
      sorted.forEach((x, i) => (d = Math.max(d, Math.abs(phi(x) - i / n), Math.abs(phi(x) - (i + 1) / n))));
      expect(d).to.be.below(1.63 / Math.sqrt(n)); // the 1% critical value
    });

    it("gives the same stream for a seed and different streams for other seeds or the CSPRNG", () => {
      const draw = (stream: RandomStream) => {
        const z = new Float64Array(1000);
        stream.gaussians(z, 1000);
        return Array.from(z);
      };
      expect(draw(new RandomStream(seededTestSource(1)))).to.deep.equal(
        draw(new RandomStream(seededTestSource(1))),
      );
      expect(draw(new RandomStream(seededTestSource(1)))).to.not.deep.equal(
        draw(new RandomStream(seededTestSource(2))),
      );
      expect(draw(new RandomStream(csprngSource()))).to.not.deep.equal(
        draw(new RandomStream(csprngSource())),
      );
    });
  });

  describe("training", () => {
    const notes = separableNotes(24);

    it("clips: a note with a huge gradient moves the parameters by at most lr·C (plus the noise)", async () => {
      // One note, q = 1, one step of plain SGD: Δ = −lr·(clip(g) + σC·z) / 1, so ‖Δ‖ ≤ lr·(C + σC‖z‖).
      const huge: LabelledText[] = [
        { lang: "sv", text: "Patienten har pacemaker.", labels: ["cardiac_rhythm_device", "adr"] },
      ];
      const lr = 0.5;
      const clipNorm = 0.01;
      const spec = dpSpec(
        { clipNorm, noiseMultiplier: 1e-9, sampleRate: 1 },
        { optimizer: "sgd", lr, epochs: 1, posWeight: 1000 },
      );
      const base = createInitialModel(spec, 3);
      const { delta } = await trainLocal({ spec, base, notes: huge, seed: 1 });
      // Noise part: σC·‖z‖ ≈ 1e-9 · 0.01 · √(32,900) ≈ 2e-9, far below the tolerance.
      expect(deltaNorm(delta)).to.be.at.most(lr * clipNorm * 1.001);
      expect(deltaNorm(delta)).to.be.greaterThan(lr * clipNorm * 0.99);
      // Without DP the same step moves the parameters far more: the bound above is the clipping's doing.
      const plain = tinySpec({
        training: { ...DEFAULT_TRAINING, optimizer: "sgd", lr, epochs: 1, posWeight: 1000 },
      });
      const unclipped = await trainLocal({ spec: plain, base, notes: huge, seed: 1 });
      expect(deltaNorm(unclipped.delta)).to.be.greaterThan(100 * lr * clipNorm);
    });

    it("adds noise to every parameter: every embedding row changes, also rows no note touches", async () => {
      const spec = dpSpec();
      const { delta } = await trainLocal({ spec, base: createInitialModel(spec, 4), notes, seed: 5 });
      const tensors = decodeModel(delta);
      const table = tensors.find((t) => t.name === TENSOR_NAMES.table)!;
      let unchangedRows = 0;
      for (let row = 0; row < spec.features.buckets; row++) {
        if (table.data.subarray(row * spec.dim, (row + 1) * spec.dim).every((x) => x === 0)) unchangedRows++;
      }
      expect(unchangedRows).to.equal(0);
      for (const t of tensors)
        expect(Array.from(t.data).filter((x) => x === 0).length, t.name).to.be.below(t.data.length / 1000);
    });

    it("is deterministic with seeded test noise, and differs with another seed", async () => {
      const spec = dpSpec();
      const base = createInitialModel(spec, 6);
      const a = await trainLocal({ spec, base, notes, seed: 9 });
      const b = await trainLocal({ spec, base, notes, seed: 9 });
      const c = await trainLocal({ spec, base, notes, seed: 10 });
      expect(a.delta.equals(b.delta)).to.equal(true);
      expect(a.delta.equals(c.delta)).to.equal(false);
    });

    it("draws fresh noise from the CSPRNG: two runs with the same seed differ", async () => {
      const spec = dpSpec({ noise: "csprng" });
      const base = createInitialModel(spec, 6);
      const a = await trainLocal({ spec, base, notes, seed: 9 });
      const b = await trainLocal({ spec, base, notes, seed: 9 });
      expect(a.delta.equals(b.delta)).to.equal(false);
    });

    it("learns the separable set under moderate noise", async () => {
      const spec = dpSpec({ noiseMultiplier: 0.5, clipNorm: 1, sampleRate: 0.5 }, { epochs: 8, lr: 0.05 });
      const { losses } = await trainLocal({
        spec,
        base: createInitialModel(spec, 7),
        notes: separableNotes(200),
        seed: 2,
      });
      expect(losses).to.have.length(8);
      expect(losses[7]).to.be.lessThan(losses[0] * 0.7);
    });

    it("refuses an epochs override that would change the accounted number of steps", async () => {
      const spec = dpSpec();
      let error: unknown;
      await trainLocal({ spec, base: createInitialModel(spec, 1), notes, seed: 1, epochs: 5 }).catch(
        (e) => (error = e),
      );
      expect(error).to.be.instanceOf(DpError);
      expect(String(error)).to.match(/accounted for 2/);
    });
  });

  describe("spec", () => {
    it("keeps the hash of specs without DP (the dp field is absent, not null)", () => {
      // Computed before the dp field existed (tinySpec has no lexicon, so its hash depends on nothing else).
      expect(specHash(tinySpec())).to.equal(
        "0x074adb5a19fb47463bea30a07a9b6219a62d8075ff2c4a4676262759e8b035d6",
      );
      const spec = tinySpec();
      expect(specHash({ ...spec, training: { ...spec.training, dp: undefined } })).to.equal(specHash(spec));
      // The default spec's canonical JSON as it was, with the current lexicon's hash.
      const expected =
        '{"dim":32,"features":{"buckets":65536,"charNgramMax":5,"charNgramMin":3,' +
        `"lexicon":{"hash":"${LEXICON_HASH}","weight":8},"wordNgrams":2},"hidden":0,` +
        `"labels":${JSON.stringify(LABELS)},"scale":"sqrt","threshold":0.3,"training":{"batchSize":64,` +
        '"epochs":3,"idDropout":0,"lr":0.03,"optimizer":"adam","posWeight":1},"unit":"sentence","version":1}';
      expect(canonicalJson(defaultSpec())).to.equal(expected);
      expect(specHash(defaultSpec())).to.equal(
        `0x${createHash("sha256").update(expected, "utf8").digest("hex")}`,
      );
    });

    it("hashes the DP settings with the task: any change gives another hash", () => {
      const spec = dpSpec();
      expect(parseSpec(JSON.parse(JSON.stringify(spec)))).to.deep.equal(spec);
      expect(canonicalJson(spec)).to.include(
        '"dp":{"clipNorm":1,"delta":0.00001,"epsilonBudget":8,"noise":"seeded-test-only","noiseMultiplier":1,"sampleRate":0.5}',
      );
      const hash = specHash(spec);
      expect(specHash(tinySpec())).to.not.equal(hash);
      for (const change of [
        { clipNorm: 2 },
        { noiseMultiplier: 1.1 },
        { sampleRate: 0.25 },
        { delta: 1e-6 },
        { epsilonBudget: 4 },
        { noise: "csprng" as const },
      ]) {
        expect(specHash(dpSpec(change)), JSON.stringify(change)).to.not.equal(hash);
      }
    });

    it("rejects invalid DP settings with the field at fault", () => {
      const spec = tinySpec();
      const bad = (dp: unknown, message: RegExp) =>
        expect(() => parseSpec({ ...spec, training: { ...spec.training, dp } }, "t.json")).to.throw(
          SpecError,
          message,
        );
      bad({ ...DP, clipNorm: 0 }, /training\.dp\.clipNorm: clipNorm must be > 0/);
      bad({ ...DP, noiseMultiplier: 0 }, /training\.dp\.noiseMultiplier: noiseMultiplier must be > 0/);
      bad({ ...DP, sampleRate: 1.5 }, /training\.dp\.sampleRate: sampleRate must be in \(0, 1\]/);
      bad({ ...DP, sampleRate: 0 }, /training\.dp\.sampleRate/);
      bad({ ...DP, delta: 1 }, /training\.dp\.delta: delta must be in \(0, 1\)/);
      bad({ ...DP, epsilonBudget: -1 }, /training\.dp\.epsilonBudget/);
      bad({ ...DP, noise: "mt19937" }, /training\.dp\.noise: noise must be "csprng" or "seeded-test-only"/);
      bad({ ...DP, sigma: 1 }, /sigma/);
      const { clipNorm: _omitted, ...missing } = DP;
      bad(missing, /training\.dp\.clipNorm/);
    });

    it("lets a site refuse seeded noise", () => {
      expect(() => assertProductionNoise(dpSpec())).to.throw(DpError, /seeded-test-only.*for tests only/);
      expect(() => assertProductionNoise(dpSpec({ noise: "csprng" }))).to.not.throw();
      expect(() => assertProductionNoise(tinySpec())).to.not.throw();
    });

    it("plans the run: epochs × round(1/q) steps, divisor q·notes", () => {
      expect(dpStepsPerRun(dpSpec({ sampleRate: 0.25 }, { epochs: 3 }), 800)).to.equal(12);
      expect(dpStepsPerRun(dpSpec({ sampleRate: 0.3 }, { epochs: 3 }))).to.equal(9);
      expect(dpStepsPerRun(dpSpec({ sampleRate: 1 }, { epochs: 2 }), 5)).to.equal(2);
      expect(dpPlan(dpSpec({ sampleRate: 0.25 }, { epochs: 3 }), 800)).to.deep.equal({
        sampleRate: 0.25,
        noiseMultiplier: 1,
        clipNorm: 1,
        stepsPerEpoch: 4,
        steps: 12,
        divisor: 200,
      });
      expect(() => dpStepsPerRun(tinySpec(), 10)).to.throw(DpError, /no training\.dp/);
    });
  });
});
