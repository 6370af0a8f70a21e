import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { FedledgerError } from "../../errors";
import { readModelFile } from "../../model/files";
import { hashModelBytes } from "../../model/format";
import { Scorer } from "../../model/scorer";
import { specHash } from "../../model/spec";
import {
  displayPath,
  loadRecord,
  problemText,
  renderReport,
  screeningDocument,
  screenRecord,
} from "../../screen";
import { backendOption, startBackend } from "./modelArgs";

/** Skipped notes listed one per line on stderr; more are counted. */
const LIST_SKIPPED = 20;

interface ScreenFlags {
  notes: string;
  model: string;
  patient?: string;
  out: string;
  skipInvalid?: boolean;
  backend?: string;
}

/** A model-file error with an absolute path shown as its base name. */
function shownPaths(err: unknown, file: string): unknown {
  if (!(err instanceof FedledgerError) || !path.isAbsolute(file)) return err;
  return new FedledgerError(err.message.split(file).join(displayPath(file)), {
    hint: err.hint,
    exitCode: err.exitCode,
  });
}

/** Registers `fedledger screen`: MRI pre-screening of whole patient records. */
export function registerScreenCommand(program: Command): void {
  const command = program
    .command("screen")
    .description(
      "MRI pre-screening of patient records: current implants with make, model, date, MR safety guidance " +
        "and evidence; removals, conflicts and adverse drug reactions",
    )
    .requiredOption(
      "--notes <file>",
      'the record: JSONL lines {"patient", "note", "date", "text", "lang"?} (or CSV with those columns)',
    )
    .requiredOption("--model <file>", "model file (its spec is read from <file>.spec.json)")
    .option("--patient <id>", "screen this patient only")
    .requiredOption("--out <dir>", "directory to write screening.json and screening.html to")
    .option(
      "--skip-invalid",
      "skip invalid notes (listed on stderr and in screening.json) instead of failing",
    )
    .addHelpText(
      "after",
      "\nWrites <dir>/screening.json (one object per patient: current, removed, conflicts, adr; see\n" +
        "docs/screening.md) and <dir>/screening.html (the printable report). Invalid notes fail with\n" +
        "exit code 2 unless --skip-invalid is given.\nExample:\n" +
        "  fedledger screen --notes record.jsonl --model central.model --out screening/",
    );
  backendOption(command).action(async (opts: ScreenFlags) => {
    const record = await loadRecord(opts.notes, { skipInvalid: opts.skipInvalid });
    if (record.skipped.length > 0) {
      for (const s of record.skipped.slice(0, LIST_SKIPPED))
        process.stderr.write(`skipped ${problemText(record.file, s)}\n`);
      const more = record.skipped.length - LIST_SKIPPED;
      if (more > 0) process.stderr.write(`… and ${more} more skipped notes\n`);
      const total = record.skipped.length + record.notes.length;
      process.stderr.write(
        `skipped ${record.skipped.length} invalid note${record.skipped.length === 1 ? "" : "s"} of ${total} ` +
          `(listed in screening.json)\n`,
      );
    }
    let model;
    try {
      model = await readModelFile(opts.model);
    } catch (err) {
      throw shownPaths(err, opts.model);
    }
    await startBackend(opts);
    const scorer = await Scorer.load(model.bytes, model.spec);
    let patients;
    try {
      patients = screenRecord(scorer, record, { patient: opts.patient });
    } finally {
      scorer.dispose();
    }
    const doc = screeningDocument(record, patients, {
      file: path.basename(opts.model),
      hash: hashModelBytes(model.bytes),
      specHash: specHash(model.spec),
    });
    const jsonFile = path.join(opts.out, "screening.json");
    const htmlFile = path.join(opts.out, "screening.html");
    try {
      await fs.mkdir(opts.out, { recursive: true });
      await fs.writeFile(jsonFile, `${JSON.stringify(doc, null, 2)}\n`);
      await fs.writeFile(htmlFile, renderReport(doc));
    } catch (err) {
      throw new FedledgerError(
        `cannot write the screening to ${displayPath(opts.out)}: ${(err as NodeJS.ErrnoException).code ?? "write failed"}`,
        { hint: "choose a writable --out directory", exitCode: 2 },
      );
    }
    for (const p of patients) {
      const conflicts = p.conflicts.length;
      process.stdout.write(
        `${p.patient}: ${p.summary}${conflicts > 0 ? `; ${conflicts} conflict${conflicts === 1 ? "" : "s"} to check` : ""}\n`,
      );
    }
    process.stdout.write(`wrote ${jsonFile} and ${htmlFile}\n`);
  });
}
