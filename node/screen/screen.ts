/**
 * Screening a whole record: every note read once by the model and the lexicon, then each patient screened
 * on their own notes, and the screening document put together.
 */
import { UsageError } from "../errors";
import type { Scorer } from "../model/scorer";
import { LEXICON_HASH } from "../text/lexicon";
import { SCREENING_SCHEMA, type ModelInfo, type PatientScreening, type ScreeningDocument } from "./document";
import { screenPatient } from "./patient";
import { readNotes, type NoteReading } from "./readNotes";
import type { PatientRecord } from "./record";

/** Options of {@link screenRecord}. */
export interface ScreenOptions {
  /** Screen only this patient; an id the record does not have is an error. */
  patient?: string;
}

/**
 * Screens the patients of a record with a loaded model, in order of their first note in the file.
 * @throws UsageError for a `patient` the record does not have
 * @example const patients = screenRecord(scorer, await loadRecord("record.jsonl"));
 */
export function screenRecord(
  scorer: Scorer,
  record: PatientRecord,
  options: ScreenOptions = {},
): PatientScreening[] {
  let patients = record.patients;
  if (options.patient !== undefined) {
    const wanted = options.patient.trim();
    if (!patients.includes(wanted)) {
      const shown = wanted.length > 40 ? `${wanted.slice(0, 40)}…` : wanted;
      throw new UsageError(
        `no patient ${JSON.stringify(shown)} in ${record.file}, which has ${patients.length} patient${patients.length === 1 ? "" : "s"}`,
        "pass a patient id of the file, or leave out --patient to screen every patient",
      );
    }
    patients = [wanted];
  }
  const keep = new Set(patients);
  const readings = readNotes(
    scorer,
    record.notes.filter((n) => keep.has(n.patient)),
  );
  const byPatient = new Map<string, NoteReading[]>(patients.map((p) => [p, []]));
  for (const r of readings) byPatient.get(r.note.patient)?.push(r);
  return patients.map((p) => screenPatient(p, byPatient.get(p) ?? []));
}

/** Puts the screening document together. */
export function screeningDocument(
  record: PatientRecord,
  patients: PatientScreening[],
  model: ModelInfo,
  generatedAt: Date = new Date(),
): ScreeningDocument {
  return {
    schema: SCREENING_SCHEMA,
    generatedAt: generatedAt.toISOString(),
    notesFile: record.file,
    model,
    lexiconHash: LEXICON_HASH,
    notesRead: patients.reduce((n, p) => n + p.notesRead, 0),
    skipped: { count: record.skipped.length, notes: record.skipped },
    patients,
  };
}
