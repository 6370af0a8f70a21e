/**
 * Multi-label classification metrics: per-label precision, recall and F1, micro and macro averages, the
 * derived "any implant" output, and a per-language breakdown.
 *
 * Conventions: precision = tp / (tp + fp) and recall = tp / (tp + fn), each 0 when its denominator is 0;
 * F1 = 2·tp / (2·tp + fp + fn). A label with no gold and no predicted positives in the set is "absent":
 * its figures are null and it is left out of the macro averages (which are plain means over the other labels).
 * Micro averages use the counts summed over all labels.
 */
import { hasImplant, type Label, type Lang } from "../text/labels";

/** Counts and scores of one label (or of the derived "implant" output). */
export interface LabelMetrics {
  label: string;
  tp: number;
  fp: number;
  fn: number;
  /** Gold positives. */
  support: number;
  /** null when the label is absent from both gold and predictions. */
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** Averaged scores. */
export interface Averages {
  precision: number;
  recall: number;
  f1: number;
}

/** Scores of one subset (all notes or one language). */
export interface SetMetrics {
  /** Number of notes. */
  n: number;
  perLabel: LabelMetrics[];
  micro: Averages;
  macro: Averages;
  /** The derived output "the note reports at least one current implant". */
  implant: LabelMetrics;
}

/** Metrics over a whole evaluation set with a per-language breakdown. */
export interface Metrics extends SetMetrics {
  byLang: Partial<Record<Lang, SetMetrics>>;
}

function scoreCounts(label: string, tp: number, fp: number, fn: number): LabelMetrics {
  const absent = tp + fp + fn === 0;
  return {
    label,
    tp,
    fp,
    fn,
    support: tp + fn,
    precision: absent ? null : tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: absent ? null : tp + fn === 0 ? 0 : tp / (tp + fn),
    f1: absent ? null : (2 * tp) / (2 * tp + fp + fn),
  };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One evaluated note: its gold labels and the predicted ones. */
export interface LabelledPrediction {
  lang: Lang;
  gold: readonly Label[];
  predicted: readonly Label[];
}

function setMetrics(items: readonly LabelledPrediction[], labels: readonly Label[]): SetMetrics {
  const counts = labels.map(() => ({ tp: 0, fp: 0, fn: 0 }));
  const implant = { tp: 0, fp: 0, fn: 0 };
  for (const item of items) {
    const gold = new Set(item.gold);
    const pred = new Set(item.predicted);
    labels.forEach((l, i) => {
      if (gold.has(l) && pred.has(l)) counts[i].tp++;
      else if (pred.has(l)) counts[i].fp++;
      else if (gold.has(l)) counts[i].fn++;
    });
    const g = hasImplant(item.gold);
    const p = hasImplant(item.predicted);
    if (g && p) implant.tp++;
    else if (p) implant.fp++;
    else if (g) implant.fn++;
  }
  const perLabel = labels.map((l, i) => scoreCounts(l, counts[i].tp, counts[i].fp, counts[i].fn));
  const present = perLabel.filter((m) => m.f1 !== null);
  const sum = counts.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), {
    tp: 0,
    fp: 0,
    fn: 0,
  });
  const micro = scoreCounts("micro", sum.tp, sum.fp, sum.fn);
  return {
    n: items.length,
    perLabel,
    micro: { precision: micro.precision ?? 0, recall: micro.recall ?? 0, f1: micro.f1 ?? 0 },
    macro: {
      precision: mean(present.map((m) => m.precision as number)),
      recall: mean(present.map((m) => m.recall as number)),
      f1: mean(present.map((m) => m.f1 as number)),
    },
    implant: scoreCounts("implant", implant.tp, implant.fp, implant.fn),
  };
}

/**
 * Computes metrics for predicted label sets against gold label sets.
 * @param labels the labels to score, in report order (usually the spec's labels).
 * @example computeMetrics([{ lang: "sv", gold: ["adr"], predicted: ["adr"] }], ["adr"]).macro.f1 // 1
 */
export function computeMetrics(items: readonly LabelledPrediction[], labels: readonly Label[]): Metrics {
  const byLang: Partial<Record<Lang, SetMetrics>> = {};
  const langs = [...new Set(items.map((i) => i.lang))].sort();
  for (const lang of langs) {
    byLang[lang] = setMetrics(
      items.filter((i) => i.lang === lang),
      labels,
    );
  }
  return { ...setMetrics(items, labels), byLang };
}
