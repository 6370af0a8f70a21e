/**
 * MRI pre-screening of a patient's whole record (`fedledger screen`, docs/screening.md): per patient, the
 * implants carried at the latest note with make, model, date, MR safety guidance and evidence sentences;
 * devices removed or replaced before; conflicts for a human; adverse drug reactions.
 *
 * - {@link loadRecord}(file, { skipInvalid }) → the validated notes of a JSONL or CSV record
 * - {@link screenRecord}(scorer, record, { patient }) → one {@link PatientScreening} per patient
 * - {@link screeningDocument}(record, patients, model) → the `screening.json` document
 * - {@link renderReport}(document) → the self-contained `screening.html` page
 * - {@link readNotes} and {@link screenPatient}, the two steps of screenRecord (read every note with the
 *   model and the lexicon; then decide per patient), for callers with their own predictions
 */
export {
  SCREENING_SCHEMA,
  type AdverseReaction,
  type CategoryGuidance,
  type Conflict,
  type ConflictKind,
  type CurrentImplant,
  type EvidenceSentence,
  type ModelInfo,
  type NoteRef,
  type PatientScreening,
  type RemovalOutcome,
  type RemovedImplant,
  type ScreeningDocument,
} from "./document";
export { escapeHtml, renderReport } from "./html";
export { categoryGuidance, labellingCheck, screenPatient } from "./patient";
export { readNotes, type NoteReading } from "./readNotes";
export {
  displayPath,
  loadRecord,
  parseNoteDate,
  problemText,
  RECORD_FIELDS,
  RecordError,
  type LoadRecordOptions,
  type PatientRecord,
  type RecordNote,
  type SkippedNote,
} from "./record";
export { screeningDocument, screenRecord, type ScreenOptions } from "./screen";
export { readSentences, type ReadSentence, type Span } from "./sentences";
