/**
 * Optimizers that update weights held in JavaScript arrays, with row-sparse updates for the embedding
 * table: a step touches only the table rows whose ids occur in the batch ("lazy" Adam, as TensorFlow's
 * LazyAdam and PyTorch's SparseAdam do). Dense updates of a 2^16 × dim table would cost more than the
 * rest of a training step, and untouched rows keep exactly their value, so a site's delta is zero for
 * features its notes never contain.
 *
 * Adam (Kingma and Ba): m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
 *   w ← w − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε), with β1 = 0.9, β2 = 0.999, ε = 1e-7 and
 *   t the step number of the run. Arithmetic in float64, stored as float32. SGD: w ← w − lr·g.
 * State starts at zero for every training run (every federated round).
 *
 * Under DP-SGD (train.ts) every element gets a noisy gradient at every step, so the same optimizers run
 * dense: {@link RowSparseOptimizer.updateSlice} walks the whole table in slices, and Adam's moments cover
 * every row (lazy and dense Adam coincide when every row has a gradient).
 */

/** Adam constants (the TF.js defaults). */
export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/** One optimizer over named weights. */
export class RowSparseOptimizer {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;

  constructor(
    readonly kind: "adam" | "sgd",
    readonly lr: number,
  ) {}

  /** Starts a step; call once before the updates of that step. */
  beginStep(): void {
    this.t++;
  }

  private state(name: string, size: number): [Float32Array, Float32Array] {
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || !v) {
      m = new Float32Array(size);
      v = new Float32Array(size);
      this.m.set(name, m);
      this.v.set(name, v);
    }
    return [m, v];
  }

  /**
   * Updates `rows` rows of `weights` (row width `width`): `rowIndex[k]` is the weight row that gradient
   * row k belongs to. A dense tensor is one row per element with width 1 and rowIndex = identity, or use
   * {@link updateDense}.
   */
  updateRows(
    name: string,
    weights: Float32Array,
    width: number,
    rowIndex: ArrayLike<number>,
    grad: Float32Array,
  ): void {
    const rows = rowIndex.length;
    if (this.kind === "sgd") {
      for (let k = 0; k < rows; k++) {
        const base = rowIndex[k] * width;
        for (let j = 0; j < width; j++) weights[base + j] -= this.lr * grad[k * width + j];
      }
      return;
    }
    const [m, v] = this.state(name, weights.length);
    const { beta1, beta2, epsilon } = ADAM;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let k = 0; k < rows; k++) {
      const base = rowIndex[k] * width;
      for (let j = 0; j < width; j++) {
        const i = base + j;
        const g = grad[k * width + j];
        const mi = beta1 * m[i] + (1 - beta1) * g;
        const vi = beta2 * v[i] + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        weights[i] -= (this.lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
      }
    }
  }

  /**
   * Updates `weights[offset .. offset + count)` with `grad[0 .. count)`: one slice of a dense update, so a
   * caller can produce a large tensor's gradient slice by slice (DP noise) without holding all of it.
   */
  updateSlice(name: string, weights: Float32Array, offset: number, grad: Float64Array, count: number): void {
    if (this.kind === "sgd") {
      for (let k = 0; k < count; k++) weights[offset + k] -= this.lr * grad[k];
      return;
    }
    const [m, v] = this.state(name, weights.length);
    const { beta1, beta2, epsilon } = ADAM;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    for (let k = 0; k < count; k++) {
      const i = offset + k;
      const g = grad[k];
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      weights[i] -= (this.lr * (mi / c1)) / (Math.sqrt(vi / c2) + epsilon);
    }
  }

  /** Updates every element of `weights`. */
  updateDense(name: string, weights: Float32Array, grad: Float32Array): void {
    this.updateRows(name, weights, weights.length, [0], grad);
  }
}
