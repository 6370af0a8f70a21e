/**
 * The screening document, `screening.json`: one object per patient with the implants the patient carries
 * at the latest note, the implants removed or replaced before, conflicts for a human to settle, and the
 * adverse drug reactions found, every finding with the sentences it rests on. docs/screening.md describes
 * every field; {@link SCREENING_SCHEMA} names this version of the layout.
 */
import type { ImplantCategory, Lang } from "../text/labels";
import type { SkippedNote } from "./record";
import type { Span } from "./sentences";

/** Name and version of the document layout. */
export const SCREENING_SCHEMA = "fedledger-screening/1";

/** A note a finding comes from. */
export interface NoteRef {
  /** The note id. */
  note: string;
  /** The note's date as written. */
  date: string;
}

/** A sentence a finding rests on, with the words that matter highlighted. */
export interface EvidenceSentence extends NoteRef {
  lang: Lang;
  /** The sentence (NFC, uniform hyphens). */
  text: string;
  /** Character ranges [start, end) of `text` to highlight: device words, makers, models, dates, drugs. */
  highlights: Span[];
}

/** What radiology needs per category (CATEGORY_INFO of node/text/labels.ts). */
export interface CategoryGuidance {
  category: ImplantCategory;
  title: string;
  /** Typical ASTM F2503 class of the category. */
  mriSafety: string;
  /** What to check before scanning, for the category. */
  advice: string;
}

/** An implant the patient carries at the latest note. */
export interface CurrentImplant extends CategoryGuidance {
  /** Device type in English, from the lexicon ("pacemaker", "joint prosthesis"). */
  device?: string;
  /** Make and model as written in the newest note that names one ("Medtronic Azure XT DR"). */
  detail?: string;
  /** Every make and model written while the device was reported, newest first. */
  details: string[];
  /** The date or year written next to the earliest mention (usually the implant date): YYYY[-MM[-DD]]. */
  implanted?: string;
  /** The labelling check for this device: "<mriSafety>: check the labelling of <detail> before scanning". */
  guidance: string;
  /** The first and the latest note that report the device as present. */
  firstSeen: NoteRef;
  lastSeen: NoteRef;
  /** Notes that report it as present. */
  notes: number;
  /**
   * True when the lexicon finds a word of the category (not negated, removed, a relative's or planned) in
   * the evidence; false means the model reports the category from sentences that name no such device.
   */
  deviceNamed: boolean;
  /** True when an earlier device of this category was removed or replaced. */
  afterRemoval: boolean;
  /** True when a conflict about this category is listed in `conflicts`. */
  conflict: boolean;
  evidence: EvidenceSentence[];
}

/** How a past device ended. */
export type RemovalOutcome = "removed" | "replaced";

/** A device removed (or replaced) before the latest note. */
export interface RemovedImplant extends CategoryGuidance {
  device?: string;
  detail?: string;
  implanted?: string;
  /** The date or year written next to the removal, else the removal note's day: YYYY[-MM[-DD]]. */
  removed: string;
  /** The note that reports the removal. */
  removedIn: NoteRef;
  /** "replaced" when a later note (or the removal note itself) reports a device of the category again. */
  outcome: RemovalOutcome;
  /** The first sentence that reported the device (when an earlier note did) and the removal sentences. */
  evidence: EvidenceSentence[];
}

/** Kinds of conflicts. */
export type ConflictKind = "denied_after_found" | "same_date" | "removed_but_reported";

/** Notes that disagree about a category: a human decides. */
export interface Conflict {
  category: ImplantCategory;
  title: string;
  kind: ConflictKind;
  /** One sentence for the reader. */
  message: string;
  evidence: EvidenceSentence[];
}

/** A note that reports an adverse drug reaction. */
export interface AdverseReaction extends NoteRef {
  /** The suspected drug: of the drugs named, the one written closest to a harm. */
  drug?: string;
  /** Drugs (international non-proprietary names) the lexicon finds in the evidence sentences, in text order. */
  drugs: string[];
  /** Harms the lexicon finds there ("rash", "cough"). */
  harms: string[];
  evidence: EvidenceSentence[];
}

/** The screening of one patient. */
export interface PatientScreening {
  patient: string;
  /** Notes of the patient that were read. */
  notesRead: number;
  /** The earliest and the latest note date. */
  firstDate: string;
  lastDate: string;
  /** Languages of the notes, in order of first appearance. */
  languages: Lang[];
  /** One line: the current implants, or "no implant found in N notes read". */
  summary: string;
  current: CurrentImplant[];
  removed: RemovedImplant[];
  conflicts: Conflict[];
  adr: AdverseReaction[];
}

/** The model the screening ran. */
export interface ModelInfo {
  /** The model file's name. */
  file: string;
  /** 0x + SHA-256 of the canonical model bytes (what `fedledger hash` prints). */
  hash: string;
  /** The spec hash a training task records. */
  specHash: string;
}

/** screening.json. */
export interface ScreeningDocument {
  schema: typeof SCREENING_SCHEMA;
  /** ISO date-time the document was written. */
  generatedAt: string;
  /** The notes file's name. */
  notesFile: string;
  model: ModelInfo;
  /** Hash of the lexicon makers, models and removals were read with. */
  lexiconHash: string;
  /** Valid notes of the screened patients. */
  notesRead: number;
  /** Notes that were not read (only with --skip-invalid). */
  skipped: { count: number; notes: SkippedNote[] };
  patients: PatientScreening[];
}
