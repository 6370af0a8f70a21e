/**
 * The embedding bag and the pooling of sentence scores into note scores.
 *
 * A batch holds "units" (a whole note, or one sentence of a note, depending on the spec) packed without
 * padding: all feature ids one after another (`ids`) and for each id the index of its unit (`segments`,
 * ascending). The bag of a unit is Σ table[id] · scale, with scale = 1 / count (mean) or 1 / √count.
 * The forward pass is one SparseSegmentSum kernel. Its gradient with respect to the table is written by
 * hand with tf.customGrad, because the gradient TF.js derives for a gather needs UnsortedSegmentSum, which
 * the wasm backend lacks (and which is very slow on cpu):
 *   dTable = scatterND(ids, (dBag · scale)[segments], [buckets, dim])
 * where the row lookup X[segments] is a SparseSegmentSum with one id per output segment (a gather that is
 * fast on wasm) and scatterND adds the rows of repeated ids.
 *
 * When units are sentences, `pool` says which units belong to which note: a [notes, width] matrix of unit
 * indices, padded, and a mask that is 0 for real entries and -1e4 for padding. Note logits are the maximum
 * over a note's sentence logits (the note reports a label when one of its sentences does).
 */
import * as tf from "@tensorflow/tfjs";

/** How per-unit rows are combined into notes. */
export interface NotePooling {
  notes: number;
  /** Most units of one note. */
  width: number;
  /** Row-major [notes, width] unit indices; padding repeats unit 0. */
  index: Int32Array;
  /** Row-major [notes, width]: 0 for a real unit, {@link PAD_LOGIT} for padding. */
  mask: Float32Array;
}

/** Added to padded entries before the max: far below any real logit. */
export const PAD_LOGIT = -1e4;

/** Feature ids of a batch, packed without padding. */
export interface IdBatch {
  /** Number of units (bags). */
  size: number;
  /** All feature ids, unit after unit. */
  ids: Int32Array;
  /** Unit index of each id, ascending; every unit has at least one id. */
  segments: Int32Array;
  /** Scale per unit: 1/count ("mean") or 1/√count ("sqrt"). */
  scales: Float32Array;
  /** Present when units are sentences of notes. */
  pool?: NotePooling;
}

/** Normalisation of the bag sum. */
export type BagScale = "mean" | "sqrt";

/**
 * Packs notes, each a list of units (feature id arrays), into an {@link IdBatch}. Every unit must have at
 * least one id (the text pipeline emits a reserved id for empty text) and every note at least one unit.
 * @param pool true when units are sentences whose scores are max-pooled per note.
 */
export function packIds(notes: readonly (readonly Uint32Array[])[], scale: BagScale, pool: boolean): IdBatch {
  let total = 0;
  let units = 0;
  let width = 1;
  for (const note of notes) {
    if (note.length === 0) throw new Error("a note has no units");
    units += note.length;
    width = Math.max(width, note.length);
    for (const u of note) {
      if (u.length === 0) throw new Error("a unit has no feature ids");
      total += u.length;
    }
  }
  if (!pool && units !== notes.length) throw new Error("notes must have one unit each without pooling");
  const ids = new Int32Array(total);
  const segments = new Int32Array(total);
  const scales = new Float32Array(units);
  let pos = 0;
  let unit = 0;
  const index = pool ? new Int32Array(notes.length * width) : undefined;
  const mask = pool ? new Float32Array(notes.length * width).fill(PAD_LOGIT) : undefined;
  notes.forEach((note, n) => {
    note.forEach((u, k) => {
      ids.set(u, pos);
      segments.fill(unit, pos, pos + u.length);
      pos += u.length;
      scales[unit] = scale === "mean" ? 1 / u.length : 1 / Math.sqrt(u.length);
      if (index && mask) {
        index[n * width + k] = unit;
        mask[n * width + k] = 0;
      }
      unit++;
    });
  });
  return {
    size: units,
    ids,
    segments,
    scales,
    ...(index && mask ? { pool: { notes: notes.length, width, index, mask } } : {}),
  };
}

/** The batch as tensors; dispose them with {@link disposeBatchTensors}. */
export interface IdBatchTensors {
  ids: tf.Tensor1D;
  segments: tf.Tensor1D;
  positions: tf.Tensor1D;
  scales: tf.Tensor2D;
  pool?: { index: tf.Tensor1D; positions: tf.Tensor1D; mask: tf.Tensor3D; notes: number; width: number };
}

/** Uploads a packed batch to the backend. */
export function batchTensors(batch: IdBatch): IdBatchTensors {
  const p = batch.pool;
  return {
    ids: tf.tensor1d(batch.ids, "int32"),
    segments: tf.tensor1d(batch.segments, "int32"),
    positions: tf.range(0, batch.ids.length, 1, "int32") as tf.Tensor1D,
    scales: tf.tensor2d(batch.scales, [batch.size, 1]),
    ...(p
      ? {
          pool: {
            index: tf.tensor1d(p.index, "int32"),
            positions: tf.range(0, p.index.length, 1, "int32") as tf.Tensor1D,
            mask: tf.tensor3d(p.mask, [p.notes, p.width, 1]),
            notes: p.notes,
            width: p.width,
          },
        }
      : {}),
  };
}

/** Frees the tensors of {@link batchTensors}. */
export function disposeBatchTensors(t: IdBatchTensors): void {
  tf.dispose([t.ids, t.segments, t.positions, t.scales]);
  if (t.pool) tf.dispose([t.pool.index, t.pool.positions, t.pool.mask]);
}

/**
 * Rows `x[index[i]]`, differentiable on every backend: forward a SparseSegmentSum with one row per
 * segment, gradient a scatterND that adds the rows of repeated indices.
 * @param positions 0, 1, …, index.length − 1 (int32).
 */
export function gatherRows(x: tf.Tensor2D, index: tf.Tensor1D, positions: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = inputs[0] as tf.Tensor2D;
    const value = tf.sparse.sparseSegmentSum(t, index, positions);
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => tf.scatterND(tf.reshape(index, [-1, 1]), dy, t.shape));
    return { value, gradFunc };
  });
  return op(x) as tf.Tensor2D;
}

/**
 * Bag per unit, [units, dim], differentiable with respect to `table` on every backend.
 * @param table the [buckets, dim] embedding table (usually a tf.Variable).
 */
export function embeddingBag(table: tf.Tensor2D, batch: IdBatchTensors): tf.Tensor2D {
  const bag = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = inputs[0] as tf.Tensor2D;
    const value = tf.tidy(() =>
      tf.mul(tf.sparse.sparseSegmentSum(t, batch.ids, batch.segments), batch.scales),
    );
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => {
        const scaled = tf.mul(dy, batch.scales) as tf.Tensor2D;
        const rows = tf.sparse.sparseSegmentSum(scaled, batch.segments, batch.positions);
        return tf.scatterND(tf.reshape(batch.ids, [-1, 1]), rows, t.shape);
      });
    return { value, gradFunc };
  });
  return bag(table) as tf.Tensor2D;
}

/** Note logits [notes, labels] from unit logits [units, labels]: the max over each note's units. */
export function poolNotes(unitLogits: tf.Tensor2D, batch: IdBatchTensors): tf.Tensor2D {
  const p = batch.pool;
  if (!p) return unitLogits;
  return tf.tidy(() => {
    const rows = gatherRows(unitLogits, p.index, p.positions);
    const padded = tf.add(tf.reshape(rows, [p.notes, p.width, -1]), p.mask);
    return tf.max(padded, 1) as tf.Tensor2D;
  });
}
