/**
 * `npm run bench:privacy`: what an attacker learns about a site's notes from a 5-site, 5-round federated run,
 * without DP and with DP-SGD at ε ∈ {1, 2, 4, 8} (δ = 1e-5 per site over all rounds), next to the model's
 * per-language macro-F1. Prints a table (stdout), writes a chart (docs/figures/privacy.svg by default) and,
 * with --json, every figure; asserts nothing. Progress goes to stderr. docs/privacy.md ("Attacks",
 * "Utility under DP") describes the attacks and the figures.
 *
 * Setting: the five baseline sites (nb, sv, da, fi, et: one language each, generated notes), FedAvg (rule 1;
 * equal weights under DP) from one genesis model, the federated simulation of node/eval/federated.ts. The
 * attacked site is the first (nb). Under DP, σ for each ε is the smallest the accountant allows for
 * rounds × epochs × round(1/q) steps at rate q (sigmaForBudget).
 *
 * Attacks (node/privacy/attacks.ts scores them):
 * - vocabulary, on the site's round-1 update: each distinct word of 4+ letters is scored by the L2 norm of
 *   its unigram row in the update; members are the site's words, non-members the other sites' words the
 *   site never had. On the final model (change from genesis): members the site's words, non-members words
 *   of fresh notes that no site had. Reported: AUC, recall at FPR 1% and 0.2%, and max recall/FPR over
 *   thresholds with FPR ≥ 1% (target ≤ 2); also recall of the "non-zero row" rule, and AUC for the site's
 *   rare words (in exactly one of its notes).
 * - canary: per k ∈ {1, 5, 20}, `--canaries` made-up names each inserted into k notes of the site (one
 *   word in the note's longest sentence); each canary is ranked against its own 99 never-inserted decoys
 *   (100 candidates) by the mean row-change norm (final vs genesis) of the name's unigram and character
 *   5-grams. AUC is the mean over canaries of each canary's AUC against its decoys; TPR at 1% FPR is the
 *   share of canaries that beat all 99 of their decoys.
 *
 *   npm run bench:privacy -- [--notes 2000] [--test 300] [--rounds 5] [--epsilons 1,2,4,8] [--canaries 20]
 *                            [--q ..] [--clip ..] [--lr ..] [--optimizer adam] [--epochs ..] [--dim ..]
 *                            [--buckets ..] [--no-baseline] [--seed 1] [--json file] [--chart file]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { whole } from "./cliArgs";
import { localDelta, macroF1ByLang, runFederated, simAddress } from "../node/eval/federated";
import { getAggregationRule } from "../node/fl";
import { initBackend } from "../node/model/backend";
import { BASELINE_LANGS } from "../node/model/baselines";
import { buildDataset } from "../node/model/dataset";
import { dpStepsPerRun } from "../node/model/dp";
import { recommendedDpSettings } from "../node/model/dpDefaults";
import { createInitialModel, readWeights, TENSOR_NAMES } from "../node/model/params";
import { Prng } from "../node/model/prng";
import { defaultSpec, parseSpec, type ModelSpec } from "../node/model/spec";
import {
  auc,
  distinctWords,
  maxRecallOverFpr,
  ratesAbove,
  rowChangeNorms,
  termRowIds,
  tprAtFpr,
  type TermRows,
} from "../node/privacy/attacks";
import { computeEpsilon, sigmaForBudget } from "../node/privacy/rdp";
import { generateNotes, type Note } from "../node/text/corpus";
import { sentenceSpans } from "../node/text/features";
import type { Lang } from "../node/text/labels";

const KS = [1, 5, 20] as const;
const DECOYS = 99;

function positive(value: string): number {
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new InvalidArgumentError("expected a number > 0.");
  return x;
}

function epsilonList(value: string): number[] {
  const xs = value.split(",").map((v) => positive(v.trim()));
  if (xs.length === 0) throw new InvalidArgumentError("expected ε values separated by commas.");
  return xs;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const log = (line: string) => process.stderr.write(`bench:privacy: ${line}\n`);

/** Made-up names from rare syllables ("Zuvrakix"), none of them a word of the corpus (checked by the caller). */
function nameMaker(seed: number): () => string {
  const prng = new Prng(seed, "canary-names");
  const onset = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "kv", "tr", "zr", "x"];
  const vowel = ["a", "e", "i", "o", "u", "y"];
  const coda = ["", "", "x", "q", "zk", "vt", "rx"];
  const pick = (xs: readonly string[]) => xs[prng.nextInt(xs.length)];
  return () => {
    let s = "";
    for (let i = 0; i < 3; i++) s += pick(onset) + pick(vowel);
    s += pick(coda);
    return s[0].toUpperCase() + s.slice(1);
  };
}

/** The text with `name` inserted after the first word of its longest sentence. */
function insertName(text: string, name: string): string {
  const spans = sentenceSpans(text);
  if (spans.length === 0) return `${name}. ${text}`;
  const longest = spans.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  const space = text.indexOf(" ", longest.start);
  const at = space >= 0 && space < longest.end ? space : longest.end;
  return `${text.slice(0, at)} ${name}${text.slice(at)}`;
}

interface Canary {
  name: string;
  k: number;
  decoys: string[];
}

interface Settings {
  q: number;
  clip: number;
  lr: number;
  optimizer: "adam" | "sgd";
  epochs: number;
  dim: number;
  buckets: number;
}

interface Row {
  setting: string;
  epsilon: number | null;
  sigma: number | null;
  steps: number | null;
  vocabUpdate: {
    auc: number;
    recallAt1pct: number;
    recallAt02pct: number;
    maxRatio: number;
    maxRatioAt: { fpr: number; recall: number };
    nonZero: { recall: number; fpr: number };
    variant: string;
    rareAuc: number;
    rareVariant: string;
  };
  vocabFinal: { auc: number; recallAt1pct: number; maxRatio: number; variant: string };
  canary: Record<string, { auc: number; tprAt1pct: number; variant: string }>;
  macroF1: Record<string, number>;
  seconds: number;
}

/** How a word or name is scored: which of its rows, pooled how (row-change L2 norms). */
const VARIANTS: readonly { name: string; rows: TermRows; pool: (norms: number[]) => number }[] = [
  { name: "unigram row", rows: "unigram", pool: (x) => x[0] },
  { name: "mean over unigram and 5-gram rows", rows: "longest-grams", pool: (x) => mean(x) },
  { name: "mean over all its rows", rows: "all-grams", pool: (x) => mean(x) },
  { name: "min over all its rows", rows: "all-grams", pool: (x) => Math.min(...x) },
];

async function main(): Promise<void> {
  const rec = recommendedDpSettings();
  const opts = new Command("bench-privacy")
    .option("--notes <n>", "training notes per site", whole(50, 200_000), rec.notesPerSite)
    .option("--test <n>", "test notes per language", whole(20, 100_000), 300)
    .option("--rounds <n>", "federated rounds", whole(1, 50), 5)
    .option("--epsilons <list>", "ε per site over all rounds, comma-separated", epsilonList, [1, 2, 4, 8])
    .option("--delta <δ>", "δ per site", positive, 1e-5)
    .option("--canaries <n>", "canaries per k", whole(1, 200), 20)
    .option("--q <rate>", "DP Poisson sampling rate", positive, rec.sampleRate)
    .option("--clip <C>", "DP per-note clip norm", positive, rec.clipNorm)
    .option("--lr <rate>", "DP learning rate", positive, rec.lr)
    .option("--optimizer <name>", "DP optimizer: adam or sgd", rec.optimizer)
    .option("--epochs <n>", "DP local epochs per round", whole(1, 100), rec.epochs)
    .option("--dim <n>", "DP model embedding width", whole(1, 1024), rec.dim)
    .option("--buckets <n>", "DP model hash buckets (power of two)", whole(2, 1 << 24), rec.buckets)
    .option("--no-baseline", "skip the run without DP")
    .option("--seed <n>", "seed of data, names and weights", whole(0, 1_000_000), 1)
    .option("--json <file>", "also write every figure as JSON")
    .option("--chart <file>", "SVG chart to write ('' for none)", "docs/figures/privacy.svg")
    .parse()
    .opts<
      Settings & {
        notes: number;
        test: number;
        rounds: number;
        epsilons: number[];
        delta: number;
        canaries: number;
        baseline: boolean;
        seed: number;
        json?: string;
        chart: string;
      }
    >();
  const started = Date.now();
  const backend = await initBackend();
  const { seed, rounds } = opts;
  const attacked = 0;

  // Notes, canaries inserted into the attacked site's notes.
  const train = BASELINE_LANGS.map((lang, i) =>
    generateNotes({ lang, n: opts.notes, seed: seed * 1000 + 2 * i }),
  );
  const tests = BASELINE_LANGS.map((lang, i) => ({
    lang,
    notes: generateNotes({ lang, n: opts.test, seed: seed * 1000 + 2 * i + 1 }),
  }));
  const fresh = BASELINE_LANGS.flatMap((lang, i) =>
    generateNotes({ lang, n: 500, seed: seed * 1000 + 500 + i }),
  );
  const siteWordsOf = train.map((notes) => distinctWords(notes.map((n) => n.text)));
  const corpusWords = new Set([
    ...siteWordsOf.flat().flatMap((s) => [...s]),
    ...distinctWords(fresh.map((n) => n.text)),
  ]);
  const makeName = nameMaker(seed);
  const used = new Set<string>();
  const freshName = (): string => {
    for (;;) {
      const name = makeName();
      const lower = name.toLowerCase();
      if (!used.has(lower) && !corpusWords.has(lower)) {
        used.add(lower);
        return name;
      }
    }
  };
  const canaries: Canary[] = KS.flatMap((k) =>
    Array.from({ length: opts.canaries }, () => ({
      name: freshName(),
      k,
      decoys: Array.from({ length: DECOYS }, freshName),
    })),
  );
  const needed = canaries.reduce((n, c) => n + c.k, 0);
  if (needed > opts.notes) throw new Error(`${needed} canary notes do not fit in ${opts.notes} notes`);
  const order = new Prng(seed, "canary-notes").shuffle(Array.from({ length: opts.notes }, (_, i) => i));
  const siteNotes: Note[] = [...train[attacked]];
  let next = 0;
  for (const c of canaries) {
    for (let j = 0; j < c.k; j++) {
      const idx = order[next++];
      siteNotes[idx] = { ...siteNotes[idx], text: insertName(siteNotes[idx].text, c.name) };
    }
  }
  train[attacked] = siteNotes;

  // Word sets of the vocabulary attack.
  const lang0: Lang = BASELINE_LANGS[attacked];
  const members = [...distinctWords(siteNotes.map((n) => n.text))].filter(
    (w) => !used.has(w), // the canaries are scored separately
  );
  const memberSet = new Set(members);
  const noteCount = new Map<string, number>();
  for (const n of siteNotes)
    for (const w of distinctWords([n.text])) noteCount.set(w, (noteCount.get(w) ?? 0) + 1);
  const rare = members.filter((w) => noteCount.get(w) === 1);
  const otherWords = [
    ...new Set(
      siteWordsOf.flatMap((s, i) => (i === attacked ? [] : [...s].filter((w) => !memberSet.has(w)))),
    ),
  ];
  const everSeen = new Set(train.flatMap((notes) => [...distinctWords(notes.map((n) => n.text))]));
  const unseenWords = [...distinctWords(fresh.map((n) => n.text))].filter((w) => !everSeen.has(w));
  log(
    `${BASELINE_LANGS.length} sites × ${opts.notes} notes, ${rounds} rounds, backend ${backend}; attacked site ${lang0}: ` +
      `${members.length} words (${rare.length} in one note), ${otherWords.length} other sites' words, ` +
      `${unseenWords.length} unseen words, ${canaries.length} canaries × ${DECOYS} decoys`,
  );

  const rule = getAggregationRule(1);
  const runs: Row[] = [];
  const configs: { epsilon: number | null }[] = [
    ...(opts.baseline ? [{ epsilon: null }] : []),
    ...opts.epsilons.map((epsilon) => ({ epsilon })),
  ];
  for (const { epsilon } of configs) {
    const t0 = Date.now();
    let spec: ModelSpec = defaultSpec();
    let sigma: number | null = null;
    let steps: number | null = null;
    if (epsilon !== null) {
      const base = defaultSpec();
      const probe = parseSpec({
        ...base,
        dim: opts.dim,
        features: { ...base.features, buckets: opts.buckets },
        training: {
          ...base.training,
          optimizer: opts.optimizer,
          lr: opts.lr,
          epochs: opts.epochs,
          dp: {
            clipNorm: opts.clip,
            noiseMultiplier: 1,
            sampleRate: opts.q,
            delta: opts.delta,
            epsilonBudget: epsilon,
            noise: "csprng",
          },
        },
      });
      steps = rounds * dpStepsPerRun(probe);
      sigma = sigmaForBudget({ q: opts.q, steps, delta: opts.delta, epsilon });
      const dp = probe.training.dp as NonNullable<ModelSpec["training"]["dp"]>;
      spec = parseSpec({ ...probe, training: { ...probe.training, dp: { ...dp, noiseMultiplier: sigma } } });
      const check = computeEpsilon({ q: opts.q, sigma, steps, delta: opts.delta }).epsilon;
      log(`ε ${epsilon}: σ ${sigma.toFixed(3)} for ${steps} steps at q ${opts.q} (ε ${check.toFixed(3)})`);
    }
    const label = epsilon === null ? "no DP" : `ε = ${epsilon}`;
    const datasets = train.map((notes) => buildDataset(notes, spec));
    const genesis = createInitialModel(spec, seed);
    const genesisTable = readWeights(genesis, spec).get(TENSOR_NAMES.table) as Float32Array;
    let update: Float32Array | undefined;
    const final = await runFederated({
      spec,
      genesis,
      rounds,
      rule,
      sites: datasets.map((data, i) => ({
        address: simAddress(i),
        numSamples: epsilon === null ? opts.notes : 1,
        update: (base, r) => localDelta(spec, base, data, seed + 7919 * r + i),
      })),
      onUpdate: (r, i, delta) => {
        if (r === 1 && i === attacked)
          update = Float32Array.from(delta.get(TENSOR_NAMES.table) as Float32Array);
      },
      onRound: (r) => log(`  ${label}: round ${r}/${rounds} (${((Date.now() - t0) / 1000).toFixed(0)} s)`),
    });
    const finalTable = readWeights(final, spec).get(TENSOR_NAMES.table) as Float32Array;
    const zeros = new Float32Array(finalTable.length);
    const u = update as Float32Array;
    // Every scoring variant; each figure reports the variant strongest for it (by AUC).
    const scorers = VARIANTS.map((v) => {
      const cache = new Map<string, number[]>();
      const rowsOf = (w: string) => {
        let ids = cache.get(w);
        if (!ids) cache.set(w, (ids = termRowIds(w, lang0, spec.features, v.rows)));
        return ids;
      };
      return {
        name: v.name,
        score: (table: Float32Array, before: Float32Array, words: readonly string[]) =>
          words.map((w) => v.pool(rowChangeNorms(table, before, spec.dim, rowsOf(w.toLowerCase())))),
      };
    });
    const strongest = <T extends { auc: number }>(make: (sc: (typeof scorers)[number]) => T) =>
      scorers.map((sc) => ({ ...make(sc), variant: sc.name })).reduce((a, b) => (b.auc > a.auc ? b : a));
    const vocabUpdate = strongest((sc) => {
      const pos = sc.score(u, zeros, members);
      const neg = sc.score(u, zeros, otherWords);
      const ratio = maxRecallOverFpr(pos, neg, 0.01);
      const nz = ratesAbove(pos, neg, 0);
      return {
        auc: r3(auc(pos, neg)),
        recallAt1pct: r3(tprAtFpr(pos, neg, 0.01)),
        recallAt02pct: r3(tprAtFpr(pos, neg, 0.002)),
        maxRatio: r3(ratio.ratio),
        maxRatioAt: { fpr: r3(ratio.fpr), recall: r3(ratio.recall) },
        nonZero: { recall: r3(nz.recall), fpr: r3(nz.fpr) },
      };
    });
    const rareAuc = strongest((sc) => ({
      auc: r3(auc(sc.score(u, zeros, rare), sc.score(u, zeros, otherWords))),
    }));
    const vocabFinal = strongest((sc) => {
      const pos = sc.score(finalTable, genesisTable, members);
      const neg = sc.score(finalTable, genesisTable, unseenWords);
      return {
        auc: r3(auc(pos, neg)),
        recallAt1pct: r3(tprAtFpr(pos, neg, 0.01)),
        maxRatio: r3(maxRecallOverFpr(pos, neg, 0.01).ratio),
      };
    });
    const canary: Row["canary"] = {};
    for (const k of KS) {
      canary[`k=${k}`] = strongest((sc) => {
        const aucs: number[] = [];
        const hits: number[] = [];
        for (const c of canaries.filter((x) => x.k === k)) {
          const p = sc.score(finalTable, genesisTable, [c.name]);
          const n = sc.score(finalTable, genesisTable, c.decoys);
          aucs.push(auc(p, n));
          hits.push(tprAtFpr(p, n, 0.01));
        }
        return { auc: r3(mean(aucs)), tprAt1pct: r3(mean(hits)) };
      });
    }
    const macroF1 = await macroF1ByLang(final, spec, tests);
    const row: Row = {
      setting: label,
      epsilon,
      sigma: sigma === null ? null : r3(sigma),
      steps,
      vocabUpdate: { ...vocabUpdate, rareAuc: rareAuc.auc, rareVariant: rareAuc.variant },
      vocabFinal,
      canary,
      macroF1: Object.fromEntries(Object.entries(macroF1).map(([l, v]) => [l, r3(v)])),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    runs.push(row);
    log(
      `  ${label}: vocab AUC ${row.vocabUpdate.auc}, canary AUC ${KS.map((k) => canary[`k=${k}`].auc).join("/")}, ` +
        `mean macro-F1 ${r3(mean(Object.values(macroF1)))} (${row.seconds} s)`,
    );
  }

  const settings = {
    notesPerSite: opts.notes,
    testPerLang: opts.test,
    rounds,
    delta: opts.delta,
    canariesPerK: opts.canaries,
    decoysPerCanary: DECOYS,
    dp: {
      q: opts.q,
      clip: opts.clip,
      lr: opts.lr,
      optimizer: opts.optimizer,
      epochs: opts.epochs,
      dim: opts.dim,
      buckets: opts.buckets,
    },
  };
  process.stdout.write(`${formatTable(runs)}\n`);
  if (opts.chart) {
    await mkdir(dirname(opts.chart), { recursive: true });
    await writeFile(opts.chart, await renderChart(runs, settings));
    process.stdout.write(`chart: ${opts.chart}\n`);
  }
  if (opts.json) await writeFile(opts.json, `${JSON.stringify({ backend, settings, runs }, null, 2)}\n`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** The figures as a Markdown table; macro-F1 per language with its ratio to the run without DP. */
function formatTable(runs: readonly Row[]): string {
  const plain = runs.find((r) => r.epsilon === null);
  const header = [
    "setting",
    "σ",
    "vocab AUC",
    "recall@1%FPR",
    "max recall/FPR",
    "rare AUC",
    "final vocab AUC",
    ...KS.map((k) => `canary k=${k} AUC / TPR@1%`),
    ...BASELINE_LANGS,
  ];
  const rows = runs.map((r) => [
    r.setting,
    r.sigma === null ? "" : r.sigma.toFixed(3),
    r.vocabUpdate.auc.toFixed(3),
    r.vocabUpdate.recallAt1pct.toFixed(3),
    r.vocabUpdate.maxRatio.toFixed(2),
    r.vocabUpdate.rareAuc.toFixed(3),
    r.vocabFinal.auc.toFixed(3),
    ...KS.map((k) => `${r.canary[`k=${k}`].auc.toFixed(3)} / ${r.canary[`k=${k}`].tprAt1pct.toFixed(2)}`),
    ...BASELINE_LANGS.map((l) => {
      const v = r.macroF1[l];
      return plain && r !== plain ? `${v.toFixed(3)} (${(v / plain.macroF1[l]).toFixed(2)}×)` : v.toFixed(3);
    }),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  const extra = plain
    ? `\nno DP, non-zero-row rule on the update: recall ${plain.vocabUpdate.nonZero.recall}, FPR ${plain.vocabUpdate.nonZero.fpr}`
    : "";
  return (
    [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n") +
    extra
  );
}

/** A vega-lite line chart (rendered headless to SVG by vega) of the attack figures and the utility ratio. */
async function renderChart(
  runs: readonly Row[],
  settings: { notesPerSite: number; rounds: number },
): Promise<string> {
  const vega = await import("vega");
  // vega-lite's types need moduleResolution node16/bundler; the project compiles with node10, so it is typed here.
  const vegaLite: string = "vega-lite";
  const vl = (await import(vegaLite)) as { compile(spec: unknown): { spec: import("vega").Spec } };
  const plain = runs.find((r) => r.epsilon === null);
  const values = runs.flatMap((r) => {
    const out = [
      { setting: r.setting, metric: "vocabulary AUC (update)", value: r.vocabUpdate.auc },
      { setting: r.setting, metric: "vocabulary recall @ 1% FPR", value: r.vocabUpdate.recallAt1pct },
      ...KS.map((k) => ({
        setting: r.setting,
        metric: `canary AUC, k = ${k}`,
        value: r.canary[`k=${k}`].auc,
      })),
    ];
    if (plain) {
      const ratios = BASELINE_LANGS.map((l) => r.macroF1[l] / plain.macroF1[l]);
      out.push({ setting: r.setting, metric: "lowest macro-F1 / no DP", value: r3(Math.min(...ratios)) });
    }
    return out;
  });
  const order = runs.map((r) => r.setting);
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Attacks on a site and model utility, 5 sites, DP-SGD per site",
      subtitle: `${settings.notesPerSite} notes per site, ${settings.rounds} rounds, δ = 1e-5 per site; targets: canary AUC ≤ 0.6, macro-F1 ratio ≥ 0.9`,
    },
    width: 520,
    height: 300,
    data: { values },
    layer: [
      {
        mark: { type: "line", point: true },
        encoding: {
          x: {
            field: "setting",
            type: "ordinal",
            sort: order,
            title: "privacy budget per site",
            axis: { labelAngle: 0 },
          },
          y: { field: "value", type: "quantitative", scale: { domain: [0, 1.05] }, title: "" },
          color: {
            field: "metric",
            type: "nominal",
            title: null,
            legend: { orient: "right", labelLimit: 240 },
          },
        },
      },
      {
        data: { values: [{ y: 0.6 }, { y: 0.9 }, { y: 0.5 }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "#999" },
        encoding: { y: { field: "y", type: "quantitative" } },
      },
    ],
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:privacy failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
