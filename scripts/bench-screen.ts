/**
 * `npm run bench:screen`: time to screen a 500-note record with `fedledger screen`'s code, the model
 * loaded once. Prints figures; asserts nothing. Target: the screening itself (model predictions, lexicon
 * reading, the rules per patient) of 500 notes in at most 1 s.
 *
 * The record is built from generateNotes: the notes are split over a few patients, each patient in one
 * language, and given dates a week apart. Without --model a small model is trained first (not timed).
 *
 *   npm run bench:screen -- [--notes 500] [--patients 3] [--runs 5] [--model file] [--backend wasm]
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { whole } from "./cliArgs";
import {
  createInitialModel,
  defaultSpec,
  initBackend,
  readModelFile,
  Scorer,
  trainLocal,
} from "../node/model";
import { hashModelBytes } from "../node/model/format";
import { specHash, type ModelSpec } from "../node/model/spec";
import { loadRecord, renderReport, screeningDocument, screenRecord } from "../node/screen";
import { generateNotes } from "../node/text/corpus";
import type { Lang } from "../node/text/labels";
import { median } from "./stats";

const LANGS: Lang[] = ["sv", "nb", "da", "fi", "et"];

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (x: number): string => `${x.toFixed(0)} ms`;

/** JSONL lines of a record: `notes` generated notes over `patients` patients, one language each. */
function recordLines(notes: number, patients: number): string[] {
  const lines: string[] = [];
  for (let p = 0; p < patients; p++) {
    const share = Math.floor(notes / patients) + (p < notes % patients ? 1 : 0);
    const lang = LANGS[p % LANGS.length];
    const start = Date.UTC(2010, 0, 4) + p * 86_400_000;
    generateNotes({ lang, n: share, seed: 500 + p }).forEach((note, i) => {
      const date = new Date(start + i * 7 * 86_400_000).toISOString().slice(0, 10);
      lines.push(
        JSON.stringify({ patient: `P${p + 1}`, note: `P${p + 1}-${i + 1}`, date, lang, text: note.text }),
      );
    });
  }
  return lines;
}

async function trainedModel(): Promise<{ bytes: Uint8Array; spec: ModelSpec }> {
  const spec = defaultSpec();
  const notes = LANGS.flatMap((lang, i) => generateNotes({ lang, n: 400, seed: 40 + i }));
  const t0 = process.hrtime.bigint();
  const { model } = await trainLocal({ spec, base: createInitialModel(spec, 1), notes, seed: 1, epochs: 2 });
  process.stdout.write(
    `model: trained on ${notes.length} generated notes, 2 epochs (${fmt(ms(t0))}, not timed)\n`,
  );
  return { bytes: model, spec };
}

async function main(): Promise<void> {
  const opts = new Command("bench-screen")
    .option("--notes <n>", "notes in the record", whole(1, 1_000_000), 500)
    .option("--patients <n>", "patients the notes are split over", whole(1, 10_000), 3)
    .option("--runs <n>", "timed screening runs after the first", whole(1, 100), 5)
    .option("--model <file>", "model file to use (default: train a small one)")
    .option("--backend <name>", "TensorFlow.js backend")
    .parse(process.argv)
    .opts<{ notes: number; patients: number; runs: number; model?: string; backend?: string }>();
  const backend = await initBackend(opts.backend);
  const dir = await mkdtemp(path.join(tmpdir(), "fedledger-bench-screen-"));
  try {
    const file = path.join(dir, "record.jsonl");
    const lines = recordLines(opts.notes, opts.patients);
    await writeFile(file, `${lines.join("\n")}\n`);
    const { bytes, spec } = opts.model ? await readModelFile(opts.model) : await trainedModel();

    let t0 = process.hrtime.bigint();
    const record = await loadRecord(file);
    const loadMs = ms(t0);
    t0 = process.hrtime.bigint();
    const scorer = await Scorer.load(bytes, spec);
    const modelMs = ms(t0);

    t0 = process.hrtime.bigint();
    let patients = screenRecord(scorer, record);
    const firstMs = ms(t0);
    const runs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      t0 = process.hrtime.bigint();
      patients = screenRecord(scorer, record);
      runs.push(ms(t0));
    }
    scorer.dispose();

    t0 = process.hrtime.bigint();
    const doc = screeningDocument(record, patients, {
      file: "bench.model",
      hash: hashModelBytes(bytes),
      specHash: specHash(spec),
    });
    const json = `${JSON.stringify(doc, null, 2)}\n`;
    const html = renderReport(doc);
    const reportMs = ms(t0);

    const size = (await stat(file)).size;
    const langs = [...new Set(record.notes.map((n) => n.lang))].join(", ");
    const perPatient = patients.map((p) => `${p.patient} ${p.current.length}`).join(", ");
    const best = median(runs);
    process.stdout.write(
      [
        `backend: ${backend}`,
        `record: ${record.notes.length} notes, ${patients.length} patients (${langs}), ${(size / 1024).toFixed(0)} KiB JSONL`,
        `current implants per patient: ${perPatient}`,
        `load and validate the record: ${fmt(loadMs)}`,
        `load the model (once): ${fmt(modelMs)}`,
        `screen the record, first run: ${fmt(firstMs)}`,
        `screen the record, median of ${opts.runs} runs: ${fmt(best)} (${((record.notes.length / best) * 1000).toFixed(0)} notes/s)`,
        `  target ≤ 1000 ms for ${opts.notes} notes: ${Math.max(firstMs, best) <= 1000 ? "met" : "NOT met"} (first run ${fmt(firstMs)})`,
        `write the document and the report: ${fmt(reportMs)} (JSON ${(json.length / 1024).toFixed(0)} KiB, HTML ${(html.length / 1024).toFixed(0)} KiB)`,
        "",
      ].join("\n"),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-screen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
