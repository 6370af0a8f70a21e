/**
 * `npm run bench:dp`: DP-SGD against ordinary training of the same notes, side by side in one run.
 * Prints JSON (times, their ratio, macro-F1 of both on held-out notes, and ε per round when the privacy
 * accountant is available); asserts nothing. Target: DP training ≤ 3× the time of non-DP training.
 *
 * Notes: the demo's recipe for the first Norwegian site (generateNotes with the nb site profile, training
 * seed 1000, test seed 1001). Both runs start from the same genesis model with the default spec and train
 * on the same featurised notes (featurisation is not timed); repetitions (training seeds 1, 2, …) alternate
 * the two, and times and macro-F1 are medians (macro-F1 per repetition listed too). `--rounds R` chains R local runs (each from the previous one's weights, as one site alone
 * would over R federated rounds) and reports the time of all R and the macro-F1 after the last; ε is then
 * for the R runs together.
 *
 *   npm run bench:dp -- [--notes 800] [--test 1000] [--sigma 1] [--clip 0.2] [--q 0.25] [--lr 0.03]
 *                       [--optimizer adam] [--rounds 1] [--reps 3] [--backend wasm]
 */
import { Command, InvalidArgumentError } from "commander";
import { whole } from "./cliArgs";
import { createInitialModel, defaultSpec, evaluateModel, initBackend } from "../node/model";
import { buildDataset } from "../node/model/dataset";
import { dpPlan } from "../node/model/dp";
import { readWeights, writeWeights } from "../node/model/params";
import { parseSpec, type ModelSpec } from "../node/model/spec";
import { trainWeights } from "../node/model/train";
import { generateNotes, SITE_PROFILES } from "../node/text/corpus";
import { median } from "./stats";

function positive(value: string): number {
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError("expected a number > 0.");
  return x;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** ε from node/privacy/rdp.ts when it is there and loads; undefined otherwise. */
async function epsilonPerRound(
  q: number,
  sigma: number,
  steps: number,
  delta: number,
): Promise<number | undefined> {
  try {
    const rdp = (await import("../node/privacy/rdp")) as unknown as {
      computeEpsilon?: (p: { q: number; sigma: number; steps: number; delta: number }) => unknown;
    };
    const result = rdp.computeEpsilon?.({ q, sigma, steps, delta });
    if (typeof result === "number") return result;
    const eps = (result as { epsilon?: unknown } | undefined)?.epsilon;
    return typeof eps === "number" ? eps : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const opts = new Command("bench-dp")
    .option("--notes <n>", "training notes", whole(10, 1_000_000), 800)
    .option("--test <n>", "held-out test notes", whole(10, 1_000_000), 1000)
    .option("--sigma <σ>", "noise multiplier", positive, 1)
    .option("--clip <C>", "per-note clipping norm", positive, 0.2)
    .option("--q <rate>", "Poisson sampling rate", positive, 0.25)
    .option("--delta <δ>", "δ for the ε estimate", positive, 1e-5)
    .option("--lr <rate>", "learning rate of the DP run", positive, 0.03)
    .option("--optimizer <name>", "optimizer of the DP run: adam or sgd", "adam")
    .option("--rounds <n>", "chained local runs", whole(1, 100), 1)
    .option("--reps <n>", "repetitions of each run", whole(1, 100), 3)
    .option("--backend <name>", "TensorFlow.js backend")
    .parse(process.argv)
    .opts<{
      notes: number;
      test: number;
      sigma: number;
      clip: number;
      q: number;
      delta: number;
      lr: number;
      optimizer: string;
      rounds: number;
      reps: number;
      backend?: string;
    }>();
  const backend = await initBackend(opts.backend);
  const spec = defaultSpec();
  const dpSpec: ModelSpec = parseSpec({
    ...spec,
    training: {
      ...spec.training,
      optimizer: opts.optimizer,
      lr: opts.lr,
      dp: {
        clipNorm: opts.clip,
        noiseMultiplier: opts.sigma,
        sampleRate: opts.q,
        delta: opts.delta,
        epsilonBudget: 8,
        noise: "csprng",
      },
    },
  });
  const gen = (n: number, seed: number) => generateNotes({ lang: "nb", n, seed, profile: SITE_PROFILES.nb });
  const trainNotes = gen(opts.notes, 1000);
  const testNotes = gen(opts.test, 1001);
  const data = buildDataset(trainNotes, spec);
  const genesis = readWeights(createInitialModel(spec, 1), spec);

  // Warm-up of both paths (JIT, wasm kernels) on a few notes.
  const warm = buildDataset(trainNotes.slice(0, 64), spec);
  trainWeights(spec, genesis, warm, 1, { ...spec.training, epochs: 1 });
  trainWeights(dpSpec, genesis, warm, 1, { ...dpSpec.training, epochs: 1 });

  const plainTimes: number[] = [];
  const dpTimes: number[] = [];
  const plainF1: number[] = [];
  const dpF1: number[] = [];
  const chain = (s: ModelSpec, seed: number) => {
    let w = genesis;
    for (let round = 0; round < opts.rounds; round++) {
      w = trainWeights(s, w, data, seed + 7919 * round, s.training).weights;
    }
    return w;
  };
  const f1 = async (s: ModelSpec, w: Map<string, Float32Array>) =>
    (await evaluateModel(writeWeights(w, s), s, testNotes)).macro.f1;
  for (let r = 0; r < opts.reps; r++) {
    let t = performance.now();
    const plain = chain(spec, 1 + r);
    plainTimes.push((performance.now() - t) / 1000);
    t = performance.now();
    const dp = chain(dpSpec, 1 + r);
    dpTimes.push((performance.now() - t) / 1000);
    plainF1.push(await f1(spec, plain));
    dpF1.push(await f1(dpSpec, dp));
  }
  const plan = dpPlan(dpSpec, trainNotes.length);
  const epsilon = await epsilonPerRound(plan.sampleRate, plan.noiseMultiplier, plan.steps, opts.delta);
  const epsilonAll =
    opts.rounds > 1
      ? await epsilonPerRound(plan.sampleRate, plan.noiseMultiplier, opts.rounds * plan.steps, opts.delta)
      : epsilon;
  const report = {
    backend,
    notes: { train: trainNotes.length, test: testNotes.length, lang: "nb" },
    nonDp: {
      training: spec.training,
      steps: spec.training.epochs * Math.ceil(trainNotes.length / spec.training.batchSize),
      seconds: round(median(plainTimes)),
      macroF1: round(median(plainF1)),
      macroF1PerRep: plainF1.map((x) => round(x)),
    },
    dp: {
      training: dpSpec.training,
      plan,
      seconds: round(median(dpTimes)),
      macroF1: round(median(dpF1)),
      macroF1PerRep: dpF1.map((x) => round(x)),
      epsilonPerRound: epsilon === undefined ? null : round(epsilon, 2),
      epsilonAllRounds: epsilonAll === undefined ? null : round(epsilonAll, 2),
      delta: opts.delta,
    },
    rounds: opts.rounds,
    ratio: round(median(dpTimes) / median(plainTimes), 2),
    target: 3,
    repetitions: opts.reps,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
