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
 * 5. With `lexicon` set, concept features from the curated lexicon (./lexicon), each added
 *    copies = min(64, ceil(weight × √m / 4)) times, where m is the number of ids the steps above emitted
 *    for the text: the bag is scaled by 1/√count, so this keeps a concept's share of the bag about the same
 *    in a short and in a long sentence (a device named in a long sentence weighs as much as in a short
 *    one); the cap keeps a whole long note linear in its length:
 *    - "k:" + prefix + concept for every lexicon match, where prefix is the context prefix of the match's
 *      first token and concept is the implant category (also "implant" for any implant category),
 *      "external_device", "drug", "harm" or "cue_" + the cue kind; a concept counts once per token (the
 *      first match in order that covers the token);
 *    - "k:and:" + combination for the combinations of un-negated drug, un-negated harm and cue kinds that
 *      occur in the text: "drug+harm", "drug+harm+cause", "drug+cause", "harm+cause", "drug+tolerated",
 *      "drug+info", "drug+uncertain".
 *    They come after the token features, matches in token order, then the combinations in that order.
 * 6. Id 0 is reserved: it is the single feature of a text without words or numbers.
 * The language selects the context trigger lists and the lexicon entries of that language.
 */
import { FedledgerError } from "../errors";
import { contextPrefix, markContext } from "./context";
import { FNV_OFFSET, fnv1aCodePoint, fnv1aContinue } from "./hash";
import type { Lang } from "./labels";
import { defaultLexicon, LEXICON_HASH, type LexiconMatch } from "./lexicon";
import { normalizeForm, normalizeText } from "./normalize";
import { tokenize, tokenizeCased, type Token } from "./tokenize";

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
  /** Lexicon concept features; absent: none. */
  lexicon?: LexiconFeatures;
}

/** How lexicon concept features are added. */
export interface LexiconFeatures {
  /** Weight of each concept feature (1 to 32): added min(64, ceil(weight × √m / 4)) times, m the text's other ids. */
  weight: number;
  /** The lexicon the ids come from: its {@link LEXICON_HASH}. Featurising with another lexicon is refused. */
  hash: string;
}

/** Raised when a feature config names a lexicon this build does not have. */
export class LexiconMismatchError extends FedledgerError {
  constructor(wanted: string) {
    super(
      `the model's features use lexicon ${wanted.slice(0, 12)}…, this build has ${LEXICON_HASH.slice(0, 12)}…`,
      {
        hint: "run the fedledger version the model was trained with, or train the model again with this one",
        exitCode: 2,
      },
    );
  }
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
  lexicon: Object.freeze({ weight: 8, hash: LEXICON_HASH }),
});

/** Most copies of one concept feature (see the module comment). */
export const MAX_CONCEPT_COPIES = 64;

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
  if (c.lexicon) {
    if (!isInt(c.lexicon.weight) || c.lexicon.weight < 1 || c.lexicon.weight > 32)
      throw new RangeError(`lexicon.weight must be an integer from 1 to 32, got ${c.lexicon.weight}`);
    if (c.lexicon.hash !== LEXICON_HASH) throw new LexiconMismatchError(c.lexicon.hash);
  }
}

const PREFIXES = Array.from({ length: 32 }, (_, f) => contextPrefix(f));
const UNIGRAM_BASE = PREFIXES.map((p) => fnv1aContinue(fnv1aContinue(FNV_OFFSET, "w:"), p));
const CHAR_BASE = PREFIXES.map((p) => fnv1aContinue(fnv1aContinue(FNV_OFFSET, "c:"), p));
const NGRAM_BASE = [0, 0, 2, 3, 4, 5].map((n) => fnv1aContinue(FNV_OFFSET, `w${n}:`));
const CONCEPT_BASE = PREFIXES.map((p) => fnv1aContinue(fnv1aContinue(FNV_OFFSET, "k:"), p));
const AND_BASE = fnv1aContinue(FNV_OFFSET, "k:and:");
const LT = 0x3c; // "<"
const GT = 0x3e; // ">"
const JOINERS = /[-:'’]/;
// Local bindings: module loaders that expose imports through getters would otherwise pay a getter
// call per hashed byte in the loops below.
const hashCodePoint = fnv1aCodePoint;
const hashString = fnv1aContinue;

// Reused between calls (featurize is synchronous and not re-entrant); the result is always a copy.
let scratch = new Uint32Array(1 << 14);
const codePoints = new Uint32Array(MAX_CHAR_NGRAM_WORD + 3);

function numberShape(s: string): string {
  return s.replace(/\p{N}/gu, "0");
}

/** Code points of "<" + word + ">" into `out`; returns the count. */
function boundedCodePoints(word: string, out: Uint32Array): number {
  let n = 0;
  out[n++] = LT;
  for (let i = 0; i < word.length && n < out.length - 1; i++) {
    let cp = word.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < word.length) {
      const lo = word.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else cp = 0xfffd;
    } else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    out[n++] = cp;
  }
  out[n++] = GT;
  return n;
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
  let tokens: Token[];
  let raws: string[] = [];
  if (config.lexicon) {
    ({ tokens, raws } = tokenizeCased(normalizeForm(text)));
  } else tokens = tokenize(normalizeText(text));
  const flags = markContext(tokens, lang);
  const cmin = config.charNgramMin;
  const cmax = config.charNgramMax;
  const maxN = config.wordNgrams;
  let out = scratch;
  let len = 0;
  const push = (h: number): void => {
    if (len === out.length) {
      const next = new Uint32Array(out.length * 2);
      next.set(out);
      out = next;
    }
    out[len++] = 1 + ((h >>> 0) % mod);
  };
  const cps = codePoints;
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
    push(hashString(UNIGRAM_BASE[f], word));

    if (tok.kind === "word") {
      // Parts of compounds joined by "-", ":" or an apostrophe.
      if (JOINERS.test(word)) {
        for (const part of word.split(JOINERS)) if (part) push(hashString(UNIGRAM_BASE[f], part));
      }
      // Character n-grams of "<word>" (code points), for words of at most MAX_CHAR_NGRAM_WORD code points.
      if (cmax > 0 && word.length <= 2 * MAX_CHAR_NGRAM_WORD) {
        const n = boundedCodePoints(word, cps);
        if (n - 2 <= MAX_CHAR_NGRAM_WORD && cps[n - 1] === GT) {
          const base = CHAR_BASE[f];
          for (let s = 0; s + cmin <= n; s++) {
            let h = base;
            const last = Math.min(n, s + cmax);
            for (let e = s; e < last; e++) {
              h = hashCodePoint(h, cps[e]);
              if (e - s + 1 >= cmin) push(h);
            }
          }
        }
      }
    }

    if (maxN >= 2) {
      if (run.length === maxN) run.shift();
      run.push(PREFIXES[f] + word);
      for (let n = 2; n <= run.length; n++) {
        let h = NGRAM_BASE[n];
        for (let k = run.length - n; k < run.length; k++) {
          if (k > run.length - n) h = hashCodePoint(h, 0x20);
          h = hashString(h, run[k]);
        }
        push(h);
      }
    }
  }
  if (config.lexicon) {
    const copies = Math.min(MAX_CONCEPT_COPIES, Math.ceil((config.lexicon.weight * Math.sqrt(len)) / 4));
    const pushConcept = (h: number): void => {
      for (let k = 0; k < copies; k++) push(h);
    };
    const matches = defaultLexicon().match(tokens, raws, lang);
    for (const name of conceptNames(matches, flags))
      pushConcept(hashString(CONCEPT_BASE[name.flags], name.concept));
    for (const combo of combinations(matches, flags)) pushConcept(hashString(AND_BASE, combo));
  }
  // Keep a grown buffer for the next call, but do not hold on to a huge one.
  if (out.length <= 1 << 20) scratch = out;
  if (len === 0) return Uint32Array.of(EMPTY_FEATURE_ID);
  return out.slice(0, len);
}

/**
 * Concept names of lexicon matches with the context flags of each match's first token, in match order.
 * A concept is named once per token: when several entries (or a several-word entry and one of its words)
 * name the same concept over a token, the first match in order counts.
 */
function conceptNames(
  matches: readonly LexiconMatch[],
  flags: Uint8Array,
): { concept: string; flags: number }[] {
  const out: { concept: string; flags: number }[] = [];
  const taken = new Map<number, Set<string>>();
  const add = (m: LexiconMatch, concept: string): void => {
    for (let t = m.start; t < m.end; t++) if (taken.get(t)?.has(concept)) return;
    for (let t = m.start; t < m.end; t++) {
      const set = taken.get(t) ?? new Set<string>();
      set.add(concept);
      taken.set(t, set);
    }
    out.push({ concept, flags: flags[m.start] });
  };
  for (const m of matches) {
    const e = m.entry;
    if (e.list === "implant") {
      add(m, e.term.category);
      if (e.term.category !== "external_device") add(m, "implant");
    } else if (e.list === "cue") add(m, `cue_${e.term.kind}`);
    else add(m, e.list);
  }
  return out;
}

/** The drug, harm and cue combinations of a text (see the module comment), in their fixed order. */
function combinations(matches: readonly LexiconMatch[], flags: Uint8Array): string[] {
  let drug = false;
  let harm = false;
  const cues = new Set<string>();
  for (const m of matches) {
    if (m.entry.list === "drug" && flags[m.start] === 0) drug = true;
    else if (m.entry.list === "harm" && flags[m.start] === 0) harm = true;
    else if (m.entry.list === "cue") cues.add(m.entry.term.kind);
  }
  const cause = cues.has("cause");
  const out: string[] = [];
  if (drug && harm) out.push("drug+harm");
  if (drug && harm && cause) out.push("drug+harm+cause");
  if (drug && cause) out.push("drug+cause");
  if (harm && cause) out.push("harm+cause");
  if (drug && cues.has("tolerated")) out.push("drug+tolerated");
  if (drug && cues.has("info")) out.push("drug+info");
  if (drug && cues.has("uncertain")) out.push("drug+uncertain");
  return out;
}
