/**
 * The lexicon matcher: finds implant terms, makers and models, external devices, drugs, harms and
 * adverse-reaction cues in a tokenised text.
 *
 * Matching, per token of the text pipeline's tokeniser (words are lower case; `raw` keeps the case the
 * note was written in):
 * 1. Several-word entries: every word but the last equal to the token, the last by the entry's mode.
 * 2. "exact": the token equals the entry; an entry with upper-case letters (an abbreviation) must equal
 *    the raw token, so "CI" matches "CI" and "CI:n" never "ci". A Finnish or Estonian case ending after a
 *    colon is ignored for this ("ICD:n", "CRT-D:llä" match "ICD", "CRT-D"). In a hyphenated token the
 *    parts before and after each hyphen count as words of their own for exact and prefix entries
 *    ("PM-kontrollen" has "PM", "ICD-en" has "ICD", "DES-stent" has "DES" and "stent"), unless a part
 *    is a number ("ICD-10").
 * 3. "prefix": the token starts with the entry.
 * 4. "inner": the entry occurs inside the token.
 * 5. Misspellings: a word token of at least {@link FUZZY_MIN} letters that matched nothing else matches a
 *    "prefix" entry of at least {@link FUZZY_MIN} letters when the token's first letters are one edit
 *    (insertion, deletion, substitution or adjacent transposition) away from the entry. Such matches
 *    carry `fuzzy: true`.
 * Every matching entry is reported (a token can be both a maker and a model); results are in token order.
 * Single-token results are cached per token string, so long records with repeated words stay fast.
 */
import type { Lang } from "../labels";
import type { Token } from "../tokenize";
import type { AdrCue, DrugTerm, HarmTerm, ImplantTerm, LexiconTerm } from "./types";

/** Shortest entry and token for misspelling matches. */
export const FUZZY_MIN = 7;
/** Largest number of token strings kept in each cache. */
const CACHE_LIMIT = 200_000;

/** Which list an entry comes from. */
export type EntryKind = "implant" | "drug" | "harm" | "cue";

/** An entry of any list with the list it comes from. */
export type LexiconEntry =
  | { list: "implant"; term: ImplantTerm }
  | { list: "drug"; term: DrugTerm }
  | { list: "harm"; term: HarmTerm }
  | { list: "cue"; term: AdrCue };

/** One match: tokens [start, end) of the text match `entry`. */
export interface LexiconMatch {
  start: number;
  end: number;
  entry: LexiconEntry;
  /** True when the match allows one spelling error. */
  fuzzy: boolean;
}

/** The data of a lexicon. */
export interface LexiconData {
  implants: readonly ImplantTerm[];
  drugs: readonly DrugTerm[];
  harms: readonly HarmTerm[];
  cues: readonly AdrCue[];
}

interface Compiled {
  entry: LexiconEntry;
  /** Lower-case words of the entry (as the tokeniser splits them). */
  words: string[];
  /** Upper-case entry: the raw words must equal these. */
  raw?: string[];
  langs?: ReadonlySet<Lang>;
}

const WORD_RE = /\p{L}[\p{L}\p{M}\p{N}]*(?:[-'’:][\p{L}\p{N}][\p{L}\p{M}\p{N}]*)*|\p{N}+(?:[.,]\p{N}+)*/gu;

function splitWords(text: string): string[] {
  return text.normalize("NFC").match(WORD_RE) ?? [];
}

/** Raw token without a Finnish or Estonian case ending after a colon ("ICD:n" → "ICD"). */
function stripCaseEnding(raw: string): string {
  const colon = raw.lastIndexOf(":");
  return colon > 0 ? raw.slice(0, colon) : raw;
}

/** Optimal string alignment distance, stopping early above 1; true when a and b are at most one edit apart. */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return i + 1 < la && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/** A lexicon compiled for matching. Build once with {@link compileLexicon}; matching is then linear. */
export class Lexicon {
  private readonly exact = new Map<string, Compiled[]>();
  private readonly prefix = new Map<string, Compiled[]>();
  private readonly prefixLengths: number[];
  private readonly inner: Compiled[] = [];
  private readonly multi = new Map<string, Compiled[]>();
  /** Deletion neighbourhood of the long prefix entries: string with one letter deleted (or none) → entries. */
  private readonly fuzzy = new Map<string, Compiled[]>();
  private readonly fuzzyLengths: number[];
  private readonly cache = new Map<string, { entry: Compiled; fuzzy: boolean }[]>();

  constructor(data: LexiconData) {
    const all: Compiled[] = [];
    const add = (entry: LexiconEntry): void => {
      const t: LexiconTerm = entry.term;
      const rawWords = splitWords(t.text);
      if (rawWords.length === 0) throw new Error(`lexicon entry "${t.text}" has no words`);
      const words = rawWords.map((w) => w.toLowerCase());
      const upper = /\p{Lu}/u.test(t.text);
      all.push({
        entry,
        words,
        ...(upper ? { raw: rawWords } : {}),
        ...(t.langs ? { langs: new Set(t.langs) } : {}),
      });
    };
    for (const term of data.implants) add({ list: "implant", term });
    for (const term of data.drugs) add({ list: "drug", term });
    for (const term of data.harms) add({ list: "harm", term });
    for (const term of data.cues) add({ list: "cue", term });
    const push = (map: Map<string, Compiled[]>, key: string, c: Compiled): void => {
      const list = map.get(key);
      if (list) list.push(c);
      else map.set(key, [c]);
    };
    const prefixLengths = new Set<number>();
    const fuzzyLengths = new Set<number>();
    for (const c of all) {
      if (c.words.length > 1) {
        push(this.multi, c.words[0], c);
        continue;
      }
      const w = c.words[0];
      const mode = c.entry.term.match;
      if (mode === "exact") push(this.exact, w, c);
      else if (mode === "prefix") {
        push(this.prefix, w, c);
        prefixLengths.add(w.length);
        if (w.length >= FUZZY_MIN && !c.raw) {
          fuzzyLengths.add(w.length);
          push(this.fuzzy, w, c);
          for (let i = 0; i < w.length; i++) push(this.fuzzy, w.slice(0, i) + w.slice(i + 1), c);
        }
      } else this.inner.push(c);
    }
    this.prefixLengths = [...prefixLengths].sort((a, b) => a - b);
    this.fuzzyLengths = [...fuzzyLengths].sort((a, b) => a - b);
  }

  /** Single-token matches of a word (lower case) and its raw form, cached. */
  private single(word: string, raw: string): { entry: Compiled; fuzzy: boolean }[] {
    const key = word === raw ? word : `${word}\u0000${raw}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const found: { entry: Compiled; fuzzy: boolean }[] = [];
    const bare = stripCaseEnding(raw);
    const bareLower = bare.toLowerCase();
    for (const c of this.exact.get(word) ?? []) if (!c.raw) found.push({ entry: c, fuzzy: false });
    if (bareLower !== word)
      for (const c of this.exact.get(bareLower) ?? []) if (!c.raw) found.push({ entry: c, fuzzy: false });
    for (const c of this.exact.get(bareLower) ?? [])
      if (c.raw && c.raw[0] === bare) found.push({ entry: c, fuzzy: false });
    for (const len of this.prefixLengths) {
      if (len > word.length) break;
      for (const c of this.prefix.get(word.slice(0, len)) ?? []) {
        if (c.raw && !raw.startsWith(c.raw[0])) continue;
        found.push({ entry: c, fuzzy: false });
      }
    }
    for (const c of this.inner) if (word.includes(c.words[0])) found.push({ entry: c, fuzzy: false });
    // Hyphen parts, unless a part is a number: "ICD-10" is a code system, not a device.
    if (found.length === 0 && bare.includes("-") && !/(^|-)\p{N}+(-|$)/u.test(bare)) {
      const parts = bare.split("-");
      for (let k = 1; k < parts.length; k++) {
        for (const piece of [parts.slice(0, k).join("-"), parts.slice(k).join("-")]) {
          if (!piece) continue;
          for (const hit of this.single(piece.toLowerCase(), piece))
            if (hit.entry.entry.term.match !== "inner" && !found.some((f) => f.entry === hit.entry))
              found.push(hit);
        }
      }
    }
    if (found.length === 0 && word.length >= FUZZY_MIN && /^\p{L}+$/u.test(word)) {
      const seen = new Set<Compiled>();
      for (const len of this.fuzzyLengths) {
        if (len > word.length + 1) break;
        for (const take of [len - 1, len, len + 1]) {
          if (take < FUZZY_MIN - 1 || take > word.length) continue;
          const head = word.slice(0, take);
          const keys = [head];
          for (let i = 0; i < head.length; i++) keys.push(head.slice(0, i) + head.slice(i + 1));
          for (const k of keys) {
            for (const c of this.fuzzy.get(k) ?? []) {
              if (seen.has(c) || !withinOneEdit(head, c.words[0])) continue;
              seen.add(c);
              found.push({ entry: c, fuzzy: true });
            }
          }
        }
      }
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, found);
    return found;
  }

  private multiAt(tokens: readonly Token[], raws: readonly string[], i: number): Compiled[] {
    const out: Compiled[] = [];
    for (const c of this.multi.get(tokens[i].text) ?? []) {
      const n = c.words.length;
      if (i + n > tokens.length) continue;
      let ok = true;
      for (let k = 0; k < n && ok; k++) {
        const tok = tokens[i + k].text;
        const w = c.words[k];
        if (
          c.raw &&
          stripCaseEnding(raws[i + k]) !== c.raw[k] &&
          !(k === n - 1 && raws[i + k].startsWith(c.raw[k]))
        )
          ok = false;
        else if (k < n - 1 || c.entry.term.match === "exact") ok = tok === w || stripCaseEnding(tok) === w;
        else if (c.entry.term.match === "prefix") ok = tok.startsWith(w);
        else ok = tok.includes(w);
      }
      if (ok) out.push(c);
    }
    return out;
  }

  /**
   * All matches in a tokenised text, in token order.
   * @param tokens tokens of the normalised text (lower case)
   * @param raws the same tokens as written (same length as `tokens`); pass `tokens.map(t => t.text)` when
   *   the case is not known (abbreviation entries then never match)
   * @param lang the note language: entries restricted to other languages are skipped
   */
  match(tokens: readonly Token[], raws: readonly string[], lang: Lang): LexiconMatch[] {
    const out: LexiconMatch[] = [];
    const usable = (c: Compiled): boolean => !c.langs || c.langs.has(lang);
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i];
      if (tok.kind !== "word" && tok.kind !== "number") continue;
      if (this.multi.size > 0)
        for (const c of this.multiAt(tokens, raws, i))
          if (usable(c)) out.push({ start: i, end: i + c.words.length, entry: c.entry, fuzzy: false });
      if (tok.kind !== "word") continue;
      for (const { entry, fuzzy } of this.single(tok.text, raws[i]))
        if (usable(entry)) out.push({ start: i, end: i + 1, entry: entry.entry, fuzzy });
    }
    return out;
  }
}

/** Compiles lexicon data for matching. */
export function compileLexicon(data: LexiconData): Lexicon {
  return new Lexicon(data);
}
