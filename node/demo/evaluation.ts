/**
 * Scores the federated model next to two baselines: a local-only model per language (one site's notes only)
 * and a centralized model (every language's notes pooled, which federation exists to avoid). The baselines come
 * from the model package's helper (runBaselines), which trains on exactly the notes the demo's sites hold (the
 * demo generates them with the helper's seeds, see data.ts) and scores on the same held-out notes. Each
 * baseline gets the federation's training budget: rounds × local epochs passes over its notes.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { packageRoot } from "../chain";
import { FedledgerError } from "../errors";
import { runBaselines, type BaselineReport } from "../model/baselines";
import { evaluateModel } from "../model/evaluate";
import type { ModelSpec } from "../model/spec";
import type { Lang } from "../text/labels";
import type { DemoNote } from "./data";

/** Macro-F1 per language (null when the test set has no positive and no predicted label). */
export type LanguageF1 = Partial<Record<Lang, number | null>>;

/** The scores table of a demo run. */
export interface DemoScores {
  federated: LanguageF1;
  /** Absent when the baselines were skipped. */
  centralized?: LanguageF1;
  /** Per language: the local-only model of that language, on that language. */
  localOwn?: LanguageF1;
  /** Per language: mean of the other languages' local-only models, on that language. */
  localOther?: LanguageF1;
}

/**
 * Macro-F1 of a model on each language's test notes.
 *
 * @example
 * const f1 = await scoreByLanguage(bytes, spec, testSets); // { nb: 0.91, sv: 0.88, … }
 */
export async function scoreByLanguage(
  model: Uint8Array,
  spec: ModelSpec,
  testSets: ReadonlyMap<Lang, readonly DemoNote[]>,
): Promise<LanguageF1> {
  const notes = [...testSets.values()].flat();
  const metrics = await evaluateModel(model, spec, notes);
  const out: LanguageF1 = {};
  for (const lang of testSets.keys()) out[lang] = metrics.byLang[lang]?.macro.f1 ?? null;
  return out;
}

/** What {@link trainDemoBaselines} needs. */
export interface DemoBaselineParameters {
  /** The task's model spec; the baselines use it with `epochs` passes. */
  spec: ModelSpec;
  /** The run's languages in site order (the first site of each language holds the helper's notes). */
  languages: readonly Lang[];
  notesPerSite: number;
  testNotesPerLang: number;
  seed: number;
  /** Passes over the notes: rounds × local epochs of the federation. */
  epochs: number;
}

/**
 * Trains and scores the local-only and centralized baselines with the model package's helper.
 *
 * @example
 * const baselines = await trainDemoBaselines({ spec, languages: ["nb", "sv"], notesPerSite: 800,
 *   testNotesPerLang: 1000, seed: 1, epochs: 10 });
 */
export function trainDemoBaselines(p: DemoBaselineParameters): Promise<BaselineReport> {
  return runBaselines({
    langs: p.languages,
    trainPerLang: p.notesPerSite,
    testPerLang: p.testNotesPerLang,
    seed: p.seed,
    spec: { ...p.spec, training: { ...p.spec.training, epochs: p.epochs } },
    federatedRounds: 0,
  });
}

/** Baselines training in a worker thread. */
export interface BaselineJob {
  /** Resolves with the helper's report, or rejects with its error. */
  result: Promise<BaselineReport>;
  /** Stops the worker (when the demo ends early). */
  stop(): Promise<void>;
}

/**
 * Starts {@link trainDemoBaselines} in a worker thread (TypeScript loaded through tsx).
 *
 * @example
 * const job = startBaselineJob(params);
 * const report = await job.result;
 */
export function startBaselineJob(p: DemoBaselineParameters): BaselineJob {
  const root = packageRoot();
  const worker = new Worker(path.join(__dirname, "baselineWorker.ts"), {
    workerData: p,
    execArgv: ["--require", require.resolve("tsx/cjs", { paths: [root] })],
  });
  const result = new Promise<BaselineReport>((resolve, reject) => {
    worker.once("message", (m: { report?: BaselineReport; error?: string }) => {
      if (m.report) resolve(m.report);
      else reject(new FedledgerError(`training the baselines failed: ${m.error}`));
      void worker.terminate();
    });
    worker.once("error", (err) => reject(new FedledgerError(`the baselines worker failed: ${err.message}`)));
    worker.once("exit", (code) =>
      reject(new FedledgerError(`the baselines worker stopped (exit code ${code})`)),
    );
  });
  result.catch(() => undefined);
  return {
    result,
    stop: async () => {
      await worker.terminate();
    },
  };
}

function mean(values: readonly (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === "number");
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Scores the federated model and, when given, puts the baselines' scores next to it. */
export async function scoreDemo(
  federated: Uint8Array,
  baselines: BaselineReport | undefined,
  spec: ModelSpec,
  testSets: ReadonlyMap<Lang, readonly DemoNote[]>,
): Promise<DemoScores> {
  const scores: DemoScores = { federated: await scoreByLanguage(federated, spec, testSets) };
  if (!baselines) return scores;
  const model = (name: string) => baselines.models.find((m) => m.name === name);
  scores.centralized = {};
  scores.localOwn = {};
  scores.localOther = {};
  for (const lang of testSets.keys()) {
    scores.centralized[lang] = model("centralized")?.tests[lang]?.macroF1 ?? null;
    scores.localOwn[lang] = model(`local-${lang}`)?.tests[lang]?.macroF1 ?? null;
    const others = [...testSets.keys()].filter((l) => l !== lang);
    scores.localOther[lang] = mean(others.map((l) => model(`local-${l}`)?.tests[lang]?.macroF1));
  }
  return scores;
}
