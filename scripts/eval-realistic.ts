/**
 * `npm run eval:realistic`: how the model does on notes it was not written for.
 *
 * Trains the README's way (generated notes per language, the default spec), then prints per language,
 * for the model and for keyword search on the same notes: implant precision/recall/F1, category micro-F1,
 * ADR precision/recall/F1 and the share of hard negatives right, on
 *   - the realistic dev set (test/realistic/dev, hand-written apart from the generator),
 *   - the realistic holdout set (test/realistic/holdout, never used for tuning),
 *   - the generator's held-out template split (a model trained on the "train" split),
 *   - generated notes in the generator's own style (short sentences; should not drop),
 * and the simulated federated model of the demo's recipe on the realistic sets. Then the targets.
 *
 *   npm run eval:realistic -- [--train-per-lang 2000] [--seed 1] [--rounds 5] [--site-notes 800]
 *                             [--no-federated] [--show-errors] [--json file]
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { whole } from "./cliArgs";
import {
  compareOnSet,
  EVAL_LANGS,
  modelLabels,
  trainCentral,
  trainFederated,
  trainPooledSites,
  type SetComparison,
} from "../node/eval/realistic";
import type { EvalScores, Prf } from "../node/eval/score";
import { initBackend } from "../node/model/backend";
import { defaultSpec, type ModelSpec } from "../node/model/spec";
import { loadNotes } from "../node/text/loader";
import type { Note } from "../node/text/note";
import { generateNotes } from "../node/text/synth/generate";

const f = (x: number | null): string => (x === null ? "  -  " : x.toFixed(3));
const prf = (p: Prf): string => `${f(p.precision)} ${f(p.recall)} ${f(p.f1)}`;

function row(label: string, s: EvalScores): string {
  return (
    `${label.padEnd(9)}${String(s.notes).padStart(5)}  ${prf(s.implant)}  ${f(s.categories.f1)}  ${prf(s.adr)}  ` +
    `${f(s.hardNegatives.share)} (${s.hardNegatives.right}/${s.hardNegatives.total})`
  );
}

function table(c: SetComparison): string {
  const head = `${"".padEnd(9)}notes  implant P     R     F1     cat-µF1  ADR P     R     F1     hard-neg right`;
  const lines = [`\n== ${c.name} ==`, head];
  for (const [who, b] of [
    ["model", c.model],
    ["keyword", c.keyword],
  ] as const) {
    for (const lang of EVAL_LANGS) {
      const s = b.byLang[lang];
      if (s) lines.push(row(`${who === "model" ? "" : "kw "}${lang}`, s));
    }
    lines.push(row(who === "model" ? "ALL" : "kw ALL", b.all));
  }
  return lines.join("\n");
}

interface Target {
  what: string;
  value: string;
  ok: boolean;
}

/** The targets on one comparison: thresholds and "better than keyword search" on each measure. */
function targets(c: SetComparison): Target[] {
  const m = c.model.all;
  const k = c.keyword.all;
  const v = (x: number | null) => x ?? 0;
  const out: Target[] = [
    { what: "implant recall ≥ 0.97", value: f(m.implant.recall), ok: v(m.implant.recall) >= 0.97 },
    { what: "implant F1 ≥ 0.95", value: f(m.implant.f1), ok: v(m.implant.f1) >= 0.95 },
    { what: "category micro-F1 ≥ 0.90", value: f(m.categories.f1), ok: v(m.categories.f1) >= 0.9 },
    { what: "ADR F1 ≥ 0.85", value: f(m.adr.f1), ok: v(m.adr.f1) >= 0.85 },
    {
      what: "hard negatives right ≥ 0.95",
      value: f(m.hardNegatives.share),
      ok: v(m.hardNegatives.share) >= 0.95,
    },
  ];
  const better: [string, number | null, number | null][] = [
    ["implant recall", m.implant.recall, k.implant.recall],
    ["implant F1", m.implant.f1, k.implant.f1],
    ["category micro-F1", m.categories.f1, k.categories.f1],
    ["ADR F1", m.adr.f1, k.adr.f1],
    ["hard negatives right", m.hardNegatives.share, k.hardNegatives.share],
  ];
  for (const [what, a, b] of better)
    out.push({
      what: `${what} better than keyword search`,
      value: `${f(a)} vs ${f(b)}`,
      ok: v(a) > v(b) || v(a) === 1,
    });
  return out.map((t) => ({ ...t, what: `${c.name}: ${t.what}` }));
}

async function showErrors(
  name: string,
  bytes: Buffer,
  spec: ModelSpec,
  notes: readonly Note[],
): Promise<void> {
  const predicted = await modelLabels(bytes, spec, notes);
  console.log(`\n== errors on ${name} ==`);
  notes.forEach((n, i) => {
    const gold = new Set(n.labels);
    const pred = new Set(predicted[i]);
    const missed = [...gold].filter((l) => !pred.has(l));
    const extra = [...pred].filter((l) => !gold.has(l));
    if (missed.length + extra.length === 0) return;
    console.log(`${n.id}: missed [${missed.join(", ")}] extra [${extra.join(", ")}]`);
  });
}

async function main(): Promise<void> {
  const program = new Command()
    .name("eval:realistic")
    .option("--train-per-lang <n>", "generated training notes per language", whole(10, 100_000), 2000)
    .option("--seed <n>", "seed of generation and training", whole(0, 2 ** 31), 1)
    .option("--rounds <n>", "federated rounds", whole(1, 100), 5)
    .option("--site-notes <n>", "training notes per federated site", whole(10, 100_000), 800)
    .option("--no-federated", "skip the federated model")
    .option("--show-errors", "list the dev set notes each model gets wrong (never the holdout set)")
    .option("--json <file>", "write the full report as JSON")
    .option("--lexicon-weight <n>", "the spec's lexicon weight (experiments)", whole(1, 32))
    .option("--threshold <p>", "the spec's decision threshold (experiments)", parseFloat)
    .option("--epochs <n>", "local epochs (experiments)", whole(1, 100))
    .option("--id-dropout <p>", "the spec's feature-id dropout (experiments)", parseFloat)
    .parse();
  const opts = program.opts<{
    trainPerLang: number;
    seed: number;
    rounds: number;
    siteNotes: number;
    federated: boolean;
    showErrors?: boolean;
    json?: string;
    lexiconWeight?: number;
    threshold?: number;
    epochs?: number;
    idDropout?: number;
  }>();
  const root = path.join(__dirname, "..", "test", "realistic");
  const load = (dir: string) =>
    loadNotes(
      EVAL_LANGS.map((l) => path.join(root, dir, `${l}.jsonl`)),
      {},
    );
  const [dev, holdout] = await Promise.all([load("dev"), load("holdout")]);
  const backend = await initBackend();
  const base = defaultSpec();
  const spec = defaultSpec({
    ...(opts.lexiconWeight && base.features.lexicon
      ? { features: { ...base.features, lexicon: { ...base.features.lexicon, weight: opts.lexiconWeight } } }
      : {}),
    ...(opts.threshold ? { threshold: opts.threshold } : {}),
    training: {
      ...base.training,
      ...(opts.epochs ? { epochs: opts.epochs } : {}),
      ...(opts.idDropout !== undefined ? { idDropout: opts.idDropout } : {}),
    },
  });
  console.log(
    `realistic dev ${dev.length} notes, holdout ${holdout.length} notes; training ${opts.trainPerLang} generated ` +
      `notes per language, seed ${opts.seed}, backend ${backend}`,
  );

  const started = Date.now();
  const central = trainCentral({ spec, perLang: opts.trainPerLang, seed: opts.seed });
  console.log(`centralized model trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const templ = trainCentral({ spec, perLang: opts.trainPerLang, seed: opts.seed, split: "train" });
  const heldout = EVAL_LANGS.flatMap((lang) =>
    generateNotes({ lang, n: 500, seed: opts.seed + 1, split: "heldout" }),
  );
  const inDist = EVAL_LANGS.flatMap((lang) => generateNotes({ lang, n: 500, seed: opts.seed + 2 }));

  const sets: SetComparison[] = [
    await compareOnSet("realistic dev (centralized)", central, spec, dev),
    await compareOnSet("realistic holdout (centralized)", central, spec, holdout),
    await compareOnSet("held-out template split", templ, spec, heldout),
    await compareOnSet("generator style (short sentences)", central, spec, inDist),
  ];
  if (opts.federated) {
    const t0 = Date.now();
    const fed = await trainFederated({ spec, perSite: opts.siteNotes, rounds: opts.rounds, seed: opts.seed });
    console.log(
      `federated model (${opts.rounds} rounds) trained in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    sets.push(await compareOnSet("realistic dev (federated)", fed, spec, dev));
    sets.push(await compareOnSet("realistic holdout (federated)", fed, spec, holdout));
    const pooled = trainPooledSites({ spec, perSite: opts.siteNotes, rounds: opts.rounds, seed: opts.seed });
    sets.push(await compareOnSet("realistic dev (sites pooled)", pooled, spec, dev));
    sets.push(await compareOnSet("realistic holdout (sites pooled)", pooled, spec, holdout));
    if (opts.showErrors) await showErrors("realistic dev (federated)", fed, spec, dev);
  }
  if (opts.showErrors) await showErrors("realistic dev (centralized)", central, spec, dev);
  for (const s of sets) console.log(table(s));

  const checks = sets
    .filter((s) => !s.name.startsWith("generator style") && !s.name.includes("sites pooled"))
    .flatMap(targets);
  const fed = sets.filter((s) => s.name.includes("federated"));
  for (const fs_ of fed) {
    // Compared as the demo compares: with the sites' own notes pooled in one place.
    const c = sets.find((s) => s.name === fs_.name.replace("federated", "sites pooled"));
    if (!c) continue;
    for (const lang of EVAL_LANGS) {
      const a = fs_.model.byLang[lang];
      const b = c.model.byLang[lang];
      if (!a || !b) continue;
      const gaps = [
        (b.implant.f1 ?? 0) - (a.implant.f1 ?? 0),
        (b.categories.f1 ?? 0) - (a.categories.f1 ?? 0),
        (b.adr.f1 ?? 0) - (a.adr.f1 ?? 0),
      ];
      const worst = Math.max(...gaps);
      checks.push({
        what: `${fs_.name}: ${lang} within 2 points of the sites' notes pooled (implant F1, category µF1, ADR F1)`,
        value: `largest gap ${(100 * worst).toFixed(1)} points`,
        ok: worst <= 0.02,
      });
    }
  }
  console.log("\n== targets ==");
  for (const c of checks) console.log(`${c.ok ? "ok  " : "MISS"}  ${c.what}: ${c.value}`);
  console.log(`${checks.filter((c) => c.ok).length} of ${checks.length} targets hold`);
  if (opts.json) {
    await fs.writeFile(opts.json, `${JSON.stringify({ sets, checks }, null, 2)}\n`);
    console.log(`report written to ${opts.json}`);
  }
}

main().catch((err: unknown) => {
  console.error(`eval:realistic failed: ${(err as Error).message}`);
  process.exit(1);
});
