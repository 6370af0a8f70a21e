/**
 * Reading a record's notes with the model and the lexicon: per note, the implant categories the model
 * predicts as current, whether it reports an adverse drug reaction, the note's sentences read with the
 * lexicon, and which evidence sentences back which label.
 *
 * The model's evidence (predictWithScorer) lists the sentences behind all positive labels together; each
 * evidence sentence is scored alone once more, and a label keeps the evidence sentences positive for it on
 * their own, else its best one (the rule predictWithScorer uses to pick them).
 */
import { predictWithScorer } from "../model/predict";
import type { Scorer } from "../model/scorer";
import { featurize } from "../text/features";
import type { ImplantCategory, Label } from "../text/labels";
import type { RecordNote } from "./record";
import { readSentences, type ReadSentence } from "./sentences";

/** One note read by the model and the lexicon. */
export interface NoteReading {
  note: RecordNote;
  sentences: ReadSentence[];
  /** Implant categories the model predicts as current in this note. */
  categories: ImplantCategory[];
  /** True when the model predicts an adverse drug reaction. */
  adr: boolean;
  /** Per predicted label, the indices (into `sentences`) of its evidence sentences, in text order. */
  evidence: Partial<Record<Label, number[]>>;
}

/**
 * Reads notes with a loaded model.
 * @example const readings = readNotes(scorer, record.notes);
 */
export function readNotes(scorer: Scorer, notes: readonly RecordNote[]): NoteReading[] {
  const { spec } = scorer;
  const L = spec.labels.length;
  const predictions = predictWithScorer(
    scorer,
    notes.map((n) => ({ id: n.note, text: n.text, lang: n.lang })),
  );
  const readings: NoteReading[] = [];
  const pending: { reading: NoteReading; labels: Label[]; indices: number[] }[] = [];
  const units: Uint32Array[] = [];
  notes.forEach((note, i) => {
    const p = predictions[i];
    const sentences = readSentences(note.text, note.lang);
    const reading: NoteReading = { note, sentences, categories: p.categories, adr: p.adr, evidence: {} };
    readings.push(reading);
    if (p.labels.length === 0) return;
    const used = new Set<number>();
    const indices: number[] = [];
    for (const ev of p.evidence) {
      const at = sentences.findIndex((s, k) => !used.has(k) && s.original === ev);
      if (at < 0) continue;
      used.add(at);
      indices.push(at);
      units.push(featurize(sentences[at].original, note.lang, spec.features));
    }
    pending.push({ reading, labels: p.labels, indices });
  });
  const probs = scorer.scoreUnits(units);
  let row = 0;
  for (const { reading, labels, indices } of pending) {
    for (const label of labels) {
      const li = spec.labels.indexOf(label);
      const keep: number[] = [];
      let best = -1;
      let bestProb = -1;
      indices.forEach((sentence, k) => {
        const prob = probs[(row + k) * L + li];
        if (prob >= spec.threshold) keep.push(sentence);
        if (prob > bestProb) [best, bestProb] = [sentence, prob];
      });
      if (keep.length === 0 && best >= 0) keep.push(best);
      reading.evidence[label] = keep.sort((a, b) => a - b);
    }
    row += indices.length;
  }
  return readings;
}
