/**
 * The corpus surface of the text pipeline: the note type, the synthetic generator with its site
 * profiles, the file loader and language detection. Import from here rather than from the modules.
 */
export type { HardKind, Mention, MentionKind, Note, NoteMeta, NoteStyle, RecordStyle } from "./note";
export { MENTION_KINDS, NOTE_STYLES, RECORD_STYLES } from "./note";
export {
  generateNotes,
  generatorLanguages,
  heldOut,
  MAX_GENERATED_NOTES,
  TEMPLATE_SPLITS,
  type GenerateOptions,
  type TemplateSplit,
} from "./synth/generate";
export {
  SITE_PROFILES,
  balancedProfile,
  profileByName,
  siteProfileSchema,
  type SiteProfile,
} from "./synth/profiles";
export { loadNotes, NoteDataError, MAX_NOTE_BYTES, type LoadOptions, type NoteProblem } from "./loader";
export { detectLanguage, detectLanguageScores, type LanguageScores } from "./language";
export { noteToJsonl, writeNotesJsonl } from "./jsonl";
