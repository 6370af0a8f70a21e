/**
 * A model loaded on the backend for inference: sigmoid probabilities for batches of featurised notes.
 */
import * as tf from "@tensorflow/tfjs";
import { batchTensors, disposeBatchTensors, packIds } from "./bag";
import { initBackend } from "./backend";
import { disposeParams, logits, uploadParams, type NetworkParams } from "./network";
import { readWeights } from "./params";
import type { ModelSpec } from "./spec";

/** Notes per inference batch. */
const BATCH = 512;

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
    return new Scorer(spec, uploadParams(weights, spec, false));
  }

  /** Probabilities, row-major [notes, labels], for each note's feature ids. */
  score(features: readonly Uint32Array[]): Float32Array {
    const L = this.spec.labels.length;
    const out = new Float32Array(features.length * L);
    for (let start = 0; start < features.length; start += BATCH) {
      const batch = batchTensors(packIds(features.slice(start, start + BATCH)));
      const probs = tf.tidy(() => tf.sigmoid(logits(this.params, this.spec, batch)));
      out.set(probs.dataSync() as Float32Array, start * L);
      probs.dispose();
      disposeBatchTensors(batch);
    }
    return out;
  }

  /** Frees the model's tensors. */
  dispose(): void {
    disposeParams(this.params);
  }
}
