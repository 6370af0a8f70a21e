/**
 * A model loaded on the backend for inference: sigmoid probabilities per unit (a note or a sentence, as
 * the spec says) and per note (for sentence units, the maximum over the note's sentences; the sigmoid is
 * monotonic, so this equals the sigmoid of the max-pooled logit the network trains with).
 */
import * as tf from "@tensorflow/tfjs";
import { batchTensors, disposeBatchTensors, packIds } from "./bag";
import { initBackend } from "./backend";
import type { NoteFeatures } from "./dataset";
import { disposeParams, logits, uploadParams, type NetworkParams } from "./network";
import { readWeights } from "./params";
import type { ModelSpec } from "./spec";

/** Units per inference batch. */
const BATCH = 1024;

/** A model ready to score notes. Call {@link Scorer.dispose} when done. */
export class Scorer {
  private constructor(
    readonly spec: ModelSpec,
    private params: NetworkParams,
  ) {}

  /** Checks canonical bytes against the spec and uploads them to the backend (starting it if needed). */
  static async load(bytes: Uint8Array, spec: ModelSpec): Promise<Scorer> {
    const weights = readWeights(bytes, spec);
    await initBackend();
    return new Scorer(spec, uploadParams(weights, spec));
  }

  /** Probabilities, row-major [units, labels], of single units scored on their own. */
  scoreUnits(units: readonly Uint32Array[]): Float32Array {
    const L = this.spec.labels.length;
    const out = new Float32Array(units.length * L);
    for (let start = 0; start < units.length; start += BATCH) {
      const chunk = units.slice(start, start + BATCH).map((u) => [u]);
      const batch = batchTensors(packIds(chunk, this.spec.scale, false));
      const probs = tf.tidy(() => tf.sigmoid(logits(this.params, this.spec, batch)));
      out.set(probs.dataSync() as Float32Array, start * L);
      probs.dispose();
      disposeBatchTensors(batch);
    }
    return out;
  }

  /** Probabilities, row-major [notes, labels], for each note's units (see featurizeTexts). */
  score(notes: readonly NoteFeatures[]): Float32Array {
    return maxPerNote(notes, this.scoreUnits(notes.flat()), this.spec.labels.length);
  }

  /** Frees the model's tensors. */
  dispose(): void {
    disposeParams(this.params);
  }
}

/** Note rows [notes, labels] as the maximum of the rows of each note's units in `unitProbs`. */
export function maxPerNote(notes: readonly NoteFeatures[], unitProbs: Float32Array, L: number): Float32Array {
  const out = new Float32Array(notes.length * L);
  let unit = 0;
  notes.forEach((units, n) => {
    for (let i = 0; i < L; i++) out[n * L + i] = unitProbs[unit * L + i];
    for (let k = 1; k < units.length; k++) {
      for (let i = 0; i < L; i++) out[n * L + i] = Math.max(out[n * L + i], unitProbs[(unit + k) * L + i]);
    }
    unit += units.length;
  });
  return out;
}
