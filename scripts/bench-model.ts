/**
 * `npm run bench:model`: speed and memory figures of the default model. Prints JSON; asserts nothing.
 *
 * - training throughput (notes × epochs / s) of trainLocal on the default spec, featurisation excluded
 *   and included; targets ≥ 1,000 examples/s on wasm with one thread;
 * - prediction throughput (notes/s) of predictNotes with and without evidence; target ≥ 5,000 notes/s;
 * - model hashing throughput against Node's crypto.createHash('sha256') over the same buffer, interleaved
 *   repetitions, medians; target ratio ≥ 0.9;
 * - peak memory of a training run (RSS high-water mark, V8 heap at epoch ends, wasm linear memory).
 *
 *   npm run bench:model -- [--notes 2000] [--epochs 2] [--predict 5000] [--backend wasm]
 */
import { createHash } from "node:crypto";
import { Command } from "commander";
import { whole } from "./cliArgs";
import * as tf from "@tensorflow/tfjs";
import {
  createInitialModel,
  defaultSpec,
  hashModelBytes,
  initBackend,
  predictWithScorer,
  readModelHeader,
  Scorer,
  trainLocal,
} from "../node/model";
import { buildDataset } from "../node/model/dataset";
import { readWeights } from "../node/model/params";
import { trainWeights } from "../node/model/train";
import { generateNotes, type Note } from "../node/text/corpus";
import type { Lang } from "../node/text/labels";
import { median } from "./stats";

const LANGS: Lang[] = ["nb", "sv", "da", "fi", "et"];

function mixedNotes(n: number, seed: number): Note[] {
  const per = Math.ceil(n / LANGS.length);
  return LANGS.flatMap((lang, i) => generateNotes({ lang, n: per, seed: seed + i })).slice(0, n);
}

/** Size of the wasm backend's linear memory (its high-water mark). */
function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main(): Promise<void> {
  const opts = new Command("bench-model")
    .option("--notes <n>", "training notes", whole(10, 1_000_000), 2000)
    .option("--epochs <n>", "training epochs", whole(1, 100), 2)
    .option("--predict <n>", "notes to predict", whole(10, 1_000_000), 5000)
    .option("--hash-reps <n>", "hash repetitions per method", whole(3, 1000), 31)
    .option("--backend <name>", "TensorFlow.js backend")
    .parse(process.argv)
    .opts<{ notes: number; epochs: number; predict: number; hashReps: number; backend?: string }>();
  const backend = await initBackend(opts.backend);
  const spec = defaultSpec();
  const trainNotes = mixedNotes(opts.notes, 100);
  const genesis = createInitialModel(spec, 1);

  // Training: featurisation timed apart from the gradient steps; a warm-up run first (JIT, wasm).
  trainWeights(spec, readWeights(genesis, spec), buildDataset(trainNotes.slice(0, 64), spec), 1, {
    ...spec.training,
    epochs: 1,
  });
  const rssBefore = process.memoryUsage().rss;
  let featStart = performance.now();
  const data = buildDataset(trainNotes, spec);
  const featSeconds = (performance.now() - featStart) / 1000;
  let heapPeak = process.memoryUsage().heapUsed;
  const trainStart = performance.now();
  trainWeights(spec, readWeights(genesis, spec), data, 1, { ...spec.training, epochs: opts.epochs }, () => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const idsPerNote =
    data.features.reduce((a, units) => a + units.reduce((b, u) => b + u.length, 0), 0) / data.features.length;

  // The full public path once more (featurise + train + encode model and delta), for the end-to-end figure.
  featStart = performance.now();
  const trained = await trainLocal({ spec, base: genesis, notes: trainNotes, seed: 1, epochs: opts.epochs });
  const endToEndSeconds = (performance.now() - featStart) / 1000;
  const peakRss = process.resourceUsage().maxRSS * 1024;

  // Prediction.
  const predictInput = mixedNotes(opts.predict, 900).map((n) => ({ id: n.id, lang: n.lang, text: n.text }));
  const scorer = await Scorer.load(trained.model, spec);
  predictWithScorer(scorer, predictInput.slice(0, 200));
  let t = performance.now();
  predictWithScorer(scorer, predictInput);
  const predictSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  predictWithScorer(scorer, predictInput, { evidence: false });
  const predictNoEvidenceSeconds = (performance.now() - t) / 1000;
  scorer.dispose();

  // Hashing: interleaved repetitions over the same model bytes, medians.
  const bytes = trained.model;
  const ours: number[] = [];
  const validated: number[] = [];
  const plain: number[] = [];
  let sink = 0;
  for (let r = 0; r < opts.hashReps; r++) {
    let s = performance.now();
    sink += hashModelBytes(bytes).length;
    ours.push(performance.now() - s);
    s = performance.now();
    sink += createHash("sha256").update(bytes).digest("hex").length;
    plain.push(performance.now() - s);
    s = performance.now();
    readModelHeader(bytes);
    sink += hashModelBytes(bytes).length;
    validated.push(performance.now() - s);
  }
  const gbps = (ms: number) => Math.round((bytes.length / (ms / 1000) / 1e9) * 100) / 100;

  const report = {
    backend,
    threads: backend === "wasm" ? 1 : undefined,
    spec: {
      buckets: spec.features.buckets,
      dim: spec.dim,
      hidden: spec.hidden,
      unit: spec.unit,
      ...spec.training,
    },
    modelBytes: bytes.length,
    training: {
      notes: trainNotes.length,
      epochs: opts.epochs,
      featureIdsPerNote: Math.round(idsPerNote),
      featurizeNotesPerSecond: Math.round(trainNotes.length / featSeconds),
      examplesPerSecond: Math.round((trainNotes.length * opts.epochs) / trainSeconds),
      examplesPerSecondWithFeaturize: Math.round(
        (trainNotes.length * opts.epochs) / (trainSeconds + featSeconds),
      ),
      trainLocalSeconds: Math.round(endToEndSeconds * 100) / 100,
      target: 1000,
    },
    prediction: {
      notes: predictInput.length,
      notesPerSecond: Math.round(predictInput.length / predictSeconds),
      notesPerSecondWithoutEvidence: Math.round(predictInput.length / predictNoEvidenceSeconds),
      target: 5000,
    },
    hashing: {
      repetitions: opts.hashReps,
      medianMs: {
        hashModelBytes: median(ours),
        validateAndHash: median(validated),
        cryptoSha256: median(plain),
      },
      gbPerSecond: { hashModelBytes: gbps(median(ours)), cryptoSha256: gbps(median(plain)) },
      ratio: Math.round((median(plain) / median(ours)) * 1000) / 1000,
      ratioWithValidation: Math.round((median(plain) / median(validated)) * 1000) / 1000,
      target: 0.9,
    },
    memory: {
      rssBeforeTrainingMB: mb(rssBefore),
      peakRssMB: mb(peakRss),
      peakHeapUsedMB: mb(heapPeak),
      // The wasm backend's linear memory only grows, so its size is the peak of tensor memory.
      wasmHeapMB: backend === "wasm" ? mb(wasmHeapBytes()) : undefined,
    },
  };
  if (sink === 0) process.stderr.write("\n");
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
