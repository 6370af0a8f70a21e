/**
 * The curated clinical lexicon and its matcher: implant terms, abbreviations, makers and models per
 * category, external devices that are not implants, drugs, harms and adverse-reaction cues, in the five
 * note languages. Concept ids from it become model features (see ../features.ts), and screening reports
 * take makers and models from it.
 *
 * The lexicon is part of a model's definition: {@link LEXICON_HASH} identifies this build's data, and a
 * model spec that uses lexicon features records the hash it was trained with.
 */
import { createHash } from "node:crypto";
import { ADR_CUES, HARM_TERMS } from "./adr";
import { DRUG_TERMS } from "./drugs";
import { IMPLANT_TERMS } from "./implants";
import { compileLexicon, type Lexicon, type LexiconData } from "./match";

export {
  compileLexicon,
  FUZZY_MIN,
  Lexicon,
  type LexiconData,
  type LexiconEntry,
  type LexiconMatch,
} from "./match";
export type * from "./types";

/** This build's lexicon data. */
export const LEXICON_DATA: LexiconData = Object.freeze({
  implants: IMPLANT_TERMS,
  drugs: DRUG_TERMS,
  harms: HARM_TERMS,
  cues: ADR_CUES,
});

function canonicalEntries(list: readonly object[]): string {
  return JSON.stringify(
    list.map((e) => Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))),
  );
}

/**
 * 0x + SHA-256 (lower-case hex) of the UTF-8 of `{"cues":…,"drugs":…,"harms":…,"implants":…}` where each
 * list is the JSON array of its entries in order, every entry's keys sorted.
 */
export const LEXICON_HASH = `0x${createHash("sha256")
  .update(
    `{"cues":${canonicalEntries(ADR_CUES)},"drugs":${canonicalEntries(DRUG_TERMS)},"harms":${canonicalEntries(
      HARM_TERMS,
    )},"implants":${canonicalEntries(IMPLANT_TERMS)}}`,
    "utf8",
  )
  .digest("hex")}`;

let compiled: Lexicon | undefined;

/** The compiled lexicon of this build (compiled on first use). */
export function defaultLexicon(): Lexicon {
  compiled ??= compileLexicon(LEXICON_DATA);
  return compiled;
}
