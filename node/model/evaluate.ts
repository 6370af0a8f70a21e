/**
 * Evaluation of a model on labelled notes: predictions at the spec's threshold scored with computeMetrics.
 */
import { type LabelledText, featurizeTexts } from "./dataset";
import { computeMetrics, type Metrics } from "./metrics";
import { labelsAbove } from "./predict";
import { Scorer } from "./scorer";
import type { ModelSpec } from "./spec";

/** Predicted labels per note for a loaded model. */
export function predictLabels(scorer: Scorer, notes: readonly LabelledText[]) {
  const probs = scorer.score(featurizeTexts(notes, scorer.spec));
  return notes.map((_, row) => labelsAbove(scorer.spec, probs, row));
}

/** Metrics of a loaded model on labelled notes. */
export function evaluateWithScorer(scorer: Scorer, notes: readonly LabelledText[]): Metrics {
  const predicted = predictLabels(scorer, notes);
  return computeMetrics(
    notes.map((n, i) => ({ lang: n.lang, gold: n.labels, predicted: predicted[i] })),
    scorer.spec.labels,
  );
}

/**
 * Loads a model from canonical bytes, evaluates it on labelled notes and frees it.
 * @example const m = await evaluateModel(bytes, spec, testNotes); console.log(m.macro.f1);
 */
export async function evaluateModel(
  modelBytes: Uint8Array,
  spec: ModelSpec,
  notes: readonly LabelledText[],
): Promise<Metrics> {
  const scorer = await Scorer.load(modelBytes, spec);
  try {
    return evaluateWithScorer(scorer, notes);
  } finally {
    scorer.dispose();
  }
}
