/** Small specs and hand-made notes shared by the model tests (kept tiny so the tests stay fast). */
import { defaultSpec, DEFAULT_TRAINING, type ModelSpec } from "../../node/model/spec";
import type { LabelledText } from "../../node/model/dataset";

/** A small model: 4,096 buckets, 8 dimensions, trained with Adam at a high rate. */
export function tinySpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return defaultSpec({
    features: { buckets: 4096, wordNgrams: 2, charNgramMin: 3, charNgramMax: 4 },
    dim: 8,
    hidden: 0,
    training: { ...DEFAULT_TRAINING, lr: 0.1, epochs: 2, batchSize: 8 },
    ...overrides,
  });
}

const FILLER = [
  "Kontroll på mottagningen.",
  "Blodtrycket är normalt.",
  "Patienten mår bra.",
  "Inga nya besvär.",
  "Återbesök om ett år.",
];

/**
 * A trivially separable Swedish set: notes mentioning a pacemaker carry cardiac_rhythm_device, notes
 * mentioning a rash after a drug carry adr, some carry both, the rest carry nothing.
 */
export function separableNotes(n: number): LabelledText[] {
  const notes: LabelledText[] = [];
  for (let i = 0; i < n; i++) {
    const filler = FILLER[i % FILLER.length];
    const kind = i % 4;
    if (kind === 3)
      notes.push({
        lang: "sv",
        text: `Utslag efter amoxicillin. ${filler} Patienten har pacemaker.`,
        labels: ["cardiac_rhythm_device", "adr"],
      });
    else if (kind === 0)
      notes.push({
        lang: "sv",
        text: `${filler} Patienten har pacemaker.`,
        labels: ["cardiac_rhythm_device"],
      });
    else if (kind === 1)
      notes.push({ lang: "sv", text: `${filler} Utslag efter amoxicillin.`, labels: ["adr"] });
    else notes.push({ lang: "sv", text: filler, labels: [] });
  }
  return notes;
}
