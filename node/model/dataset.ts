/**
 * Turns notes into what the network consumes: per note a list of units (the whole note, or each sentence,
 * as the spec says), each unit the hashed feature ids of the text pipeline's featurize with the spec's
 * feature config; and a multi-hot target row per note in the spec's label order.
 */
import { featurize, splitSentences } from "../text/features";
import type { Label, Lang } from "../text/labels";
import type { ModelSpec } from "./spec";

/** The fields of a note the model reads (the text pipeline's Note satisfies it). */
export interface TextInput {
  lang: Lang;
  text: string;
}

/** A note with its gold labels. */
export interface LabelledText extends TextInput {
  labels: readonly Label[];
}

/** Feature ids of each unit of one note. */
export type NoteFeatures = Uint32Array[];

/** Featurised notes with targets. */
export interface Dataset {
  features: NoteFeatures[];
  /** Row-major [notes, labels] multi-hot targets. */
  targets: Float32Array;
  numLabels: number;
}

/**
 * The texts of the units of a note: `[text]` for note units; for sentence units the sentences of
 * splitSentences, or `[""]` when the text has none (the unit of the empty text).
 */
export function unitTexts(text: string, spec: ModelSpec): string[] {
  if (spec.unit === "note") return [text];
  const sentences = splitSentences(text);
  return sentences.length > 0 ? sentences : [""];
}

/** Feature ids of each unit of one text. */
export function featurizeText(text: string, lang: Lang, spec: ModelSpec): NoteFeatures {
  return unitTexts(text, spec).map((u) => featurize(u, lang, spec.features));
}

/** Units of each text. */
export function featurizeTexts(texts: readonly TextInput[], spec: ModelSpec): NoteFeatures[] {
  return texts.map((t) => featurizeText(t.text, t.lang, spec));
}

/** Multi-hot targets [notes, labels] in the spec's label order; labels outside the spec are ignored. */
export function targetMatrix(notes: readonly { labels: readonly Label[] }[], spec: ModelSpec): Float32Array {
  const index = new Map(spec.labels.map((l, i) => [l, i] as const));
  const L = spec.labels.length;
  const targets = new Float32Array(notes.length * L);
  notes.forEach((n, row) => {
    for (const l of n.labels) {
      const i = index.get(l);
      if (i !== undefined) targets[row * L + i] = 1;
    }
  });
  return targets;
}

/** Featurises labelled notes for training or evaluation. */
export function buildDataset(notes: readonly LabelledText[], spec: ModelSpec): Dataset {
  return {
    features: featurizeTexts(notes, spec),
    targets: targetMatrix(notes, spec),
    numLabels: spec.labels.length,
  };
}

/** Notes of several datasets in one, in order (for pooling sites' notes). */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  const L = parts[0].numLabels;
  const targets = new Float32Array(parts.reduce((n, p) => n + p.targets.length, 0));
  let pos = 0;
  for (const p of parts) {
    targets.set(p.targets, pos);
    pos += p.targets.length;
  }
  return { features: parts.flatMap((p) => p.features), targets, numLabels: L };
}
