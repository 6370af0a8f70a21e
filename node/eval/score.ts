/**
 * Scores of a model (or of keyword search) on labelled notes, per language and over all of them:
 * - implant: the derived "any current implant" output (precision, recall, F1 over notes);
 * - categories: micro-averaged over the implant categories (each note × category a decision);
 * - adr: precision, recall and F1 of the adverse-reaction label;
 * - hard negatives: the mentions a note was written with (meta.mentions) that are not a current implant
 *   or a reported reaction (negated, a relative's, planned, removed, another context; for ADR: tolerated,
 *   unclear, information, a relative's), counted once per note and label, where the label is not a gold
 *   label of the note; "right" when the label is not predicted.
 */
import { IMPLANT_CATEGORIES, type Label, type Lang } from "../text/labels";
import { MENTION_KINDS, type MentionKind, type NoteMeta } from "../text/note";

/** Mention kinds that are hard negatives: every kind but the two positive ones. */
export const HARD_NEGATIVE_MENTIONS: readonly MentionKind[] = MENTION_KINDS.filter(
  (k) => k !== "positive" && k !== "hard_positive",
);

/** Precision, recall and F1 with their counts; null where undefined (no predictions or no gold). */
export interface Prf {
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** Scores of one set of notes. */
export interface EvalScores {
  notes: number;
  implant: Prf;
  categories: Prf;
  adr: Prf;
  hardNegatives: { total: number; right: number; share: number | null };
}

/** One scored note. */
export interface ScoredNote {
  lang: Lang;
  gold: readonly Label[];
  predicted: readonly Label[];
  meta?: NoteMeta;
}

function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 =
    tp + fp + fn === 0
      ? null
      : tp === 0
        ? 0
        : (2 * (precision as number) * (recall as number)) / ((precision as number) + (recall as number));
  return { tp, fp, fn, precision, recall, f1 };
}

const HARD = new Set<string>(HARD_NEGATIVE_MENTIONS);

function scoreSet(items: readonly ScoredNote[]): EvalScores {
  const c = { it: 0, ifp: 0, ifn: 0, ct: 0, cfp: 0, cfn: 0, at: 0, afp: 0, afn: 0, hard: 0, hardOk: 0 };
  for (const item of items) {
    const gold = new Set(item.gold);
    const pred = new Set(item.predicted);
    const g = IMPLANT_CATEGORIES.some((x) => gold.has(x));
    const p = IMPLANT_CATEGORIES.some((x) => pred.has(x));
    if (g && p) c.it++;
    else if (p) c.ifp++;
    else if (g) c.ifn++;
    for (const cat of IMPLANT_CATEGORIES) {
      if (gold.has(cat) && pred.has(cat)) c.ct++;
      else if (pred.has(cat)) c.cfp++;
      else if (gold.has(cat)) c.cfn++;
    }
    if (gold.has("adr") && pred.has("adr")) c.at++;
    else if (pred.has("adr")) c.afp++;
    else if (gold.has("adr")) c.afn++;
    const seen = new Set<string>();
    for (const m of item.meta?.mentions ?? []) {
      if (!HARD.has(m.kind) || gold.has(m.label) || seen.has(m.label)) continue;
      seen.add(m.label);
      c.hard++;
      if (!pred.has(m.label)) c.hardOk++;
    }
  }
  return {
    notes: items.length,
    implant: prf(c.it, c.ifp, c.ifn),
    categories: prf(c.ct, c.cfp, c.cfn),
    adr: prf(c.at, c.afp, c.afn),
    hardNegatives: { total: c.hard, right: c.hardOk, share: c.hard > 0 ? c.hardOk / c.hard : null },
  };
}

/** Scores over all notes and per language (languages in first-seen order). */
export interface EvalBreakdown {
  all: EvalScores;
  byLang: Partial<Record<Lang, EvalScores>>;
}

/**
 * Scores predictions against gold labels.
 * @example scorePredictions([{ lang: "sv", gold: ["adr"], predicted: ["adr"] }]).all.adr.f1 // 1
 */
export function scorePredictions(items: readonly ScoredNote[]): EvalBreakdown {
  const byLang: Partial<Record<Lang, EvalScores>> = {};
  for (const lang of [...new Set(items.map((i) => i.lang))])
    byLang[lang] = scoreSet(items.filter((i) => i.lang === lang));
  return { all: scoreSet(items), byLang };
}
