/**
 * Loading real (or generated) notes from JSONL and CSV files, validating every record where it enters.
 *
 * JSONL: one JSON object per line: {"id"?, "lang"?, "text", "labels": [...], "meta"?}. Blank lines are
 * skipped. Unknown fields are errors (they are usually typos such as "lables").
 * CSV: a header row, then one note per record. Columns: "text" (required), "id" and "lang" (optional),
 * and one column per label id (values 1/0, true/false, yes/no; case-insensitive). Other columns are
 * errors. The delimiter is detected from the header line (comma, semicolon or tab); quoted fields may
 * span lines; a UTF-8 byte-order mark is ignored.
 * Both: every line must be valid UTF-8 (checked with TextDecoder in fatal mode); text must not be empty
 * and at most {@link MAX_NOTE_BYTES} of UTF-8; labels must be label ids; lang, when given, one of LANGS,
 * else it is detected with detectLanguage; ids must be unique across all files (a missing id becomes
 * "<file name>:<line>").
 * Errors name the file, the line and what is wrong. By default a file with any bad record fails the load
 * with the first {@link LIST_ERRORS} problems listed; with `skipInvalid` bad records are skipped and
 * reported through `onSkip`.
 */
import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { parse as parseCsv } from "csv-parse";
import { z } from "zod";
import { FedledgerError } from "../errors";
import { LABELS, LANGS, isLabel, isLang, type Label, type Lang } from "./labels";
import { detectLanguage } from "./language";
import { MENTION_KINDS, RECORD_STYLES, type Note, type NoteMeta } from "./note";

/** Largest accepted note text, in bytes of UTF-8 (8 MiB). */
export const MAX_NOTE_BYTES = 8 * 1024 * 1024;
/** Longest accepted physical line (64 MiB); longer lines stop reading the file. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** How many problems an error message lists. */
export const LIST_ERRORS = 5;
/** Problems kept per load; more are counted but not stored. */
const KEEP_ERRORS = 1000;

/** One bad record. */
export interface NoteProblem {
  file: string;
  /** 1-based line number where the record starts (0 for a problem with the whole file). */
  line: number;
  message: string;
}

/** Options of {@link loadNotes}. */
export interface LoadOptions {
  /** Skip bad records instead of failing (default false). */
  skipInvalid?: boolean;
  /** Called for each skipped record when skipInvalid is set. */
  onSkip?: (problem: NoteProblem) => void;
  /** Whether each record must carry labels (default true). Without, a missing labels field means []. */
  requireLabels?: boolean;
}

/** A load failed: bad records (listed in `problems`) or an unreadable file. */
export class NoteDataError extends FedledgerError {
  constructor(
    readonly problems: NoteProblem[],
    readonly total: number,
  ) {
    const listed = problems
      .slice(0, LIST_ERRORS)
      .map((p) => `${p.file}${p.line > 0 ? `:${p.line}` : ""}: ${p.message}`)
      .join("; ");
    const more = total > LIST_ERRORS ? ` (and ${total - LIST_ERRORS} more)` : "";
    super(`${total} invalid record${total === 1 ? "" : "s"}: ${listed}${more}`, {
      hint: "fix the records, or pass skipInvalid (CLI: --skip-invalid) to skip them",
      exitCode: 2,
    });
  }
}

class RecordError extends Error {}

const metaSchema = z
  .object({
    style: z.enum(RECORD_STYLES).optional(),
    hard: z.enum(MENTION_KINDS).exclude(["positive"]).optional(),
    mentions: z.array(z.object({ kind: z.enum(MENTION_KINDS), label: z.enum(LABELS) }).strict()).optional(),
    profile: z.string().optional(),
  })
  .passthrough();

const JSON_FIELDS = new Set(["id", "lang", "text", "labels", "meta"]);

interface Context {
  file: string;
  base: string;
  opts: Required<Pick<LoadOptions, "skipInvalid" | "requireLabels">> & LoadOptions;
  notes: Note[];
  seen: Map<string, string>;
  problems: NoteProblem[];
  total: number;
}

function problem(ctx: Context, line: number, message: string): void {
  const p = { file: ctx.file, line, message };
  ctx.total++;
  if (ctx.opts.skipInvalid) ctx.opts.onSkip?.(p);
  else if (ctx.problems.length < KEEP_ERRORS) ctx.problems.push(p);
}

function checkText(text: unknown): string {
  if (typeof text !== "string") throw new RecordError(`"text" must be a string`);
  if (text.trim().length === 0) throw new RecordError("text is empty");
  // Cheap upper bound first: a UTF-16 unit is at most 3 bytes of UTF-8.
  if (text.length * 3 > MAX_NOTE_BYTES) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_NOTE_BYTES)
      throw new RecordError(
        `text is ${(bytes / 1048576).toFixed(1)} MiB, above the ${MAX_NOTE_BYTES / 1048576} MiB limit (split the note)`,
      );
  }
  return text;
}

function checkLang(lang: unknown, text: string): Lang {
  if (lang === undefined || lang === null || lang === "") return detectLanguage(text);
  if (!isLang(lang)) {
    const hint = lang === "no" || lang === "nn" ? ` (use "nb" for Norwegian)` : "";
    throw new RecordError(
      `unknown language ${JSON.stringify(lang)}${hint}; expected one of ${LANGS.join(", ")}`,
    );
  }
  return lang;
}

function checkLabel(x: unknown): Label {
  if (isLabel(x)) return x;
  if (x === "implant")
    throw new RecordError(
      `label "implant" is derived, not stored; use the implant category (e.g. "cardiac_rhythm_device")`,
    );
  throw new RecordError(`unknown label ${JSON.stringify(x)}; expected one of ${LABELS.join(", ")}`);
}

function sortLabels(labels: Iterable<Label>): Label[] {
  const set = new Set(labels);
  return LABELS.filter((l) => set.has(l));
}

function addNote(ctx: Context, line: number, note: Note): void {
  const first = ctx.seen.get(note.id);
  if (first !== undefined)
    throw new RecordError(`duplicate id ${JSON.stringify(note.id)} (first seen at ${first})`);
  ctx.seen.set(note.id, `${ctx.file}:${line}`);
  ctx.notes.push(note);
}

function checkId(id: unknown, ctx: Context, line: number): string {
  if (id === undefined || id === null || id === "") return `${ctx.base}:${line}`;
  if (typeof id !== "string" && typeof id !== "number") throw new RecordError(`"id" must be a string`);
  const s = String(id);
  if (s.length > 200) throw new RecordError(`"id" is longer than 200 characters`);
  return s;
}

/** Byte offset of the first invalid UTF-8 sequence in `b`, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else return i;
    if (i + n >= b.length) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes one line; throws a RecordError naming the byte offset of invalid UTF-8. */
function decodeLine(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new RecordError(
      `invalid UTF-8${at >= 0 ? ` at byte ${at + 1} of the line` : ""} (save the file as UTF-8)`,
    );
  }
}

/** Physical lines of a file as bytes, without the line break (LF or CRLF). */
async function* byteLines(file: string): AsyncGenerator<{ line: number; bytes: Uint8Array }> {
  let pieces: Buffer[] = [];
  let pending = 0;
  let line = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      let bytes = chunk.subarray(start, nl);
      if (pieces.length > 0) {
        bytes = Buffer.concat([...pieces, bytes]);
        pieces = [];
        pending = 0;
      }
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
      yield { line: ++line, bytes };
      start = nl + 1;
    }
    if (start < chunk.length) {
      pieces.push(chunk.subarray(start));
      pending += chunk.length - start;
      if (pending > MAX_LINE_BYTES)
        throw new FedledgerError(`${file}:${line + 1}: line is longer than ${MAX_LINE_BYTES / 1048576} MiB`, {
          hint: "this does not look like a JSONL or CSV note file",
          exitCode: 2,
        });
    }
  }
  if (pieces.length > 0) {
    let bytes = Buffer.concat(pieces);
    if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    yield { line: ++line, bytes };
  }
}

async function loadJsonl(ctx: Context): Promise<void> {
  for await (const { line, bytes } of byteLines(ctx.file)) {
    try {
      const raw = decodeLine(bytes);
      if (raw.trim().length === 0) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(raw);
      } catch (err) {
        throw new RecordError(`invalid JSON: ${(err as Error).message}`);
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj))
        throw new RecordError("expected a JSON object with text and labels");
      const rec = obj as Record<string, unknown>;
      const unknown = Object.keys(rec).filter((k) => !JSON_FIELDS.has(k));
      if (unknown.length > 0)
        throw new RecordError(
          `unknown field ${JSON.stringify(unknown[0])}; expected id, lang, text, labels, meta`,
        );
      const text = checkText(rec.text);
      let labels: Label[] = [];
      if (rec.labels === undefined) {
        if (ctx.opts.requireLabels)
          throw new RecordError(`"labels" is missing (use [] for a note without labels)`);
      } else if (!Array.isArray(rec.labels)) {
        throw new RecordError(`"labels" must be an array of label ids`);
      } else {
        labels = sortLabels(rec.labels.map(checkLabel));
      }
      const note: Note = { id: checkId(rec.id, ctx, line), lang: checkLang(rec.lang, text), text, labels };
      if (rec.meta !== undefined) {
        const m = metaSchema.safeParse(rec.meta);
        if (!m.success) {
          const issue = m.error.issues[0];
          throw new RecordError(`invalid meta.${issue.path.join(".")}: ${issue.message}`);
        }
        note.meta = m.data as NoteMeta;
      }
      addNote(ctx, line, note);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      problem(ctx, line, err.message);
    }
  }
}

const TRUE_VALUES = new Set(["1", "true", "yes"]);
const FALSE_VALUES = new Set(["0", "false", "no"]);

function detectDelimiter(header: string): string {
  const count = (c: string): number => header.split(c).length - 1;
  const options = [",", ";", "\t"].map((c) => ({ c, n: count(c) }));
  options.sort((a, b) => b.n - a.n);
  return options[0].n > 0 ? options[0].c : ",";
}

interface CsvColumns {
  width: number;
  text: number;
  id: number;
  lang: number;
  labels: { label: Label; index: number }[];
}

function csvColumns(header: string[]): CsvColumns {
  const names = header.map((h) => h.trim().toLowerCase());
  const cols: CsvColumns = { width: header.length, text: -1, id: -1, lang: -1, labels: [] };
  names.forEach((name, index) => {
    if (names.indexOf(name) !== index) throw new RecordError(`column ${JSON.stringify(name)} appears twice`);
    if (name === "text" || name === "id" || name === "lang") cols[name] = index;
    else if (isLabel(name)) cols.labels.push({ label: name, index });
    else if (name === "implant")
      throw new RecordError(`column "implant" is derived, not stored; use one column per implant category`);
    else
      throw new RecordError(
        `unknown column ${JSON.stringify(name)}; expected text, id, lang or a label id (${LABELS.join(", ")})`,
      );
  });
  if (cols.text < 0) throw new RecordError(`no "text" column in the header`);
  return cols;
}

async function loadCsv(ctx: Context): Promise<void> {
  let columns: CsvColumns | undefined;
  let headerBad = false;
  const badLines = new Map<number, string>();
  let parser: ReturnType<typeof parseCsv> | undefined;
  const onRecord = (record: string[], info: { lines: number }): null => {
    const newlines = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    const line = info.lines - newlines;
    try {
      for (let l = line; l <= info.lines; l++) {
        const bad = badLines.get(l);
        if (bad) throw new RecordError(bad);
      }
      if (!columns) {
        if (headerBad) return null;
        try {
          columns = csvColumns(record);
        } catch (err) {
          headerBad = true;
          throw err;
        }
        return null;
      }
      if (record.length !== columns.width)
        throw new RecordError(`record has ${record.length} fields, the header has ${columns.width}`);
      const text = checkText(record[columns.text]);
      const labels: Label[] = [];
      for (const { label, index } of columns.labels) {
        const v = (record[index] ?? "").trim().toLowerCase();
        if (TRUE_VALUES.has(v)) labels.push(label);
        else if (!FALSE_VALUES.has(v))
          throw new RecordError(
            `column ${label}: expected 1/0 or true/false, got ${JSON.stringify(record[index] ?? "")}`,
          );
      }
      if (columns.labels.length === 0 && ctx.opts.requireLabels)
        throw new RecordError(`the header has no label columns (add one column per label id)`);
      const id = checkId(columns.id >= 0 ? record[columns.id] : undefined, ctx, line);
      const lang = checkLang(columns.lang >= 0 ? record[columns.lang]?.trim() : undefined, text);
      addNote(ctx, line, { id, lang, text, labels: sortLabels(labels) });
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      problem(ctx, line, err.message);
    }
    return null;
  };

  // on_record consumes every record synchronously and returns null, so the parser queues nothing and
  // lines can be written without waiting for "drain".
  let failed = false;
  const done = new Promise<void>((resolve, reject) => {
    const start = (delimiter: string): ReturnType<typeof parseCsv> => {
      const p = parseCsv({
        delimiter,
        bom: true,
        relax_column_count: true,
        skip_empty_lines: true,
        on_record: onRecord as never,
      });
      p.on("error", (err: Error & { lines?: number }) => {
        failed = true;
        problem(ctx, err.lines ?? 0, `CSV syntax: ${err.message}`);
        resolve();
      });
      p.on("end", () => resolve());
      p.resume();
      return p;
    };
    (async () => {
      for await (const { line, bytes } of byteLines(ctx.file)) {
        let text: string;
        try {
          text = decodeLine(bytes);
        } catch (err) {
          if (!(err instanceof RecordError)) throw err;
          badLines.set(line, err.message);
          text = new TextDecoder("utf-8").decode(bytes);
        }
        parser ??= start(detectDelimiter(text.replace(/^\ufeff/, "")));
        if (failed) return;
        parser.write(`${text}\n`);
      }
      parser ??= start(",");
      if (!failed) parser.end();
    })().catch((err: unknown) => {
      parser?.destroy();
      reject(err);
    });
  });
  await done;
  if (!columns && !headerBad) problem(ctx, 1, "the file is empty (expected a header row)");
}

/**
 * Loads notes from JSONL (.jsonl, .ndjson) and CSV (.csv, .tsv) files, validating every record.
 *
 * @param paths files to read, in order
 * @param options skipInvalid / onSkip / requireLabels (see {@link LoadOptions})
 * @returns all valid notes, in file order
 * @throws NoteDataError listing the first problems (file:line: message) unless skipInvalid is set;
 *   FedledgerError for a missing or unreadable file or an unknown file type
 * @example const notes = await loadNotes(["site-a.jsonl"]);
 */
export async function loadNotes(paths: string[], options: LoadOptions = {}): Promise<Note[]> {
  const opts = { skipInvalid: false, requireLabels: true, ...options };
  const notes: Note[] = [];
  const seen = new Map<string, string>();
  const problems: NoteProblem[] = [];
  let total = 0;
  for (const file of paths) {
    const ext = path.extname(file).toLowerCase();
    const kind =
      ext === ".jsonl" || ext === ".ndjson" ? "jsonl" : ext === ".csv" || ext === ".tsv" ? "csv" : undefined;
    if (!kind)
      throw new FedledgerError(`${file}: unknown file type "${ext || "(none)"}"`, {
        hint: "use .jsonl (one JSON note per line) or .csv (header with text and label columns)",
        exitCode: 2,
      });
    try {
      await access(file);
    } catch (err) {
      throw new FedledgerError(
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          hint: "check the path",
          exitCode: 2,
        },
      );
    }
    const ctx: Context = { file, base: path.basename(file), opts, notes, seen, problems, total: 0 };
    if (kind === "jsonl") await loadJsonl(ctx);
    else await loadCsv(ctx);
    total += ctx.total;
  }
  if (total > 0 && !opts.skipInvalid) throw new NoteDataError(problems, total);
  return notes;
}
