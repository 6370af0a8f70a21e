/**
 * Baselines on the synthetic corpus: what each site reaches alone, what a centralized model on the pooled
 * notes reaches, and what federated averaging reaches without pooling. The demo and scripts/baseline.ts
 * print the same figures.
 *
 * Per language: a training set and a test set from the text pipeline's generator with fixed seeds and the
 * site's default profile. Models: one local-only model per language, one centralized model on all
 * training sets, and (optionally) FedAvg: every round each site trains from the global model on its own
 * notes, and the new global model is parent + Σ nᵢ·Δᵢ / Σ nᵢ per weight in float64, rounded to float32 once.
 * Each model is scored on every language's test set: macro-F1, implant recall, and the share of hard
 * negatives predicted negative (mentions that are negated, about family, planned or removed, whose
 * category the patient does not carry, for which the model does not predict the category).
 */
import type { Label, Lang } from "../text/labels";
import { generateNotes, type Note } from "../text/corpus";
import { initBackend } from "./backend";
import { buildDataset, concatDatasets, type Dataset } from "./dataset";
import { predictLabels } from "./evaluate";
import { computeMetrics } from "./metrics";
import { createInitialModel, readWeights, writeWeights } from "./params";
import { Scorer } from "./scorer";
import { defaultSpec, specHash, type ModelSpec } from "./spec";
import { subtractWeights, trainWeights } from "./train";

/** Languages of the five default sites. */
export const BASELINE_LANGS: readonly Lang[] = ["nb", "sv", "da", "fi", "et"];

/** Mention kinds counted as hard negatives. */
export const HARD_NEGATIVE_KINDS = ["negated", "family", "planned", "removed"] as const;

/** Options of {@link runBaselines}. */
export interface BaselineOptions {
  langs?: readonly Lang[];
  /** Training notes per language (default 2,000). */
  trainPerLang?: number;
  /** Test notes per language (default 1,000). */
  testPerLang?: number;
  /** Seed of data generation, initial weights and batch order (default 1). */
  seed?: number;
  /** Model spec (default {@link defaultSpec}). */
  spec?: ModelSpec;
  /** FedAvg rounds to simulate; 0 skips federated training (default 5). */
  federatedRounds?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Scores of one model on one language's test set. */
export interface TestScore {
  macroF1: number;
  microF1: number;
  implantRecall: number | null;
  /** Hard negatives in the test set and the share predicted negative. */
  hardNegatives: number;
  hardNegativeShare: number | null;
}

/** One trained model and its scores. */
export interface BaselineModel {
  /** "local-<lang>", "centralized" or "fedavg". */
  name: string;
  trainedOn: Lang[];
  trainingNotes: number;
  seconds: number;
  /** Scores per test language. */
  tests: Partial<Record<Lang, TestScore>>;
  /** Mean macro-F1 over the test languages. */
  meanMacroF1: number;
  /** Hard-negative share over all test sets together. */
  hardNegativeShare: number | null;
}

/** Result of {@link runBaselines}. */
export interface BaselineReport {
  specHash: string;
  spec: ModelSpec;
  langs: Lang[];
  trainPerLang: number;
  testPerLang: number;
  seed: number;
  backend: string;
  federatedRounds: number;
  models: BaselineModel[];
}

function countHardNegatives(
  notes: readonly Note[],
  predicted: readonly Label[][],
): { total: number; ok: number } {
  const kinds = new Set<string>(HARD_NEGATIVE_KINDS);
  let total = 0;
  let ok = 0;
  notes.forEach((note, i) => {
    const seen = new Set<string>();
    for (const m of note.meta?.mentions ?? []) {
      if (!kinds.has(m.kind) || note.labels.includes(m.label) || seen.has(m.label)) continue;
      seen.add(m.label);
      total++;
      if (!predicted[i].includes(m.label)) ok++;
    }
  });
  return { total, ok };
}

interface LangData {
  lang: Lang;
  train: Note[];
  test: Note[];
  trainSet: Dataset;
  testSet: Dataset;
}

/** Float64 weighted mean of deltas added to the parent, rounded to float32 once per weight. */
function fedAvg(
  parent: Map<string, Float32Array>,
  updates: readonly { delta: Map<string, Float32Array>; n: number }[],
): Map<string, Float32Array> {
  const total = updates.reduce((s, u) => s + u.n, 0);
  const out = new Map<string, Float32Array>();
  for (const [name, p] of parent) {
    const acc = new Float64Array(p.length);
    for (const u of updates) {
      const d = u.delta.get(name) as Float32Array;
      for (let i = 0; i < acc.length; i++) acc[i] += u.n * d[i];
    }
    const next = new Float32Array(p.length);
    for (let i = 0; i < acc.length; i++) next[i] = p[i] + acc[i] / total;
    out.set(name, next);
  }
  return out;
}

async function scoreModel(
  name: string,
  trainedOn: Lang[],
  trainingNotes: number,
  seconds: number,
  weights: Map<string, Float32Array>,
  spec: ModelSpec,
  data: readonly LangData[],
): Promise<BaselineModel> {
  const scorer = await Scorer.load(writeWeights(weights, spec), spec);
  const tests: Partial<Record<Lang, TestScore>> = {};
  let hardTotal = 0;
  let hardOk = 0;
  try {
    for (const d of data) {
      const predicted = predictLabels(scorer, d.test);
      const m = computeMetrics(
        d.test.map((n, i) => ({ lang: n.lang, gold: n.labels, predicted: predicted[i] })),
        spec.labels,
      );
      const hard = countHardNegatives(d.test, predicted);
      hardTotal += hard.total;
      hardOk += hard.ok;
      tests[d.lang] = {
        macroF1: m.macro.f1,
        microF1: m.micro.f1,
        implantRecall: m.implant.recall,
        hardNegatives: hard.total,
        hardNegativeShare: hard.total > 0 ? hard.ok / hard.total : null,
      };
    }
  } finally {
    scorer.dispose();
  }
  const f1s = data.map((d) => (tests[d.lang] as TestScore).macroF1);
  return {
    name,
    trainedOn,
    trainingNotes,
    seconds,
    tests,
    meanMacroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length,
    hardNegativeShare: hardTotal > 0 ? hardOk / hardTotal : null,
  };
}

/**
 * Generates the per-language data sets, trains the local-only, centralized and FedAvg models, and scores
 * each on every language's test set.
 * @example const report = await runBaselines({ trainPerLang: 500, federatedRounds: 0 });
 */
export async function runBaselines(options: BaselineOptions = {}): Promise<BaselineReport> {
  const langs = [...(options.langs ?? BASELINE_LANGS)];
  const trainPerLang = options.trainPerLang ?? 2000;
  const testPerLang = options.testPerLang ?? 1000;
  const seed = options.seed ?? 1;
  const spec = options.spec ?? defaultSpec();
  const rounds = options.federatedRounds ?? 5;
  const log = options.log ?? (() => undefined);
  const backend = await initBackend();

  const data: LangData[] = langs.map((lang, i) => {
    const train = generateNotes({ lang, n: trainPerLang, seed: seed * 1000 + 2 * i });
    const test = generateNotes({ lang, n: testPerLang, seed: seed * 1000 + 2 * i + 1 });
    return { lang, train, test, trainSet: buildDataset(train, spec), testSet: buildDataset(test, spec) };
  });
  log(`generated ${trainPerLang} training and ${testPerLang} test notes per language (${langs.join(", ")})`);
  const genesis = readWeights(createInitialModel(spec, seed), spec);
  const models: BaselineModel[] = [];
  const timed = (f: () => Map<string, Float32Array>): [Map<string, Float32Array>, number] => {
    const started = Date.now();
    const w = f();
    return [w, (Date.now() - started) / 1000];
  };

  for (const d of data) {
    const [w, s] = timed(() => trainWeights(spec, genesis, d.trainSet, seed, spec.training).weights);
    models.push(await scoreModel(`local-${d.lang}`, [d.lang], d.train.length, s, w, spec, data));
    log(
      `local-${d.lang}: mean macro-F1 ${models[models.length - 1].meanMacroF1.toFixed(3)} (${s.toFixed(1)} s)`,
    );
  }

  const pooled = concatDatasets(data.map((d) => d.trainSet));
  const [central, cs] = timed(() => trainWeights(spec, genesis, pooled, seed, spec.training).weights);
  models.push(await scoreModel("centralized", langs, pooled.features.length, cs, central, spec, data));
  log(`centralized: mean macro-F1 ${models[models.length - 1].meanMacroF1.toFixed(3)} (${cs.toFixed(1)} s)`);

  if (rounds > 0) {
    const [global, fs] = timed(() => {
      let g = genesis;
      for (let r = 1; r <= rounds; r++) {
        const updates = data.map((d, i) => {
          const local = trainWeights(spec, g, d.trainSet, seed + 7919 * r + i, spec.training).weights;
          return { delta: subtractWeights(local, g), n: d.train.length };
        });
        g = fedAvg(g, updates);
      }
      return g;
    });
    models.push(await scoreModel("fedavg", langs, pooled.features.length, fs, global, spec, data));
    log(
      `fedavg (${rounds} rounds): mean macro-F1 ${models[models.length - 1].meanMacroF1.toFixed(3)} (${fs.toFixed(1)} s)`,
    );
  }

  return {
    specHash: specHash(spec),
    spec,
    langs,
    trainPerLang,
    testPerLang,
    seed,
    backend,
    federatedRounds: rounds,
    models,
  };
}

/** The report as a text table: macro-F1 per model and test language, mean, hard-negative share. */
export function formatBaselines(report: BaselineReport): string {
  const head = `${"model".padEnd(12)}${report.langs.map((l) => l.padStart(7)).join("")}   mean  hard-neg  seconds`;
  const rows = report.models.map((m) => {
    const cells = report.langs.map((l) => (m.tests[l]?.macroF1 ?? 0).toFixed(3).padStart(7)).join("");
    const hard = m.hardNegativeShare === null ? "-" : m.hardNegativeShare.toFixed(3);
    return `${m.name.padEnd(12)}${cells} ${m.meanMacroF1.toFixed(3).padStart(6)} ${hard.padStart(9)} ${m.seconds.toFixed(1).padStart(8)}`;
  });
  return [
    `macro-F1 per test language (rows: model, columns: test set); ${report.trainPerLang} training and ` +
      `${report.testPerLang} test notes per language; spec ${report.specHash.slice(0, 18)}…; backend ${report.backend}`,
    head,
    ...rows,
  ].join("\n");
}
