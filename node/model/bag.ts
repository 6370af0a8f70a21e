/**
 * The embedding bag: for each note, the mean of the embedding-table rows of its hashed feature ids.
 *
 * A batch of notes is packed without padding: all ids one after another (`ids`), and for each id the index
 * of its note (`segments`, ascending). The forward pass is one SparseSegmentMean kernel. Its gradient with
 * respect to the table is written by hand with tf.customGrad, because the gradient TF.js derives for a
 * gather needs UnsortedSegmentSum, which the wasm backend lacks (and which is very slow on cpu):
 *   dTable = scatterND(ids, dBag[segments] / count[segments], [buckets, dim])
 * where the row lookup dBag[segments] is a SparseSegmentSum with one id per output segment (a gather that
 * is fast on wasm) and scatterND adds the rows of repeated ids.
 */
import * as tf from "@tensorflow/tfjs";

/** Feature ids of a batch of notes, packed without padding. */
export interface IdBatch {
  /** Number of notes. */
  size: number;
  /** All feature ids, note after note. */
  ids: Int32Array;
  /** Note index of each id, ascending; every note has at least one id. */
  segments: Int32Array;
  /** 1 / (number of ids) per note. */
  invCounts: Float32Array;
}

/**
 * Packs per-note feature ids into an {@link IdBatch}. Every note must have at least one id (the text
 * pipeline emits a reserved id for empty text).
 */
export function packIds(features: readonly Uint32Array[]): IdBatch {
  let total = 0;
  for (const f of features) {
    if (f.length === 0) throw new Error("a note has no feature ids");
    total += f.length;
  }
  const ids = new Int32Array(total);
  const segments = new Int32Array(total);
  const invCounts = new Float32Array(features.length);
  let pos = 0;
  features.forEach((f, note) => {
    ids.set(f, pos);
    segments.fill(note, pos, pos + f.length);
    pos += f.length;
    invCounts[note] = 1 / f.length;
  });
  return { size: features.length, ids, segments, invCounts };
}

/** The batch as tensors; dispose them with {@link disposeBatchTensors}. */
export interface IdBatchTensors {
  ids: tf.Tensor1D;
  segments: tf.Tensor1D;
  positions: tf.Tensor1D;
  invCounts: tf.Tensor2D;
}

/** Uploads a packed batch to the backend. */
export function batchTensors(batch: IdBatch): IdBatchTensors {
  return {
    ids: tf.tensor1d(batch.ids, "int32"),
    segments: tf.tensor1d(batch.segments, "int32"),
    positions: tf.range(0, batch.ids.length, 1, "int32") as tf.Tensor1D,
    invCounts: tf.tensor2d(batch.invCounts, [batch.size, 1]),
  };
}

/** Frees the tensors of {@link batchTensors}. */
export function disposeBatchTensors(t: IdBatchTensors): void {
  tf.dispose([t.ids, t.segments, t.positions, t.invCounts]);
}

/**
 * Mean embedding per note, [batch, dim], differentiable with respect to `table` on every backend.
 * @param table the [buckets, dim] embedding table (usually a tf.Variable).
 */
export function embeddingBagMean(table: tf.Tensor2D, batch: IdBatchTensors): tf.Tensor2D {
  const bag = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = inputs[0] as tf.Tensor2D;
    const value = tf.sparse.sparseSegmentMean(t, batch.ids, batch.segments);
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => {
        const scaled = tf.mul(dy, batch.invCounts) as tf.Tensor2D;
        const rows = tf.sparse.sparseSegmentSum(scaled, batch.segments, batch.positions);
        return tf.scatterND(tf.reshape(batch.ids, [-1, 1]), rows, t.shape);
      });
    return { value, gradFunc };
  });
  return bag(table) as tf.Tensor2D;
}
