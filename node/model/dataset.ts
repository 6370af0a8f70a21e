/**
 * Turns notes into what the network consumes: hashed feature ids per note (the text pipeline's featurize
 * with the spec's feature config) and a multi-hot target row per note in the spec's label order.
 */
import { featurize } from "../text/features";
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

/** Featurised notes with targets. */
export interface Dataset {
  features: Uint32Array[];
  /** Row-major [notes, labels] multi-hot targets. */
  targets: Float32Array;
  numLabels: number;
}

/** Feature ids for each text. */
export function featurizeTexts(texts: readonly TextInput[], spec: ModelSpec): Uint32Array[] {
  return texts.map((t) => featurize(t.text, t.lang, spec.features));
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
