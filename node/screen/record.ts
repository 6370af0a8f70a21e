/**
 * Loading a patient record for screening: one note per line of a JSONL file, or one per record of a CSV
 * file, each `{"patient", "note", "date", "text", "lang"?}`, validated where it enters with one zod schema.
 *
 * - `patient` and `note` (the note id): non-empty strings (numbers are read as strings), at most 200
 *   characters; a note id appears once in the file.
 * - `date`: an ISO date `YYYY-MM-DD`, or a date-time `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]` (a space may
 *   replace the T; a time without a zone is read as UTC), a real calendar date.
 * - `text`: not empty, at most MAX_NOTE_BYTES of UTF-8.
 * - `lang`: one of the note languages; when absent (or empty, or null) it is detected with detectLanguage.
 * - JSONL: other fields are errors (usually typos); blank lines are skipped. CSV: a header row naming the
 *   columns (any order, any case; comma, semicolon or tab from the header line; quoted fields may span
 *   lines; a byte-order mark is ignored); other columns are errors.
 * - Every line must be valid UTF-8.
 *
 * Messages name the file (its base name when the path is absolute), the line and the field, never the
 * content of the note. Without `skipInvalid` any bad note fails the load (exit code 2) with the first
 * problem and the number of others; with it bad notes are skipped and returned in `skipped`.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { z } from "zod";
import { FedledgerError } from "../errors";
import { LANGS, isLang, type Lang } from "../text/labels";
import { detectLanguage } from "../text/language";
import { MAX_NOTE_BYTES } from "../text/loader";

/** One valid note of a record. */
export interface RecordNote {
  patient: string;
  /** The note id. */
  note: string;
  /** The date as written (validated). */
  date: string;
  /** The calendar day of `date`, YYYY-MM-DD. */
  day: string;
  /** `date` in milliseconds since 1970 (UTC), for ordering. */
  at: number;
  text: string;
  lang: Lang;
  /** True when `lang` was detected rather than given. */
  langDetected: boolean;
  /** 1-based line of the file where the note starts. */
  line: number;
}

/** A note that was not read, and why (no content of the note). */
export interface SkippedNote {
  line: number;
  /** The field at fault, when one is. */
  field?: string;
  reason: string;
}

/** A loaded record file. */
export interface PatientRecord {
  /** The file name as shown in messages and reports. */
  file: string;
  /** Valid notes in file order. */
  notes: RecordNote[];
  /** Bad notes that were skipped (only with `skipInvalid`), in file order. */
  skipped: SkippedNote[];
  /** Patient ids in order of first appearance. */
  patients: string[];
}

/** Options of {@link loadRecord}. */
export interface LoadRecordOptions {
  /** Skip bad notes (and return them in `skipped`) instead of failing. */
  skipInvalid?: boolean;
}

/** Fields of a note, in the order messages list them. */
export const RECORD_FIELDS = ["patient", "note", "date", "text", "lang"] as const;
const REQUIRED_FIELDS = ["patient", "note", "date", "text"] as const;
/** Longest patient or note id. */
export const MAX_ID_CHARS = 200;

/** A record file that cannot be screened: bad notes or an unreadable file. Exit code 2. */
export class RecordError extends FedledgerError {
  constructor(message: string, hint = "") {
    super(message, { hint, exitCode: 2 });
  }
}

/** The name of a file as messages show it: the path as given when relative, else the base name. */
export function displayPath(file: string): string {
  return path.isAbsolute(file) ? path.basename(file) : file;
}

class NoteProblem extends Error {
  constructor(
    readonly field: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const missingOr = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined || issue.input === null ? "is missing" : `must be ${what}`;

const idSchema = z.preprocess(
  (v) => (typeof v === "number" && Number.isFinite(v) ? String(v) : v),
  z
    .string({ error: missingOr("a string") })
    .trim()
    .min(1, "is empty")
    .max(MAX_ID_CHARS, `is longer than ${MAX_ID_CHARS} characters`),
);

const DATE_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds since 1970 of a valid ISO date or date-time, else undefined. */
export function parseNoteDate(s: string): number | undefined {
  const m = DATE_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h = "0", mi = "0", sec = "0"] = m.slice(1, 7);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > days) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  let at = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(sec));
  const zone = m[7];
  if (zone && zone !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!zm || Number(zm[2]) > 23 || Number(zm[3]) > 59) return undefined;
    at -= (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3])) * 60_000;
  }
  return at;
}

const noteSchema = z.strictObject(
  {
    patient: idSchema,
    note: idSchema,
    date: z
      .string({ error: missingOr("a string") })
      .trim()
      .refine((s) => parseNoteDate(s) !== undefined, {
        message: "is not a valid ISO date (YYYY-MM-DD or YYYY-MM-DDThh:mm)",
      }),
    text: z
      .string({ error: missingOr("a string") })
      .refine((s) => s.trim().length > 0, { message: "is empty" })
      .refine((s) => s.length * 3 <= MAX_NOTE_BYTES || Buffer.byteLength(s, "utf8") <= MAX_NOTE_BYTES, {
        message: `is longer than ${MAX_NOTE_BYTES / 1048576} MiB (split the note)`,
      }),
    lang: z
      .string({ error: "must be a string" })
      .trim()
      .refine((s) => s === "" || isLang(s), {
        message: `is not a known language (expected one of ${LANGS.join(", ")})`,
      })
      .nullish(),
  },
  { error: "must be an object" },
);

/** Turns the first zod issue into a problem naming the field, never the value. */
function issueProblem(error: z.ZodError): NoteProblem {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    return new NoteProblem(
      undefined,
      `unknown field ${JSON.stringify(shown)} (expected ${RECORD_FIELDS.join(", ")})`,
    );
  }
  const field = typeof issue.path[0] === "string" ? issue.path[0] : undefined;
  return new NoteProblem(field, issue.message);
}

interface Builder {
  file: string;
  skipInvalid: boolean;
  notes: RecordNote[];
  skipped: SkippedNote[];
  /** Note id → line of its first appearance. */
  seen: Map<string, number>;
}

function accept(b: Builder, line: number, raw: unknown): void {
  try {
    const parsed = noteSchema.safeParse(raw);
    if (!parsed.success) throw issueProblem(parsed.error);
    const rec = parsed.data;
    const first = b.seen.get(rec.note);
    if (first !== undefined) throw new NoteProblem("note", `repeats the note id of line ${first}`);
    const given = rec.lang ? rec.lang : undefined;
    b.seen.set(rec.note, line);
    b.notes.push({
      patient: rec.patient,
      note: rec.note,
      date: rec.date,
      day: rec.date.slice(0, 10),
      at: parseNoteDate(rec.date) as number,
      text: rec.text,
      lang: given && isLang(given) ? given : detectLanguage(rec.text),
      langDetected: given === undefined,
      line,
    });
  } catch (err) {
    if (!(err instanceof NoteProblem)) throw err;
    b.skipped.push({ line, ...(err.field ? { field: err.field } : {}), reason: err.message });
  }
}

/** One problem as a message: `file:line: "field" reason`. */
export function problemText(file: string, p: SkippedNote): string {
  return `${file}:${p.line}: ${p.field ? `"${p.field}" ` : ""}${p.reason}`;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Lines of the file as bytes (LF or CRLF), 1-based. */
function byteLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
    lines.push(bytes.subarray(start, nl > start && bytes[nl - 1] === 0x0d ? nl - 1 : nl));
    start = nl + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

function decode(line: Buffer): string | undefined {
  try {
    return decoder.decode(line);
  } catch {
    return undefined;
  }
}

const UTF8_PROBLEM = "is not valid UTF-8 (save the file as UTF-8)";

function loadJsonl(b: Builder, bytes: Buffer): void {
  byteLines(bytes).forEach((bytesOfLine, i) => {
    const line = i + 1;
    const text = decode(bytesOfLine);
    if (text === undefined) {
      b.skipped.push({ line, reason: `the line ${UTF8_PROBLEM}` });
      return;
    }
    const trimmed = (line === 1 ? text.replace(/^\ufeff/, "") : text).trim();
    if (trimmed === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      b.skipped.push({ line, reason: "is not valid JSON (one JSON object per line)" });
      return;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      b.skipped.push({ line, reason: `is not a JSON object with ${REQUIRED_FIELDS.join(", ")}` });
      return;
    }
    accept(b, line, obj);
  });
}

function detectDelimiter(header: string): string {
  const counts = [",", ";", "\t"].map((c) => ({ c, n: header.split(c).length - 1 }));
  counts.sort((x, y) => y.n - x.n);
  return counts[0].n > 0 ? counts[0].c : ",";
}

function loadCsv(b: Builder, bytes: Buffer): void {
  const lines = byteLines(bytes);
  const bad = lines.findIndex((l) => decode(l) === undefined);
  if (bad >= 0) throw new RecordError(`${b.file}:${bad + 1}: the line ${UTF8_PROBLEM}`);
  const text = decoder.decode(bytes).replace(/^\ufeff/, "");
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(text, {
      delimiter: detectDelimiter(firstLine),
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as { code?: string; lines?: number };
    throw new RecordError(
      `${b.file}${e.lines ? `:${e.lines}` : ""}: CSV syntax error${e.code ? ` (${e.code})` : ""}`,
      "check the quoting of that line",
    );
  }
  if (rows.length === 0) return;
  const header = rows[0].record.map((h) => h.trim().toLowerCase());
  header.forEach((name, i) => {
    if (header.indexOf(name) !== i)
      throw new RecordError(`${b.file}:1: column ${JSON.stringify(name.slice(0, 40))} appears twice`);
    if (!(RECORD_FIELDS as readonly string[]).includes(name))
      throw new RecordError(
        `${b.file}:1: unknown column ${JSON.stringify(name.slice(0, 40))}`,
        `the header names the columns ${RECORD_FIELDS.join(", ")} (lang optional)`,
      );
  });
  for (const need of REQUIRED_FIELDS)
    if (!header.includes(need))
      throw new RecordError(
        `${b.file}:1: no "${need}" column in the header`,
        `the header names the columns ${RECORD_FIELDS.join(", ")} (lang optional)`,
      );
  for (const { record, info } of rows.slice(1)) {
    const inner = record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    const line = info.lines - inner;
    if (record.length !== header.length) {
      b.skipped.push({ line, reason: `has ${record.length} fields, the header has ${header.length}` });
      continue;
    }
    const obj: Record<string, string> = {};
    header.forEach((name, i) => {
      if (name !== "lang" || record[i].trim() !== "") obj[name] = record[i];
    });
    accept(b, line, obj);
  }
}

/**
 * Reads and validates a record file (.jsonl / .ndjson or .csv / .tsv).
 * @throws RecordError (exit code 2) for an unreadable, empty or unknown kind of file, a bad note without
 *   `skipInvalid`, or a file without any valid note
 * @example const record = await loadRecord("patient.jsonl", { skipInvalid: true });
 */
export async function loadRecord(file: string, options: LoadRecordOptions = {}): Promise<PatientRecord> {
  const shown = displayPath(file);
  const ext = path.extname(file).toLowerCase();
  const kind =
    ext === ".jsonl" || ext === ".ndjson" ? "jsonl" : ext === ".csv" || ext === ".tsv" ? "csv" : undefined;
  if (!kind)
    throw new RecordError(
      `${shown}: unknown file type "${ext || "(none)"}"`,
      "use .jsonl (one JSON note per line) or .csv (a header row, then one note per record)",
    );
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : String(code);
    throw new RecordError(`cannot read ${shown}: ${reason}`, "check the --notes path");
  }
  const b: Builder = {
    file: shown,
    skipInvalid: options.skipInvalid ?? false,
    notes: [],
    skipped: [],
    seen: new Map(),
  };
  if (kind === "jsonl") loadJsonl(b, bytes);
  else loadCsv(b, bytes);
  if (b.skipped.length > 0 && !b.skipInvalid) {
    const more = b.skipped.length - 1;
    throw new RecordError(
      `${problemText(shown, b.skipped[0])}${more > 0 ? ` (and ${more} more invalid note${more === 1 ? "" : "s"})` : ""}`,
      "fix the notes, or pass --skip-invalid to screen the valid ones",
    );
  }
  if (b.notes.length === 0)
    throw new RecordError(
      b.skipped.length > 0
        ? `${shown}: none of the ${b.skipped.length} notes is valid (first: ${problemText(shown, b.skipped[0])})`
        : `${shown}: the file has no notes`,
      `write one note per line: {${RECORD_FIELDS.map((f) => `"${f}"`).join(", ")}}`,
    );
  const patients = [...new Set(b.notes.map((n) => n.patient))];
  return { file: shown, notes: b.notes, skipped: b.skipped, patients };
}
