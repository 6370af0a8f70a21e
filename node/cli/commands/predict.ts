import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { FedledgerError } from "../../errors";
import { readModelFile } from "../../model/files";
import { predictNotes } from "../../model/predict";
import { loadNotes } from "../../text/corpus";
import { backendOption, startBackend } from "./modelArgs";

/** Registers `fedledger predict`: predicts implants and ADRs with evidence for JSONL notes. */
export function registerPredictCommand(program: Command): void {
  const command = program
    .command("predict")
    .description("predict current implant categories and adverse drug reactions, with evidence sentences")
    .requiredOption("--model <file>", "model file (its spec is read from <file>.spec.json)")
    .requiredOption(
      "--input <file>",
      'notes: JSONL lines {"id", "text", "lang"?} (or CSV with those columns)',
    )
    .requiredOption("--output <jsonl>", "predictions, one JSON object per line")
    .option("--no-evidence", "skip the evidence sentences (faster)")
    .addHelpText(
      "after",
      '\nOutput lines: {"id","lang","implant","categories","adr","scores","evidence"}. The language is\n' +
        "detected when a line has none.\nExample:\n  fedledger predict --model central.model --input notes.jsonl --output predictions.jsonl",
    );
  backendOption(command).action(
    async (opts: { model: string; input: string; output: string; evidence: boolean; backend?: string }) => {
      const { bytes, spec } = await readModelFile(opts.model);
      const notes = await loadNotes([opts.input], { requireLabels: false });
      await startBackend(opts);
      const predictions = await predictNotes(bytes, spec, notes, { evidence: opts.evidence });
      const lines = predictions.map((p) =>
        JSON.stringify({
          id: p.id,
          lang: p.lang,
          implant: p.implant,
          categories: p.categories,
          adr: p.adr,
          scores: Object.fromEntries(Object.entries(p.scores).map(([k, v]) => [k, Number(v.toFixed(6))])),
          evidence: p.evidence,
        }),
      );
      try {
        await fs.mkdir(path.dirname(path.resolve(opts.output)), { recursive: true });
        await fs.writeFile(opts.output, lines.length > 0 ? `${lines.join("\n")}\n` : "");
      } catch (err) {
        throw new FedledgerError(
          `cannot write ${opts.output}: ${(err as NodeJS.ErrnoException).code ?? err}`,
          {
            hint: "Choose a writable --output path",
            exitCode: 2,
          },
        );
      }
      const positives = predictions.filter((p) => p.implant || p.adr).length;
      process.stderr.write(
        `predicted ${predictions.length} notes (${positives} with an implant or ADR) → ${opts.output}\n`,
      );
    },
  );
}
