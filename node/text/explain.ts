/**
 * A readable view of what feature extraction sees: tokens with their context prefixes. For debugging
 * trigger lists and for the documentation (`fedledger data explain`).
 */
import { contextPrefix, markContext } from "./context";
import type { Lang } from "./labels";
import { normalizeText } from "./normalize";
import { tokenize } from "./tokenize";

/**
 * Tokens of a text joined by spaces, each in-scope token prefixed by its contexts.
 *
 * @example explainContext("Ingen pacemaker, men ICD.", "nb") // "ingen neg:pacemaker , men icd ."
 */
export function explainContext(text: string, lang: Lang): string {
  const tokens = tokenize(normalizeText(text));
  const flags = markContext(tokens, lang);
  return tokens.map((t, i) => (t.kind === "newline" ? "⏎" : contextPrefix(flags[i]) + t.text)).join(" ");
}
