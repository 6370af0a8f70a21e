/**
 * Prediction with evidence: which implant categories a note reports as currently present, whether it
 * reports an adverse drug reaction, the probability of every label, and the sentences behind each
 * positive label.
 *
 * Evidence: every sentence of a note (the text pipeline's splitSentences) is scored alone (with sentence
 * units these are the unit scores the note's score is the maximum of); for each predicted label the
 * sentences that are positive for it on their own are kept. When none is, the sentence with the highest
 * probability for that label is kept, so a positive always comes with a sentence to read. Evidence
 * sentences are listed once each, in text order.
 */
import { featurize, splitSentences } from "../text/features";
import { IMPLANT_CATEGORIES, type ImplantCategory, type Label, type Lang } from "../text/labels";
import { unitTexts, type TextInput } from "./dataset";
import { maxPerNote, Scorer } from "./scorer";
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

/**
 * For each note, its evidence candidates (sentences) and their probabilities, row-major [sentences, labels].
 * With sentence units the unit scores are the sentence scores; with note units each sentence is scored alone.
 */
interface Scored {
  noteProbs: Float32Array;
  sentences: string[][];
  sentenceProbs: Float32Array[];
}

function scoreNotes(scorer: Scorer, notes: readonly PredictInput[], withEvidence: boolean): Scored {
  const { spec } = scorer;
  const L = spec.labels.length;
  const texts = notes.map((n) => unitTexts(n.text, spec));
  const units = notes.map((n, i) => texts[i].map((t) => featurize(t, n.lang, spec.features)));
  const unitProbs = scorer.scoreUnits(units.flat());
  const noteProbs = maxPerNote(units, unitProbs, L);
  const sentences: string[][] = notes.map(() => []);
  const sentenceProbs: Float32Array[] = notes.map(() => new Float32Array(0));
  if (!withEvidence) return { noteProbs, sentences, sentenceProbs };
  if (spec.unit === "sentence") {
    let unit = 0;
    texts.forEach((t, i) => {
      sentences[i] = t;
      sentenceProbs[i] = unitProbs.subarray(unit * L, (unit + t.length) * L);
      unit += t.length;
    });
  } else {
    const positive = notes.map((_, i) => labelsAbove(spec, noteProbs, i).length > 0);
    notes.forEach((n, i) => (sentences[i] = positive[i] ? splitSentences(n.text) : []));
    const flat = notes.flatMap((n, i) => sentences[i].map((s) => featurize(s, n.lang, spec.features)));
    const probs = scorer.scoreUnits(flat);
    let row = 0;
    sentences.forEach((s, i) => {
      sentenceProbs[i] = probs.subarray(row * L, (row + s.length) * L);
      row += s.length;
    });
  }
  return { noteProbs, sentences, sentenceProbs };
}

/** Sentences positive on their own for a predicted label (else the best one for it), in text order. */
function pickEvidence(spec: ModelSpec, labels: Label[], sentences: string[], probs: Float32Array): string[] {
  const L = spec.labels.length;
  const keep = new Set<number>();
  for (const label of labels) {
    const li = spec.labels.indexOf(label);
    let best = -1;
    let found = false;
    for (let s = 0; s < sentences.length; s++) {
      if (sentences[s].trim() === "") continue;
      const p = probs[s * L + li];
      if (p >= spec.threshold) {
        keep.add(s);
        found = true;
      }
      if (best < 0 || p > probs[best * L + li]) best = s;
    }
    if (!found && best >= 0) keep.add(best);
  }
  return [...keep].sort((a, b) => a - b).map((s) => sentences[s]);
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
  const scored = scoreNotes(scorer, notes, options.evidence !== false);
  const probs = scored.noteProbs;
  return notes.map((note, row) => {
    const labels = labelsAbove(spec, probs, row);
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
      evidence: pickEvidence(spec, labels, scored.sentences[row], scored.sentenceProbs[row]),
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
