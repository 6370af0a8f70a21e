/**
 * Feature extraction: text → hashed feature ids for the fastText-style model.
 *
 * Steps (docs/text-pipeline.md has the exact scheme, so any implementation can reproduce the ids):
 * 1. normalizeText: NFC, lower case, uniform hyphens.
 * 2. tokenize: words (with hyphen/colon compounds), numbers, punctuation, line breaks.
 * 3. markContext: NegEx-style scopes; a token in scope gets the prefix "neg:", "fam:", "plan:", "rem:".
 * 4. Feature strings per token, hashed with 32-bit FNV-1a over UTF-8, id = 1 + (hash mod (buckets - 1)):
 *    - "w:" + prefix + token  (numbers as their shape: every digit becomes "0");
 *    - "w:" + prefix + part for each part of a word joined by "-", ":" or an apostrophe;
 *    - "c:" + prefix + n-gram for every character n-gram (n in [charNgramMin, charNgramMax], counted in
 *      code points) of "<" + word + ">", for words of at most 64 code points;
 *    - "w" + n + ":" + (prefix + token) joined by " " for word n-grams, 2 ≤ n ≤ wordNgrams, over runs
 *      of words and numbers not broken by punctuation or a line break.
 * 5. Id 0 is reserved: it is the single feature of a text without words or numbers.
 * The language only selects the context trigger lists.
 */
import { contextPrefix, markContext } from "./context";
import { FNV_OFFSET, fnv1aCodePoint, fnv1aContinue } from "./hash";
import type { Lang } from "./labels";
import { normalizeText } from "./normalize";
import { tokenize } from "./tokenize";

export { splitSentences, sentenceSpans, type SentenceSpan } from "./sentences";

/** Hashing and n-gram settings. Part of a model's definition: ids change when any field changes. */
export interface FeatureConfig {
  /** Number of hash buckets (ids are in [0, buckets)); a power of two ≥ 2. */
  buckets: number;
  /** Longest word n-gram: 1 = unigrams only, 2 = unigrams and bigrams. */
  wordNgrams: number;
  /** Shortest character n-gram in code points (0 disables character n-grams together with max 0). */
  charNgramMin: number;
  /** Longest character n-gram in code points. */
  charNgramMax: number;
}

/**
 * Default settings: 2^16 buckets (a 65,536-row embedding table trains fast enough on one core and keeps
 * collisions tolerable for five languages), unigrams and bigrams, character 3- to 5-grams.
 */
export const DEFAULT_FEATURE_CONFIG: FeatureConfig = Object.freeze({
  buckets: 1 << 16,
  wordNgrams: 2,
  charNgramMin: 3,
  charNgramMax: 5,
});

/** The id emitted for a text that has no words or numbers. */
export const EMPTY_FEATURE_ID = 0;
/** Words longer than this (in code points) get no character n-grams (URLs, encoded blobs). */
export const MAX_CHAR_NGRAM_WORD = 64;

/**
 * Checks a feature configuration and throws a RangeError naming the bad field.
 */
export function validateFeatureConfig(c: FeatureConfig): void {
  const isInt = (x: number): boolean => Number.isInteger(x);
  if (!isInt(c.buckets) || c.buckets < 2 || c.buckets > 2 ** 31 || (c.buckets & (c.buckets - 1)) !== 0)
    throw new RangeError(`buckets must be a power of two between 2 and 2^31, got ${c.buckets}`);
  if (!isInt(c.wordNgrams) || c.wordNgrams < 1 || c.wordNgrams > 5)
    throw new RangeError(`wordNgrams must be an integer from 1 to 5, got ${c.wordNgrams}`);
  const charOff = c.charNgramMin === 0 && c.charNgramMax === 0;
  if (
    !charOff &&
    (!isInt(c.charNgramMin) ||
      !isInt(c.charNgramMax) ||
      c.charNgramMin < 1 ||
      c.charNgramMax < c.charNgramMin ||
      c.charNgramMax > 10)
  )
    throw new RangeError(
      `character n-grams need 1 ≤ charNgramMin ≤ charNgramMax ≤ 10 (or both 0), got ${c.charNgramMin}..${c.charNgramMax}`,
    );
}

/** A growable Uint32 buffer. */
class IdBuffer {
  private buf: Uint32Array;
  length = 0;
  constructor(capacity: number) {
    this.buf = new Uint32Array(Math.max(16, capacity));
  }
  push(id: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = id;
  }
  result(): Uint32Array {
    return this.buf.slice(0, this.length);
  }
}

const PREFIXES = Array.from({ length: 16 }, (_, f) => contextPrefix(f));
const UNIGRAM_BASE = PREFIXES.map((p) => fnv1aContinue(fnv1aContinue(FNV_OFFSET, "w:"), p));
const CHAR_BASE = PREFIXES.map((p) => fnv1aContinue(fnv1aContinue(FNV_OFFSET, "c:"), p));
const NGRAM_BASE = [0, 0, 2, 3, 4, 5].map((n) => fnv1aContinue(FNV_OFFSET, `w${n}:`));
const LT = 0x3c; // "<"
const GT = 0x3e; // ">"

function numberShape(s: string): string {
  return s.replace(/\p{N}/gu, "0");
}

/**
 * Turns a clinical note into hashed feature ids.
 *
 * Deterministic: the same text, language and config always give the same ids in the same order.
 * Ids are in [0, buckets); repeats are kept (a term said twice counts twice); never empty.
 *
 * @param text the note text (any length; linear time)
 * @param lang the note's language, selecting negation and context triggers
 * @param config hashing settings, default {@link DEFAULT_FEATURE_CONFIG}
 * @example featurize("Pasienten har pacemaker.", "nb") // Uint32Array of ~60 ids
 */
export function featurize(
  text: string,
  lang: Lang,
  config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
): Uint32Array {
  if (config !== DEFAULT_FEATURE_CONFIG) validateFeatureConfig(config);
  const mod = config.buckets - 1;
  const toId = (h: number): number => 1 + ((h >>> 0) % mod);
  const tokens = tokenize(normalizeText(text));
  const flags = markContext(tokens, lang);
  const out = new IdBuffer(tokens.length * 16);
  const cmin = config.charNgramMin;
  const cmax = config.charNgramMax;
  const maxN = config.wordNgrams;
  const cps: number[] = [];
  // Feature strings (prefix + token) of the current run of words, for word n-grams.
  const run: string[] = [];

  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t];
    if (tok.kind !== "word" && tok.kind !== "number") {
      run.length = 0;
      continue;
    }
    const f = flags[t];
    const word = tok.kind === "number" ? numberShape(tok.text) : tok.text;
    out.push(toId(fnv1aContinue(UNIGRAM_BASE[f], word)));

    if (tok.kind === "word") {
      // Parts of compounds joined by "-", ":" or an apostrophe.
      if (/[-:'’]/.test(word)) {
        for (const part of word.split(/[-:'’]/))
          if (part) out.push(toId(fnv1aContinue(UNIGRAM_BASE[f], part)));
      }
      // Character n-grams of "<word>".
      if (cmax > 0) {
        cps.length = 0;
        cps.push(LT);
        for (const ch of word) cps.push(ch.codePointAt(0) as number);
        cps.push(GT);
        if (cps.length - 2 <= MAX_CHAR_NGRAM_WORD) {
          const base = CHAR_BASE[f];
          for (let s = 0; s + cmin <= cps.length; s++) {
            let h = base;
            const last = Math.min(cps.length, s + cmax);
            for (let e = s; e < last; e++) {
              h = fnv1aCodePoint(h, cps[e]);
              if (e - s + 1 >= cmin) out.push(toId(h));
            }
          }
        }
      }
    }

    if (maxN >= 2) {
      run.push(PREFIXES[f] + word);
      if (run.length > maxN) run.shift();
      for (let n = 2; n <= Math.min(maxN, run.length); n++) {
        let h = NGRAM_BASE[n];
        for (let k = run.length - n; k < run.length; k++) {
          if (k > run.length - n) h = fnv1aCodePoint(h, 0x20);
          h = fnv1aContinue(h, run[k]);
        }
        out.push(toId(h));
      }
    }
  }
  if (out.length === 0) out.push(EMPTY_FEATURE_ID);
  return out.result();
}
