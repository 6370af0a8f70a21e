/**
 * The network on TF.js tensors: embedding bag, optional ReLU hidden layer, linear head. Outputs logits;
 * probabilities are their sigmoids. Used by training (on a per-step sub-table) and prediction.
 */
import * as tf from "@tensorflow/tfjs";
import { embeddingBag, poolNotes, type IdBatchTensors } from "./bag";
import { expectedTensors, TENSOR_NAMES } from "./params";
import type { ModelSpec } from "./spec";

/** The model's tensors on the backend, keyed by canonical tensor name. */
export type NetworkParams = Map<string, tf.Tensor>;

/** Uploads weights to the backend as constants. Dispose them with {@link disposeParams}. */
export function uploadParams(weights: Map<string, Float32Array>, spec: ModelSpec): NetworkParams {
  const params: NetworkParams = new Map();
  for (const { name, shape } of expectedTensors(spec)) {
    const data = weights.get(name);
    if (!data) throw new Error(`tensor "${name}" is missing`);
    params.set(name, tf.tensor(data, shape, "float32"));
  }
  return params;
}

/** Frees the params. */
export function disposeParams(params: NetworkParams): void {
  for (const t of params.values()) t.dispose();
  params.clear();
}

function get<T extends tf.Tensor>(params: NetworkParams, name: string): T {
  const t = params.get(name);
  if (!t) throw new Error(`tensor "${name}" is missing`);
  return t as T;
}

/** Note logits [notes, labels] for a packed batch (units pooled per note when units are sentences). */
export function logits(params: NetworkParams, spec: ModelSpec, batch: IdBatchTensors): tf.Tensor2D {
  return tf.tidy(() => {
    let h: tf.Tensor2D = embeddingBag(get(params, TENSOR_NAMES.table), batch);
    if (spec.hidden > 0) {
      h = tf.relu(
        tf.add(tf.matMul(h, get(params, TENSOR_NAMES.hiddenKernel)), get(params, TENSOR_NAMES.hiddenBias)),
      ) as tf.Tensor2D;
    }
    const unitLogits = tf.add(
      tf.matMul(h, get(params, TENSOR_NAMES.headKernel)),
      get(params, TENSOR_NAMES.headBias),
    ) as tf.Tensor2D;
    return poolNotes(unitLogits, batch);
  });
}

/**
 * Mean binary cross-entropy over notes and labels, with the positive term weighted by `posWeight`:
 * posWeight·y·softplus(−z) + (1 − y)·softplus(z).
 */
export function weightedBce(z: tf.Tensor2D, targets: tf.Tensor2D, posWeight: number): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.mul(tf.mul(targets, posWeight), tf.softplus(tf.neg(z)));
    const neg = tf.mul(tf.sub(1, targets), tf.softplus(z));
    return tf.mean(tf.add(pos, neg));
  });
}
