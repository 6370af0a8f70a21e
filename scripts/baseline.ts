/**
 * `npm run baseline`: local-only, centralized and FedAvg baselines on the synthetic corpus.
 *
 * Prints a table of macro-F1 per model and test language and the share of hard negatives predicted
 * negative, checks the targets, and writes the full report to baseline-out/baseline.json.
 *
 *   npm run baseline -- [--train-per-lang 2000] [--test-per-lang 1000] [--rounds 5] [--seed 1] [--out dir]
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { whole } from "./cliArgs";
import { formatBaselines, runBaselines, type BaselineReport } from "../node/model";

interface Check {
  target: string;
  value: string;
  ok: boolean;
}

/** The targets of the model task, checked on a report. */
function checkTargets(report: BaselineReport): Check[] {
  const central = report.models.find((m) => m.name === "centralized");
  const fedavg = report.models.find((m) => m.name === "fedavg");
  const checks: Check[] = [];
  if (central) {
    const worst = Math.min(...report.langs.map((l) => central.tests[l]?.macroF1 ?? 0));
    checks.push({
      target: "centralized macro-F1 >= 0.95 on every language's test set",
      value: `lowest ${worst.toFixed(3)}, mean ${central.meanMacroF1.toFixed(3)}`,
      ok: worst >= 0.95,
    });
    checks.push({
      target: "centralized predicts >= 95% of hard negatives negative",
      value: (central.hardNegativeShare ?? 0).toFixed(3),
      ok: (central.hardNegativeShare ?? 0) >= 0.95,
    });
  }
  for (const lang of report.langs) {
    const local = report.models.find((m) => m.name === `local-${lang}`);
    if (!local) continue;
    const own = local.tests[lang]?.macroF1 ?? 0;
    const others = report.langs.filter((l) => l !== lang).map((l) => local.tests[l]?.macroF1 ?? 0);
    const best = Math.max(...others);
    checks.push({
      target: `local-${lang} clearly worse on other languages than on its own (gap >= 0.1)`,
      value: `own ${own.toFixed(3)}, best other ${best.toFixed(3)}`,
      ok: own - best >= 0.1,
    });
  }
  if (central && fedavg) {
    const gap = central.meanMacroF1 - fedavg.meanMacroF1;
    checks.push({
      target: `FedAvg (${report.federatedRounds} rounds) within 0.02 mean macro-F1 of centralized`,
      value: `fedavg ${fedavg.meanMacroF1.toFixed(3)}, gap ${gap.toFixed(3)}`,
      ok: gap <= 0.02,
    });
  }
  return checks;
}

async function main(): Promise<void> {
  const program = new Command("baseline")
    .option("--train-per-lang <n>", "training notes per language", whole(10, 100_000), 2000)
    .option("--test-per-lang <n>", "test notes per language", whole(10, 100_000), 1000)
    .option("--rounds <n>", "FedAvg rounds to simulate (0 skips)", whole(0, 100), 5)
    .option("--seed <n>", "seed of data, initial weights and batch order", whole(0, 2 ** 31), 1)
    .option("--out <dir>", "directory for baseline.json", "baseline-out")
    .parse(process.argv);
  const opts = program.opts<{
    trainPerLang: number;
    testPerLang: number;
    rounds: number;
    seed: number;
    out: string;
  }>();
  const started = Date.now();
  const report = await runBaselines({
    trainPerLang: opts.trainPerLang,
    testPerLang: opts.testPerLang,
    federatedRounds: opts.rounds,
    seed: opts.seed,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const seconds = (Date.now() - started) / 1000;
  const checks = checkTargets(report);
  process.stdout.write(`${formatBaselines(report)}\n\n`);
  for (const c of checks) process.stdout.write(`${c.ok ? "PASS" : "FAIL"}  ${c.target}: ${c.value}\n`);
  process.stdout.write(`total ${seconds.toFixed(1)} s\n`);
  await fs.mkdir(opts.out, { recursive: true });
  const file = path.join(opts.out, "baseline.json");
  await fs.writeFile(file, `${JSON.stringify({ ...report, checks, seconds }, null, 2)}\n`);
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
