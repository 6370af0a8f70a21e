/**
 * The note record shared by the generator, the loader and the model.
 */
import type { ImplantCategory, Label, Lang } from "./labels";

/** Note styles of the synthetic corpus. */
export const NOTE_STYLES = ["admission", "mri_referral", "nursing", "discharge", "medication_list"] as const;
/** One note style. */
export type NoteStyle = (typeof NOTE_STYLES)[number];
/**
 * Styles a note file may name: the generator's, and further kinds of real record notes (a telephone
 * contact, an MRI safety checklist, an outpatient visit, an operation note).
 */
export const RECORD_STYLES = [
  ...NOTE_STYLES,
  "telephone",
  "mri_checklist",
  "outpatient",
  "operation",
] as const;
/** One record note style. */
export type RecordStyle = (typeof RECORD_STYLES)[number];

/**
 * How a mention in a generated note was built.
 * - positive: a current implant or a reported adverse drug reaction (gives the label);
 * - hard_positive: a current implant in a sentence a keyword or negation rule gets wrong
 *   ("pacemakerkontroll avlyst", "ingen problemer med pacemakeren", an abandoned lead left in place);
 * - negated, family, planned, removed, other_context: implant words that are NOT a current implant;
 * - adr_negated, adr_uncertain, adr_info, adr_family: drug and harm words that are NOT a reported reaction.
 */
export const MENTION_KINDS = [
  "positive",
  "hard_positive",
  "negated",
  "family",
  "planned",
  "removed",
  "other_context",
  "adr_negated",
  "adr_uncertain",
  "adr_info",
  "adr_family",
] as const;
/** One mention kind. */
export type MentionKind = (typeof MENTION_KINDS)[number];
/** Mention kinds that make a hard negative (or hard positive) example. */
export type HardKind = Exclude<MentionKind, "positive">;

/** One constructed mention: its kind and the label it concerns (an implant category or "adr"). */
export interface Mention {
  kind: MentionKind;
  label: ImplantCategory | "adr";
}

/** Generator bookkeeping kept with a note (optional; real data has none). */
export interface NoteMeta {
  /** Note style. */
  style?: RecordStyle;
  /** The first hard construction in the note, if any. */
  hard?: HardKind;
  /** All constructed mentions, in the order they were written. */
  mentions?: Mention[];
  /** Name of the site profile that generated the note. */
  profile?: string;
}

/** A clinical note with its labels. */
export interface Note {
  id: string;
  lang: Lang;
  text: string;
  /** Implant categories the patient currently carries, plus "adr"; sorted in LABELS order. */
  labels: Label[];
  meta?: NoteMeta;
}
