import type { Command } from "commander";
import { evaluateModel } from "../../model/evaluate";
import { readModelFile } from "../../model/files";
import type { LabelMetrics, Metrics } from "../../model/metrics";
import { loadNotes } from "../../text/corpus";
import { backendOption, startBackend } from "./modelArgs";

const fmt = (x: number | null): string => (x === null ? "    -" : x.toFixed(3));

function labelRow(m: LabelMetrics, width: number): string {
  return `${m.label.padEnd(width)} ${String(m.support).padStart(7)} ${fmt(m.precision)}  ${fmt(m.recall)}  ${fmt(m.f1)}`;
}

/** The human-readable report: per-label table, averages, the derived implant output, per language. */
export function formatMetrics(metrics: Metrics): string {
  const width = Math.max(22, ...metrics.perLabel.map((m) => m.label.length));
  const lines = [
    `${metrics.n} notes`,
    `${"label".padEnd(width)} support precision recall  F1`,
    ...metrics.perLabel.map((m) => labelRow(m, width)),
    `${"micro".padEnd(width)} ${"".padStart(7)} ${fmt(metrics.micro.precision)}  ${fmt(metrics.micro.recall)}  ${fmt(metrics.micro.f1)}`,
    `${"macro".padEnd(width)} ${"".padStart(7)} ${fmt(metrics.macro.precision)}  ${fmt(metrics.macro.recall)}  ${fmt(metrics.macro.f1)}`,
    labelRow(metrics.implant, width) + "   (any implant)",
    "",
    "lang  notes  micro-F1  macro-F1  implant-recall",
  ];
  for (const [lang, m] of Object.entries(metrics.byLang)) {
    if (!m) continue;
    lines.push(
      `${lang.padEnd(4)} ${String(m.n).padStart(6)}  ${fmt(m.micro.f1).padStart(8)}  ${fmt(m.macro.f1).padStart(8)}  ${fmt(m.implant.recall).padStart(14)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Registers `fedledger evaluate`: scores a model on labelled notes. */
export function registerEvaluateCommand(program: Command): void {
  const command = program
    .command("evaluate")
    .description("per-label precision, recall and F1, micro and macro averages, and a per-language table")
    .requiredOption("--model <file>", "model file (its spec is read from <file>.spec.json)")
    .requiredOption("--data <files...>", "labelled notes: JSONL or CSV files")
    .option("--json", "print the metrics as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  fedledger evaluate --model central.model --data sv-test.jsonl fi-test.jsonl",
    );
  backendOption(command).action(
    async (opts: { model: string; data: string[]; json?: boolean; backend?: string }) => {
      const { bytes, spec } = await readModelFile(opts.model);
      const notes = await loadNotes(opts.data);
      await startBackend(opts);
      const metrics = await evaluateModel(bytes, spec, notes);
      process.stdout.write(opts.json ? `${JSON.stringify(metrics, null, 2)}\n` : formatMetrics(metrics));
    },
  );
}
