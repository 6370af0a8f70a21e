/**
 * `npm run bench:robust`: a poisoning experiment at function level (no chain, no network). Five sites, one
 * language each, train locally from the global model on generated notes for a few rounds; each round the
 * global model is the task's aggregation rule run on the canonical delta bytes, exactly as the aggregator and
 * the auditor run it. One site (the first) is hostile in every round and sends either a delta scaled ×100, a
 * sign-flipped delta, or the delta of a model trained on flipped labels (every label a note has removed, every
 * label it lacks added). For each rule (1 FedAvg, 2 sparse FedAvg, 3 median, 4 trimmed mean, 5 norm-clipped
 * FedAvg, 6 multi-Krum) it prints the final per-language macro-F1 of the clean run and of each attack. Prints figures;
 * asserts nothing.
 *
 *   npm run bench:robust -- [--train-per-lang 300] [--test-per-lang 200] [--rounds 3] [--seed 1] [--json file]
 */
import { writeFile } from "node:fs/promises";
import { Command } from "commander";
import { whole } from "./cliArgs";
import { getAggregationRule } from "../node/fl";
import { initBackend } from "../node/model/backend";
import { BASELINE_LANGS } from "../node/model/baselines";
import { buildDataset, type Dataset } from "../node/model/dataset";
import { createInitialModel } from "../node/model/params";
import { defaultSpec, type ModelSpec } from "../node/model/spec";
import { generateNotes, type Note } from "../node/text/corpus";
import type { Lang } from "../node/text/labels";
import { localDelta, macroF1ByLang, runFederated, simAddress } from "../node/eval/federated";

const RULES = [1, 2, 3, 4, 5, 6] as const;
const SCENARIOS = ["clean", "scaled x100", "sign-flip", "label-flip"] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Site {
  address: string;
  lang: Lang;
  honest: Dataset;
  flipped: Dataset;
  notes: number;
}

interface Run {
  rule: number;
  ruleName: string;
  scenario: Scenario;
  macroF1: Record<string, number>;
  mean: number;
  seconds: number;
}

function flipLabels(notes: readonly Note[], spec: ModelSpec): Note[] {
  return notes.map((n) => ({ ...n, labels: spec.labels.filter((l) => !n.labels.includes(l)) }));
}

function scale(delta: Map<string, Float32Array>, factor: number): Map<string, Float32Array> {
  return new Map([...delta].map(([name, d]) => [name, d.map((v) => v * factor)]));
}

async function main(): Promise<void> {
  const opts = new Command("bench-robust")
    .option("--train-per-lang <n>", "training notes per site", whole(20, 100_000), 300)
    .option("--test-per-lang <n>", "test notes per language", whole(20, 100_000), 200)
    .option("--rounds <n>", "federated rounds", whole(1, 50), 3)
    .option("--seed <n>", "seed of data, weights and batches", whole(0, 1_000_000), 1)
    .option("--json <file>", "also write every run as JSON")
    .parse()
    .opts<{ trainPerLang: number; testPerLang: number; rounds: number; seed: number; json?: string }>();
  const backend = await initBackend();
  const spec = defaultSpec();
  const { seed, rounds } = opts;
  const sites: Site[] = BASELINE_LANGS.map((lang, i) => {
    const train = generateNotes({ lang, n: opts.trainPerLang, seed: seed * 1000 + 2 * i });
    return {
      address: simAddress(i),
      lang,
      honest: buildDataset(train, spec),
      flipped: buildDataset(flipLabels(train, spec), spec),
      notes: train.length,
    };
  });
  const tests = BASELINE_LANGS.map((lang, i) => ({
    lang,
    notes: generateNotes({ lang, n: opts.testPerLang, seed: seed * 1000 + 2 * i + 1 }),
  }));
  const genesis = createInitialModel(spec, seed);
  const attacker = 0;
  process.stderr.write(
    `bench:robust: ${sites.length} sites (${BASELINE_LANGS.join(", ")}), ${opts.trainPerLang} training notes each, ` +
      `${rounds} rounds, backend ${backend}; the hostile site is ${sites[attacker].lang}\n`,
  );

  const runs: Run[] = [];
  for (const ruleId of RULES) {
    const rule = getAggregationRule(ruleId);
    for (const scenario of SCENARIOS) {
      const started = Date.now();
      const global = await runFederated({
        spec,
        genesis,
        rounds,
        rule,
        sites: sites.map((site, i) => ({
          address: site.address,
          numSamples: site.notes,
          update: (base, r) => {
            const hostile = i === attacker && scenario !== "clean";
            const data = hostile && scenario === "label-flip" ? site.flipped : site.honest;
            let delta = localDelta(spec, base, data, seed + 7919 * r + i);
            if (hostile && scenario === "scaled x100") delta = scale(delta, 100);
            if (hostile && scenario === "sign-flip") delta = scale(delta, -1);
            return delta;
          },
        })),
      });
      const macroF1 = await macroF1ByLang(global, spec, tests);
      const values = Object.values(macroF1);
      const run: Run = {
        rule: ruleId,
        ruleName: rule.name,
        scenario,
        macroF1,
        mean: values.reduce((a, b) => a + b, 0) / values.length,
        seconds: (Date.now() - started) / 1000,
      };
      runs.push(run);
      process.stderr.write(
        `  ${rule.name} / ${scenario}: mean macro-F1 ${run.mean.toFixed(3)} (${run.seconds.toFixed(1)} s)\n`,
      );
    }
  }

  const header = ["rule", "scenario", ...BASELINE_LANGS, "mean", "Δ mean"];
  const rows = runs.map((run) => {
    const clean = runs.find((x) => x.rule === run.rule && x.scenario === "clean") as Run;
    return [
      `${run.rule} ${run.ruleName}`,
      run.scenario,
      ...BASELINE_LANGS.map((l) => run.macroF1[l].toFixed(3)),
      run.mean.toFixed(3),
      run.scenario === "clean" ? "" : (run.mean - clean.mean).toFixed(3),
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  const out = [
    `final per-language macro-F1 after ${rounds} rounds; hostile site: ${sites[attacker].lang} (1 of ${sites.length})`,
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  if (opts.json) await writeFile(opts.json, `${JSON.stringify({ options: opts, backend, runs }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:robust failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
