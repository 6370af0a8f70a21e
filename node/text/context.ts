/**
 * NegEx-style context scope marking over tokens.
 *
 * For each token, a bit set says which contexts it is in: negated, family, planned, removed. Feature
 * extraction prefixes the features of a marked token ("neg:", "fam:", "plan:", "rem:") so a negated
 * "pacemaker" hashes to different ids than an affirmed one.
 *
 * Algorithm, per note:
 * 1. Scan tokens left to right; at each token take the longest phrase of the language's lexicon (trigger,
 *    pseudo-trigger or terminator) that matches there, and continue after it. A phrase written with a
 *    final "*" ("explanter*") matches any word that starts with its last word (inflections:
 *    "explanterad", "explanterades"); on equal length an exact phrase wins over such a prefix phrase.
 * 2. A pre trigger marks following tokens, a post trigger preceding tokens, a both trigger both ways.
 *    A scope stops at a boundary (. , ; ! ? or a line break), at a terminator phrase, at any other
 *    trigger or pseudo-trigger, or after {@link FORWARD_WINDOW} / {@link BACKWARD_WINDOW} words.
 * 3. A checklist answer: a backward trigger that starts with ":", "?", "-" or "–" (": nei", "? ei") and
 *    ends its line (only punctuation may follow before the line break) marks the whole line before it,
 *    across punctuation ("Metallsplint i øyet / sveising? nei").
 * 4. A heading: a forward trigger at the start of a line followed by ":" ("Hereditet: far pacemaker,
 *    mor höftprotes") marks the rest of the line, across punctuation.
 * 5. A question: a "?" with nothing but punctuation after it on its line marks the sentence it ends
 *    (back to the previous ".", "!", "?" or line break) with {@link QUESTION_BIT}.
 * 6. A sentence trigger ("och ersattes inte", "ei korvattu") marks its whole sentence, both ways, across
 *    commas, up to ".", "!", "?" or a line break.
 * Runs in time linear in the number of tokens.
 */
import { CONTEXT_LEXICONS, type ContextKind } from "./context-lexicon";
import type { Lang } from "./labels";
import { normalizeText } from "./normalize";
import { tokenize, type Token } from "./tokenize";

/** Bit of each context kind in the flags returned by {@link markContext}. */
export const CONTEXT_BITS: Record<ContextKind, number> = { neg: 1, fam: 2, plan: 4, rem: 8 };
/**
 * Bit of a question left unanswered on its line ("Har du pacemaker eller ICD?"): what it names is asked
 * about, not stated. Feature prefix "hyp:".
 */
export const QUESTION_BIT = 16;
/** Words a pre trigger's scope covers at most. */
export const FORWARD_WINDOW = 5;
/** Words a post trigger's scope covers at most (post triggers reach less far, as in NegEx practice). */
export const BACKWARD_WINDOW = 3;

const BOUNDARY_PUNCT = new Set([".", ",", ";", "!", "?"]);

type PhraseRole = "trigger" | "pseudo" | "terminator";
interface Phrase {
  tokens: string[];
  /** A sentence trigger: marks its whole sentence. */
  sentence?: boolean;
  /** The last token is a prefix ("explanter*"). */
  prefix: boolean;
  role: PhraseRole;
  bit: number;
  forward: boolean;
  backward: boolean;
}
interface CompiledLexicon {
  /** Phrases by their first token (exact). */
  byFirst: Map<string, Phrase[]>;
  /** One-word prefix phrases. */
  prefixes: Phrase[];
}

const compiled = new Map<Lang, CompiledLexicon>();

function compile(lang: Lang): CompiledLexicon {
  const lex = CONTEXT_LEXICONS[lang];
  const map = new Map<string, Phrase[]>();
  const prefixes: Phrase[] = [];
  const add = (
    text: string,
    role: PhraseRole,
    bit: number,
    forward: boolean,
    backward: boolean,
    sentence = false,
  ): void => {
    const prefix = text.endsWith("*");
    const tokens = tokenize(normalizeText(prefix ? text.slice(0, -1) : text)).map((t) => t.text);
    if (tokens.length === 0) return;
    const list = prefix && tokens.length === 1 ? prefixes : (map.get(tokens[0]) ?? []);
    // A phrase listed as both pre and post trigger of one kind opens scopes both ways.
    const same = list.find(
      (p) =>
        p.role === role && p.bit === bit && p.prefix === prefix && p.tokens.join(" ") === tokens.join(" "),
    );
    if (same) {
      same.forward ||= forward;
      same.backward ||= backward;
      return;
    }
    list.push({ tokens, prefix, role, bit, forward, backward, ...(sentence ? { sentence } : {}) });
    if (list !== prefixes) map.set(tokens[0], list);
  };
  for (const p of lex.pseudo) add(p, "pseudo", 0, false, false);
  for (const p of lex.terminators) add(p, "terminator", 0, false, false);
  for (const kind of Object.keys(CONTEXT_BITS) as ContextKind[]) {
    const t = lex.triggers[kind];
    const bit = CONTEXT_BITS[kind];
    for (const p of t.pre ?? []) add(p, "trigger", bit, true, false);
    for (const p of t.post ?? []) add(p, "trigger", bit, false, true);
    for (const p of t.both ?? []) add(p, "trigger", bit, true, true);
    for (const p of t.sentence ?? []) add(p, "trigger", bit, false, false, true);
  }
  // Longest phrase first; on equal length exact before prefix, then pseudo before terminator before
  // trigger (insertion order).
  const order = (a: Phrase, b: Phrase) =>
    b.tokens.length - a.tokens.length || Number(a.prefix) - Number(b.prefix);
  for (const list of map.values()) list.sort(order);
  prefixes.sort((a, b) => b.tokens[0].length - a.tokens[0].length);
  return { byFirst: map, prefixes };
}

function lexiconFor(lang: Lang): CompiledLexicon {
  let lex = compiled.get(lang);
  if (!lex) {
    lex = compile(lang);
    compiled.set(lang, lex);
  }
  return lex;
}

function matchAt(tokens: readonly Token[], i: number, lex: CompiledLexicon): Phrase | undefined {
  for (const p of lex.byFirst.get(tokens[i].text) ?? []) {
    if (i + p.tokens.length > tokens.length) continue;
    let ok = true;
    for (let k = 1; k < p.tokens.length; k++) {
      const t = tokens[i + k].text;
      if (p.prefix && k === p.tokens.length - 1 ? !t.startsWith(p.tokens[k]) : t !== p.tokens[k]) {
        ok = false;
        break;
      }
    }
    if (ok) return p;
  }
  if (tokens[i].kind !== "word") return undefined;
  for (const p of lex.prefixes) if (tokens[i].text.startsWith(p.tokens[0])) return p;
  return undefined;
}

/**
 * Marks the context scope of every token.
 *
 * @param tokens tokens of normalised text (see tokenize)
 * @param lang language whose trigger lists apply
 * @returns one byte per token: an OR of {@link CONTEXT_BITS}
 * @example
 * const toks = tokenize(normalizeText("Ingen pacemaker, men ICD."));
 * markContext(toks, "nb"); // pacemaker: neg; icd: none
 */
export function markContext(tokens: readonly Token[], lang: Lang): Uint8Array {
  const n = tokens.length;
  const flags = new Uint8Array(n);
  // stop[i] = 1 when token i is a boundary or part of any lexicon phrase.
  const stop = new Uint8Array(n);
  const triggers: { start: number; end: number; p: Phrase }[] = [];
  const lex = lexiconFor(lang);
  let i = 0;
  while (i < n) {
    const tok = tokens[i];
    const p = matchAt(tokens, i, lex);
    if (!p) {
      if (tok.kind === "newline" || (tok.kind === "punct" && BOUNDARY_PUNCT.has(tok.text))) stop[i] = 1;
      i++;
      continue;
    }
    const end = i + p.tokens.length;
    for (let k = i; k < end; k++) stop[k] = 1;
    if (p.role === "trigger") triggers.push({ start: i, end, p });
    i = end;
  }
  const answerMarks = new Set([":", "?", "-", "–"]);
  const endsLine = (end: number): boolean => {
    for (let j = end; j < n; j++) {
      if (tokens[j].kind === "newline") return true;
      if (tokens[j].kind !== "punct") return false;
    }
    return true;
  };
  const sentenceEnd = (t: Token): boolean =>
    t.kind === "newline" || (t.kind === "punct" && (t.text === "." || t.text === "!" || t.text === "?"));
  for (const { start, end, p } of triggers) {
    if (p.sentence) {
      for (let j = start - 1; j >= 0 && !sentenceEnd(tokens[j]); j--) flags[j] |= p.bit;
      for (let j = end; j < n && !sentenceEnd(tokens[j]); j++) flags[j] |= p.bit;
    }
    if (p.backward && answerMarks.has(p.tokens[0]) && endsLine(end)) {
      for (let j = start - 1; j >= 0 && tokens[j].kind !== "newline"; j--) flags[j] |= p.bit;
    }
    const lineStart = start === 0 || tokens[start - 1].kind === "newline";
    if (p.forward && lineStart && end < n && tokens[end].text === ":") {
      for (let j = end + 1; j < n && tokens[j].kind !== "newline"; j++) flags[j] |= p.bit;
    }
    if (p.forward) {
      let words = 0;
      for (let j = end; j < n && words < FORWARD_WINDOW && !stop[j]; j++) {
        flags[j] |= p.bit;
        if (tokens[j].kind === "word" || tokens[j].kind === "number") words++;
      }
    }
    if (p.backward) {
      let words = 0;
      for (let j = start - 1; j >= 0 && words < BACKWARD_WINDOW && !stop[j]; j--) {
        flags[j] |= p.bit;
        if (tokens[j].kind === "word" || tokens[j].kind === "number") words++;
      }
    }
  }
  for (let q = 0; q < n; q++) {
    if (tokens[q].text !== "?" || !endsLine(q + 1)) continue;
    for (let j = q - 1; j >= 0; j--) {
      const t = tokens[j];
      if (
        t.kind === "newline" ||
        (t.kind === "punct" && (t.text === "." || t.text === "!" || t.text === "?"))
      )
        break;
      flags[j] |= QUESTION_BIT;
    }
  }
  return flags;
}

/** The feature prefix for a context bit set, e.g. 1 → "neg:", 3 → "neg:fam:", 16 → "hyp:", 0 → "". */
export function contextPrefix(flags: number): string {
  let s = "";
  if (flags & CONTEXT_BITS.neg) s += "neg:";
  if (flags & CONTEXT_BITS.fam) s += "fam:";
  if (flags & CONTEXT_BITS.plan) s += "plan:";
  if (flags & CONTEXT_BITS.rem) s += "rem:";
  if (flags & QUESTION_BIT) s += "hyp:";
  return s;
}
