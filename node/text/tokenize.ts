/**
 * Tokenisation of normalised text into words, numbers, punctuation and line breaks.
 *
 * - word: a letter followed by letters, combining marks or digits, with inner joiners kept inside the token:
 *   hyphens ("pacemaker-kontroll", "crt-d"), apostrophes, and a colon followed by letters, which Finnish and
 *   Estonian use to inflect abbreviations ("icd:n", "mri:ssä", "crt-d:llä").
 * - number: digits with inner "." or "," groups ("12.03.2019", "1,5").
 * - newline: each line break (scopes end there, list items are separate).
 * - punct: any other single non-space character.
 */

/** Kind of a token. */
export type TokenKind = "word" | "number" | "punct" | "newline";

/** One token of normalised text. */
export interface Token {
  /** The token text as it appears in the normalised text. */
  text: string;
  kind: TokenKind;
}

// Groups: 1 word, 2 number, 3 newline, 4 other punctuation.
const TOKEN_RE =
  /(\p{L}[\p{L}\p{M}\p{N}]*(?:[-'’:][\p{L}\p{N}][\p{L}\p{M}\p{N}]*)*)|(\p{N}+(?:[.,]\p{N}+)*)|(\n)|([^\s\p{L}\p{N}])/gu;

/**
 * Splits normalised text (see normalizeText) into tokens. Linear in the text length.
 *
 * @example tokenize("ingen pacemaker, men icd:n.").map((t) => t.text) // ["ingen","pacemaker",",","men","icd:n","."]
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m !== null; m = TOKEN_RE.exec(text)) {
    if (m[1] !== undefined) tokens.push({ text: m[1], kind: "word" });
    else if (m[2] !== undefined) tokens.push({ text: m[2], kind: "number" });
    else if (m[3] !== undefined) tokens.push({ text: "\n", kind: "newline" });
    else tokens.push({ text: m[0], kind: "punct" });
  }
  return tokens;
}

/** Tokens of a text in lower case (as the pipeline uses them) and the same tokens as written. */
export interface CasedTokens {
  /** Lower-cased tokens, equal to `tokenize(normalizeText(text))`. */
  tokens: Token[];
  /** Each token's text in the case it was written in (for abbreviations such as "ICD", "CI"). */
  raws: string[];
}

/**
 * Tokenises text that went through normalizeForm (NFC, uniform hyphens, case kept), and returns both the
 * lower-cased tokens and the raw ones.
 *
 * @example tokenizeCased("Har ICD.") // tokens: har, icd, . — raws: Har, ICD, .
 */
export function tokenizeCased(formText: string): CasedTokens {
  const cased = tokenize(formText);
  return {
    tokens: cased.map((t) => ({ text: t.text.toLowerCase(), kind: t.kind })),
    raws: cased.map((t) => t.text),
  };
}
