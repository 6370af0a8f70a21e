/**
 * Types of the curated clinical lexicon: implant terms, abbreviations, makers and models mapped to implant
 * categories, external devices that are not implants, drug names, harms and adverse-reaction cues.
 *
 * Every entry is matched against the text pipeline's tokens (normalised: NFC, lower case, uniform hyphens)
 * by the lexicon matcher (see ./match.ts and docs/text-pipeline.md):
 * - "exact": a whole token equals the entry. An entry with upper-case letters (an abbreviation such as "ICD",
 *   "PM", "CI") matches only the same letters in upper case in the original text, so "ci" in running text
 *   or "pm" as a time does not match; an all-lower-case entry matches case-insensitively.
 * - "prefix": a token starts with the entry (inflections and compounds that start with the term:
 *   "pacemaker" matches "pacemakern", "pacemakerkontroll"; "tahdisti" matches "tahdistimen").
 * - "inner": the entry occurs anywhere inside a token (compounds that end with the term: "protes" matches
 *   "höftledsprotes"). Only for distinctive stems of 5 or more letters.
 * An entry of several words ("loop recorder", "on-x") matches consecutive tokens: every word but the last
 * exactly, the last with the entry's mode.
 */
import type { ImplantCategory, Lang } from "../labels";

/** How an entry matches a token. */
export type MatchMode = "exact" | "prefix" | "inner";

/** Fields shared by all entries. */
export interface LexiconTerm {
  /** The term as written in notes: lower case, except abbreviations matched in upper case. */
  text: string;
  match: MatchMode;
  /** Languages the entry is used in; absent means all five (and English). */
  langs?: readonly Lang[];
}

/** What an implant entry names. */
export type ImplantTermKind = "term" | "abbrev" | "brand" | "model";

/** A category of the lexicon: an implant category, or a device worn outside the body (never an implant). */
export type LexiconCategory = ImplantCategory | "external_device";

/** An implant word, abbreviation, maker or model. */
export interface ImplantTerm extends LexiconTerm {
  category: LexiconCategory;
  kind: ImplantTermKind;
  /** The device type in English, for screening reports ("pacemaker", "ICD", "hip prosthesis", …). */
  device?: string;
}

/** A drug name (an INN stem in the language's spelling, or a brand name). */
export interface DrugTerm extends LexiconTerm {
  /** The drug's international non-proprietary name in English. */
  drug: string;
}

/** A harm a drug can cause (a symptom, sign or diagnosis). */
export interface HarmTerm extends LexiconTerm {
  /** The harm in English ("rash", "cough", "angioedema", …). */
  harm: string;
}

/** How an adverse-reaction cue bears on whether a note reports a reaction. */
export type AdrCueKind =
  /** The note says a drug caused a harm ("pga", "biverkan av", "efter insättning av", "seponert pga"). */
  | "cause"
  /** The drug was tolerated or caused nothing ("tål bra", "inga biverkningar"). */
  | "tolerated"
  /** Information about possible effects, not a reaction ("informerad om biverkningar"). */
  | "info"
  /** Causality left open ("oklart om", "kan inte uteslutas") — not a reported reaction. */
  | "uncertain";

/** A phrase that tells how a drug and a harm relate. */
export interface AdrCue extends LexiconTerm {
  kind: AdrCueKind;
}
