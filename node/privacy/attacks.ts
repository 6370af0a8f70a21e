/**
 * Scoring of privacy attacks on model updates (docs/privacy.md, "Attacks"): the attacker gives every
 * candidate a score (higher = "was in the training data"), and these functions turn the scores of the true
 * members (`pos`) and of candidates known not to be members (`neg`) into the usual figures.
 *
 * - {@link auc}: the area under the ROC curve, the Mann–Whitney probability that a random member scores
 *   above a random non-member, ties counting one half. 0.5 is guessing.
 * - {@link tprAtFpr}: the best true-positive rate of a threshold whose false-positive rate is at most the
 *   given one (a candidate is flagged when its score is strictly above the threshold).
 * - {@link ratesAbove}: recall and false-positive rate of one fixed threshold (for example "non-zero").
 * - {@link maxRecallOverFpr}: the largest recall / FPR over all thresholds with FPR ≥ a floor; the
 *   operational form of "vocabulary recall ≤ 2× its false-positive rate".
 *
 * And the model side of the attacks: {@link rowChangeNorms} (L2 norm of each embedding row's change) and
 * {@link wordRowId}, {@link termRowIds} (which rows a word or a name hashes to).
 *
 * @example
 * auc([0.9, 0.4], [0.1, 0.4, 0.2]) // (3 + 2.5) / 6 = 0.9166…
 */
import { featurize, type FeatureConfig } from "../text/features";
import type { Lang } from "../text/labels";
import { normalizeText } from "../text/normalize";
import { tokenize } from "../text/tokenize";

function checkScores(pos: readonly number[], neg: readonly number[]): void {
  if (pos.length === 0 || neg.length === 0)
    throw new RangeError("attack scoring needs members and non-members");
  for (const x of [...pos, ...neg]) if (Number.isNaN(x)) throw new RangeError("attack score is NaN");
}

/**
 * ROC AUC = P(member score > non-member score) + ½·P(equal), computed by ranks (O(n log n)).
 * @example auc([3], [1, 2]) // 1
 */
export function auc(pos: readonly number[], neg: readonly number[]): number {
  checkScores(pos, neg);
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => a.s - b.s);
  // Sum of the (mid-)ranks of the members, ranks from 1.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    const mid = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].p) rankSum += mid;
    i = j;
  }
  const P = pos.length;
  return (rankSum - (P * (P + 1)) / 2) / (P * neg.length);
}

/** Recall (share of members) and false-positive rate (share of non-members) with score > threshold. */
export function ratesAbove(
  pos: readonly number[],
  neg: readonly number[],
  threshold: number,
): { recall: number; fpr: number } {
  checkScores(pos, neg);
  const above = (xs: readonly number[]) => xs.filter((x) => x > threshold).length / xs.length;
  return { recall: above(pos), fpr: above(neg) };
}

/**
 * The best true-positive rate at false-positive rate ≤ `fpr`: with m = ⌊fpr·N⌋ of the N non-members
 * allowed above the threshold, the threshold is the (m+1)-th largest non-member score and a member counts
 * when it scores strictly above it. With 99 non-members and fpr 0.01, m = 0: a member must beat every one.
 */
export function tprAtFpr(pos: readonly number[], neg: readonly number[], fpr: number): number {
  checkScores(pos, neg);
  const sorted = [...neg].sort((a, b) => b - a);
  const m = Math.floor(fpr * sorted.length + 1e-9);
  if (m >= sorted.length) return 1;
  const threshold = sorted[m];
  return pos.filter((x) => x > threshold).length / pos.length;
}

/** One point of a ROC curve: flag every candidate with score ≥ threshold. */
export interface RocPoint {
  threshold: number;
  fpr: number;
  tpr: number;
}

/** The ROC curve at every distinct score, from the highest threshold down (fpr and tpr non-decreasing). */
export function rocCurve(pos: readonly number[], neg: readonly number[]): RocPoint[] {
  checkScores(pos, neg);
  const all = [...pos.map((s) => ({ s, p: 1 })), ...neg.map((s) => ({ s, p: 0 }))].sort((a, b) => b.s - a.s);
  const out: RocPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) {
      if (all[j].p) tp++;
      else fp++;
      j++;
    }
    out.push({ threshold: all[i].s, fpr: fp / neg.length, tpr: tp / pos.length });
    i = j;
  }
  return out;
}

/**
 * max over thresholds with FPR ≥ `minFpr` of recall / FPR, and the point where it is reached. A value ≤ 2
 * means no threshold the attacker could pick (above the floor) recovers members at more than twice the rate
 * it wrongly flags non-members. The floor is needed because near FPR 0 one lucky member makes the ratio
 * infinite; it should leave enough non-members above the threshold to measure the rate (≥ 1% of thousands).
 */
export function maxRecallOverFpr(
  pos: readonly number[],
  neg: readonly number[],
  minFpr: number,
): { ratio: number; fpr: number; recall: number } {
  let best = { ratio: 0, fpr: 1, recall: 1 };
  for (const p of rocCurve(pos, neg)) {
    if (p.fpr < minFpr || p.fpr === 0) continue;
    const ratio = p.tpr / p.fpr;
    if (ratio > best.ratio) best = { ratio, fpr: p.fpr, recall: p.tpr };
  }
  return best;
}

/** L2 norm of the change of each listed row of a [rows, dim] table: ‖after[r] − before[r]‖₂. */
export function rowChangeNorms(
  after: Float32Array,
  before: Float32Array,
  dim: number,
  rows: readonly number[],
): number[] {
  return rows.map((r) => {
    let s = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      const d = after[j] - before[j];
      s += d * d;
    }
    return Math.sqrt(s);
  });
}

/** Features without lexicon concepts: the rows of a word's own unigram and character n-grams. */
function plainFeatures(config: FeatureConfig): FeatureConfig {
  const { lexicon: _lexicon, ...rest } = config;
  return rest;
}

/** The embedding row of a word's unigram feature "w:" + word (outside any negation or other context). */
export function wordRowId(word: string, lang: Lang, config: FeatureConfig): number {
  return featurize(word, lang, plainFeatures(config))[0];
}

/** Which rows of a word an attack looks at: its unigram, plus its longest character n-grams, or plus all of them. */
export type TermRows = "unigram" | "longest-grams" | "all-grams";

/**
 * The distinct rows of a word (or made-up name): its unigram row ({@link wordRowId}) first, then, for
 * "longest-grams", its character n-grams of the longest length (the most specific: shorter ones are shared
 * with ordinary words), or for "all-grams" every character n-gram row.
 */
export function termRowIds(term: string, lang: Lang, config: FeatureConfig, which: TermRows): number[] {
  const plain = plainFeatures(config);
  const ids = new Set<number>([wordRowId(term, lang, config)]);
  if (which !== "unigram" && config.charNgramMax > 0) {
    const min = which === "longest-grams" ? plain.charNgramMax : plain.charNgramMin;
    const grams = featurize(term, lang, { ...plain, charNgramMin: min, wordNgrams: 1 });
    for (let i = 1; i < grams.length; i++) ids.add(grams[i]);
  }
  return [...ids];
}

/** Distinct words of at least `minLetters` letters (lower case, as the features see them) of some texts. */
export function distinctWords(texts: Iterable<string>, minLetters = 4): Set<string> {
  const out = new Set<string>();
  const re = new RegExp(`^\\p{L}{${minLetters},}$`, "u");
  for (const text of texts) {
    for (const t of tokenize(normalizeText(text))) if (t.kind === "word" && re.test(t.text)) out.add(t.text);
  }
  return out;
}
