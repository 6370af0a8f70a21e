/**
 * Text normalisation, the first step of feature extraction.
 *
 * Unicode NFC (so "å" typed as "a" + combining ring equals the precomposed "å"), then lower case with
 * `String.prototype.toLowerCase` (locale independent; keeps å ä ö ø æ õ ü š ž intact), then Unicode
 * hyphens and the soft hyphen are mapped: U+2010 / U+2011 become "-", U+00AD is dropped. Nothing else is
 * removed or transliterated.
 */

const HYPHENS = /[\u2010\u2011]/g;
const SOFT_HYPHEN = /\u00ad/g;

/**
 * Normalises clinical text for tokenisation: NFC, lower case, uniform hyphens.
 *
 * @example normalizeText("Ingen PACEMAKER‐kontroll") // "ingen pacemaker-kontroll"
 */
export function normalizeText(text: string): string {
  return normalizeForm(text).toLowerCase();
}

/**
 * The first step of {@link normalizeText} without the lower-casing: NFC and uniform hyphens. The lexicon
 * matcher reads abbreviations in the case they were written in from this form.
 *
 * @example normalizeForm("Ingen PACEMAKER‐kontroll") // "Ingen PACEMAKER-kontroll"
 */
export function normalizeForm(text: string): string {
  let out = text.normalize("NFC");
  if (out.includes("\u2010") || out.includes("\u2011")) out = out.replace(HYPHENS, "-");
  if (out.includes("\u00ad")) out = out.replace(SOFT_HYPHEN, "");
  return out;
}
