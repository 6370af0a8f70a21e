/**
 * Exact per-note gradients of the network, computed analytically in JavaScript (float64) instead of with
 * TF.js autodiff, for DP-SGD's per-note clipping. The network is linear in each unit's bag, so one note's
 * gradient is cheap and sparse:
 *
 *   h_u = s_u · Σ_{id ∈ u} table[id]                        bag of unit u (s_u = 1/count or 1/√count)
 *   a_u = relu(h_u·Wh + bh)  (hidden > 0),  else a_u = h_u
 *   z_{u,l} = a_u·W[:, l] + b_l;   z_l = max_u z_{u,l},  u*(l) = the first unit attaining the maximum
 *   loss = (1/L) Σ_l posWeight·y_l·softplus(−z_l) + (1 − y_l)·softplus(z_l)   (weightedBce of one note)
 *   g_l = ∂loss/∂z_l = ((1 − y_l)·σ(z_l) − posWeight·y_l·σ(−z_l)) / L
 *   ∂b_l = g_l;  ∂W[:, l] = g_l · a_{u*(l)};  ∂a_u = Σ_{l : u*(l) = u} g_l · W[:, l]
 *   hidden: ∂pre_u = ∂a_u ⊙ [pre_u > 0];  ∂Wh += h_uᵀ·∂pre_u;  ∂bh += ∂pre_u;  ∂h_u = Wh·∂pre_u
 *   ∂table[id] += s_u · ∂h_u for every occurrence of id in a unit u that is the argmax of some label.
 *
 * Only the rows of the argmax units' ids are non-zero in the table's gradient. This is the gradient TF.js
 * autodiff gives for a one-note batch (test/model/dp.test.ts checks it), except at exact ties of the
 * maximum, where TF.js passes the gradient to every tied unit and this passes it to the first.
 */
import type { NoteFeatures } from "./dataset";
import { expectedTensors, TENSOR_NAMES } from "./params";
import type { ModelSpec } from "./spec";

function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Per-note gradients of one network; reads the weights live, so updates in place are seen. */
export class NoteGradients {
  private readonly L: number;
  private readonly dim: number;
  private readonly hidden: number;
  private readonly headIn: number;
  private readonly table: Float32Array;
  private readonly headKernel: Float32Array;
  private readonly headBias: Float32Array;
  private readonly hiddenKernel: Float32Array;
  private readonly hiddenBias: Float32Array;
  /** Gradients of the dense tensors, by name. */
  private readonly dense = new Map<string, Float64Array>();
  private readonly gHeadKernel: Float64Array;
  private readonly gHeadBias: Float64Array;
  private readonly gHiddenKernel: Float64Array;
  private readonly gHiddenBias: Float64Array;
  /** Table row → slot in `rowGrad`, or −1. */
  private readonly slot: Int32Array;
  private rows = new Int32Array(256);
  private rowCount = 0;
  private rowGrad: Float64Array;
  private bags = new Float64Array(0);
  private acts = new Float64Array(0);
  private readonly argmax: Int32Array;
  private readonly gz: Float64Array;
  private readonly dAct: Float64Array;
  private readonly dPre: Float64Array;
  private readonly dBag: Float64Array;
  private readonly meanScale: boolean;

  constructor(
    spec: ModelSpec,
    private readonly weights: Map<string, Float32Array>,
  ) {
    this.L = spec.labels.length;
    this.dim = spec.dim;
    this.hidden = spec.hidden;
    this.headIn = spec.hidden > 0 ? spec.hidden : spec.dim;
    this.meanScale = spec.scale === "mean";
    this.rowGrad = new Float64Array(this.rows.length * spec.dim);
    const get = (name: string) => {
      const w = weights.get(name);
      if (!w) throw new Error(`tensor "${name}" is missing`);
      return w;
    };
    this.table = get(TENSOR_NAMES.table);
    this.headKernel = get(TENSOR_NAMES.headKernel);
    this.headBias = get(TENSOR_NAMES.headBias);
    this.hiddenKernel = spec.hidden > 0 ? get(TENSOR_NAMES.hiddenKernel) : new Float32Array(0);
    this.hiddenBias = spec.hidden > 0 ? get(TENSOR_NAMES.hiddenBias) : new Float32Array(0);
    for (const { name, shape } of expectedTensors(spec)) {
      if (name !== TENSOR_NAMES.table)
        this.dense.set(name, new Float64Array(shape.reduce((a, b) => a * b, 1)));
    }
    this.gHeadKernel = this.dense.get(TENSOR_NAMES.headKernel) as Float64Array;
    this.gHeadBias = this.dense.get(TENSOR_NAMES.headBias) as Float64Array;
    this.gHiddenKernel = this.dense.get(TENSOR_NAMES.hiddenKernel) ?? new Float64Array(0);
    this.gHiddenBias = this.dense.get(TENSOR_NAMES.hiddenBias) ?? new Float64Array(0);
    this.slot = new Int32Array(spec.features.buckets).fill(-1);
    this.argmax = new Int32Array(this.L);
    this.gz = new Float64Array(this.L);
    this.dAct = new Float64Array(this.headIn);
    this.dPre = new Float64Array(Math.max(1, this.hidden));
    this.dBag = new Float64Array(this.dim);
  }

  /**
   * Computes the gradient of one note's loss (kept until the next call) and returns the loss and the
   * squared L2 norm of the gradient over all tensors.
   * @param target the note's multi-hot target row (length = labels).
   */
  compute(
    units: NoteFeatures,
    target: ArrayLike<number>,
    posWeight: number,
  ): { loss: number; sqNorm: number } {
    const { L, dim, hidden, headIn, table } = this;
    const S = units.length;
    this.clearRows();
    if (this.bags.length < S * dim) this.bags = new Float64Array(S * dim * 2);
    if (hidden > 0 && this.acts.length < S * hidden) this.acts = new Float64Array(S * hidden * 2);
    const bags = this.bags;
    const acts = hidden > 0 ? this.acts : bags;
    const Wo = this.headKernel;
    const bo = this.headBias;
    const Wh = this.hiddenKernel;
    const bh = this.hiddenBias;
    const maxZ = this.gz;
    const argmax = this.argmax;
    // Forward: bags, hidden activations, unit logits, max per label.
    for (let u = 0; u < S; u++) {
      const ids = units[u];
      const s = this.scaleOf(ids.length);
      const hb = u * dim;
      for (let d = 0; d < dim; d++) bags[hb + d] = 0;
      for (let k = 0; k < ids.length; k++) {
        const r = ids[k] * dim;
        for (let d = 0; d < dim; d++) bags[hb + d] += table[r + d];
      }
      for (let d = 0; d < dim; d++) bags[hb + d] *= s;
      if (hidden > 0) {
        const ha = u * hidden;
        for (let j = 0; j < hidden; j++) {
          let pre = bh[j];
          for (let d = 0; d < dim; d++) pre += bags[hb + d] * Wh[d * hidden + j];
          acts[ha + j] = pre > 0 ? pre : 0;
        }
      }
      const a = u * headIn;
      for (let l = 0; l < L; l++) {
        let z = bo[l];
        for (let k = 0; k < headIn; k++) z += acts[a + k] * Wo[k * L + l];
        if (u === 0 || z > maxZ[l]) {
          maxZ[l] = z;
          argmax[l] = u;
        }
      }
    }
    // Loss and ∂loss/∂z per label (gz overwrites maxZ label by label).
    let loss = 0;
    for (let l = 0; l < L; l++) {
      const z = maxZ[l];
      const y = target[l];
      loss += posWeight * y * softplus(-z) + (1 - y) * softplus(z);
      this.gz[l] = ((1 - y) * sigmoid(z) - posWeight * y * sigmoid(-z)) / L;
    }
    loss /= L;
    const gz = this.gz;
    // Head.
    const gWo = this.gHeadKernel;
    for (let l = 0; l < L; l++) {
      this.gHeadBias[l] = gz[l];
      const a = argmax[l] * headIn;
      for (let k = 0; k < headIn; k++) gWo[k * L + l] = gz[l] * acts[a + k];
    }
    if (hidden > 0) {
      this.gHiddenKernel.fill(0);
      this.gHiddenBias.fill(0);
    }
    // Back through each argmax unit into the hidden layer and the table rows of its ids.
    for (let u = 0; u < S; u++) {
      let active = false;
      const dAct = this.dAct;
      dAct.fill(0);
      for (let l = 0; l < L; l++) {
        if (argmax[l] !== u) continue;
        active = true;
        for (let k = 0; k < headIn; k++) dAct[k] += gz[l] * Wo[k * L + l];
      }
      if (!active) continue;
      const dBag = this.dBag;
      const hb = u * dim;
      if (hidden > 0) {
        const dPre = this.dPre;
        const ha = u * hidden;
        for (let j = 0; j < hidden; j++) dPre[j] = acts[ha + j] > 0 ? dAct[j] : 0;
        for (let j = 0; j < hidden; j++) this.gHiddenBias[j] += dPre[j];
        for (let d = 0; d < dim; d++) {
          const hd = bags[hb + d];
          let sum = 0;
          for (let j = 0; j < hidden; j++) {
            this.gHiddenKernel[d * hidden + j] += hd * dPre[j];
            sum += Wh[d * hidden + j] * dPre[j];
          }
          dBag[d] = sum;
        }
      } else {
        for (let d = 0; d < dim; d++) dBag[d] = dAct[d];
      }
      const ids = units[u];
      const s = this.scaleOf(ids.length);
      for (let d = 0; d < dim; d++) dBag[d] *= s;
      for (let k = 0; k < ids.length; k++) {
        const at = this.rowSlot(ids[k]) * dim;
        const rg = this.rowGrad;
        for (let d = 0; d < dim; d++) rg[at + d] += dBag[d];
      }
    }
    let sqNorm = 0;
    for (const g of this.dense.values()) for (let i = 0; i < g.length; i++) sqNorm += g[i] * g[i];
    const rg = this.rowGrad;
    for (let i = 0, end = this.rowCount * dim; i < end; i++) sqNorm += rg[i] * rg[i];
    return { loss, sqNorm };
  }

  /** Adds `factor` × the last computed gradient into `acc` (full-size float64 arrays by tensor name). */
  addTo(acc: Map<string, Float64Array>, factor: number): void {
    for (const [name, g] of this.dense) {
      const a = acc.get(name) as Float64Array;
      for (let i = 0; i < g.length; i++) a[i] += factor * g[i];
    }
    const t = acc.get(TENSOR_NAMES.table) as Float64Array;
    const { dim, rows, rowGrad } = this;
    for (let k = 0; k < this.rowCount; k++) {
      const to = rows[k] * dim;
      const from = k * dim;
      for (let d = 0; d < dim; d++) t[to + d] += factor * rowGrad[from + d];
    }
  }

  /** The last computed gradient as full-size arrays by tensor name (for tests). */
  toDense(): Map<string, Float64Array> {
    const out = new Map<string, Float64Array>();
    out.set(TENSOR_NAMES.table, new Float64Array(this.table.length));
    for (const [name, g] of this.dense) out.set(name, new Float64Array(g.length));
    this.addTo(out, 1);
    return out;
  }

  private scaleOf(count: number): number {
    return this.meanScale ? 1 / count : 1 / Math.sqrt(count);
  }

  /** The slot of a table row in rowGrad, zeroed on first use in this note. */
  private rowSlot(row: number): number {
    let s = this.slot[row];
    if (s >= 0) return s;
    s = this.rowCount++;
    if (s === this.rows.length) {
      const grown = new Int32Array(s * 2);
      grown.set(this.rows);
      this.rows = grown;
      const g = new Float64Array(s * 2 * this.dim);
      g.set(this.rowGrad);
      this.rowGrad = g;
    }
    this.rows[s] = row;
    this.slot[row] = s;
    this.rowGrad.fill(0, s * this.dim, (s + 1) * this.dim);
    return s;
  }

  private clearRows(): void {
    for (let k = 0; k < this.rowCount; k++) this.slot[this.rows[k]] = -1;
    this.rowCount = 0;
  }
}
