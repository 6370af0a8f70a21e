/**
 * Prediction with evidence: which implant categories a note reports as currently present, whether it
 * reports an adverse drug reaction, the probability of every label, and the sentences behind each
 * positive label.
 *
 * Evidence: every sentence of a note (the text pipeline's splitSentences) is scored alone; for each
 * predicted label the sentences that are positive for it on their own are kept. When none is, the sentence
 * with the highest probability for that label is kept, so a positive always comes with a sentence to read.
 * Evidence sentences are listed once each, in text order.
 */
import { featurize, splitSentences } from "../text/features";
import { IMPLANT_CATEGORIES, type ImplantCategory, type Label, type Lang } from "../text/labels";
import { featurizeTexts, type TextInput } from "./dataset";
import { Scorer } from "./scorer";
import type { ModelSpec } from "./spec";

/** A note to predict: an optional id, the text, and its language. */
export interface PredictInput extends TextInput {
  id?: string;
}

/** The prediction for one note. */
export interface Prediction {
  id?: string;
  lang: Lang;
  /** All predicted labels in spec order. */
  labels: Label[];
  /** True when at least one implant category is predicted. */
  implant: boolean;
  /** Predicted implant categories. */
  categories: ImplantCategory[];
  adr: boolean;
  /** Sigmoid probability of every spec label. */
  scores: Record<string, number>;
  /** Sentences that drove the positive labels, in text order. */
  evidence: string[];
}

/** Options of {@link predictWithScorer}. */
export interface PredictOptions {
  /** Find evidence sentences (default true). */
  evidence?: boolean;
}

const IMPLANT_SET = new Set<string>(IMPLANT_CATEGORIES);

/** Labels whose probability reaches the spec's threshold, in spec order. */
export function labelsAbove(spec: ModelSpec, probs: Float32Array, row: number): Label[] {
  const L = spec.labels.length;
  return spec.labels.filter((_, i) => probs[row * L + i] >= spec.threshold);
}

function evidenceFor(scorer: Scorer, notes: readonly PredictInput[], predicted: Label[][]): string[][] {
  const { spec } = scorer;
  const L = spec.labels.length;
  const sentences: { note: number; text: string }[] = [];
  notes.forEach((note, i) => {
    if (predicted[i].length === 0) return;
    for (const s of splitSentences(note.text)) sentences.push({ note: i, text: s });
  });
  const probs = scorer.score(sentences.map((s) => featurize(s.text, notes[s.note].lang, spec.features)));
  const evidence: string[][] = notes.map(() => []);
  let first = 0;
  while (first < sentences.length) {
    const note = sentences[first].note;
    let end = first;
    while (end < sentences.length && sentences[end].note === note) end++;
    const keep = new Set<number>();
    for (const label of predicted[note]) {
      const li = spec.labels.indexOf(label);
      let best = first;
      let found = false;
      for (let s = first; s < end; s++) {
        const p = probs[s * L + li];
        if (p >= spec.threshold) {
          keep.add(s);
          found = true;
        }
        if (p > probs[best * L + li]) best = s;
      }
      if (!found) keep.add(best);
    }
    evidence[note] = [...keep].sort((a, b) => a - b).map((s) => sentences[s].text);
    first = end;
  }
  return evidence;
}

/**
 * Predicts labels, probabilities and evidence for notes with a model already loaded.
 * @example const preds = predictWithScorer(scorer, [{ id: "1", lang: "sv", text: "Har pacemaker." }]);
 */
export function predictWithScorer(
  scorer: Scorer,
  notes: readonly PredictInput[],
  options: PredictOptions = {},
): Prediction[] {
  const { spec } = scorer;
  const L = spec.labels.length;
  const probs = scorer.score(featurizeTexts(notes, spec));
  const predicted = notes.map((_, row) => labelsAbove(spec, probs, row));
  const evidence = options.evidence === false ? notes.map(() => []) : evidenceFor(scorer, notes, predicted);
  return notes.map((note, row) => {
    const labels = predicted[row];
    const categories = labels.filter((l): l is ImplantCategory => IMPLANT_SET.has(l));
    const scores: Record<string, number> = {};
    spec.labels.forEach((l, i) => (scores[l] = probs[row * L + i]));
    return {
      ...(note.id !== undefined ? { id: note.id } : {}),
      lang: note.lang,
      labels,
      implant: categories.length > 0,
      categories,
      adr: labels.includes("adr"),
      scores,
      evidence: evidence[row],
    };
  });
}

/**
 * Loads a model from canonical bytes, predicts the notes and frees the model.
 * @example const [p] = await predictNotes(bytes, spec, [{ lang: "nb", text: "Pasienten har pacemaker." }]);
 */
export async function predictNotes(
  modelBytes: Uint8Array,
  spec: ModelSpec,
  notes: readonly PredictInput[],
  options: PredictOptions = {},
): Promise<Prediction[]> {
  const scorer = await Scorer.load(modelBytes, spec);
  try {
    return predictWithScorer(scorer, notes, options);
  } finally {
    scorer.dispose();
  }
}
