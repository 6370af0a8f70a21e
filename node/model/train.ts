/**
 * Local training: start from given canonical model bytes, train on local notes, return the new model and
 * the delta (new minus base) as canonical bytes. Deterministic for a given backend: the same base, notes,
 * spec and seed give the same bytes (one-thread wasm and cpu kernels sum in a fixed order; batches are
 * drawn from a seeded shuffle).
 */
import * as tf from "@tensorflow/tfjs";
import { FedledgerError } from "../errors";
import { batchTensors, disposeBatchTensors, packIds, type IdBatchTensors } from "./bag";
import { initBackend } from "./backend";
import { buildDataset, type Dataset, type LabelledText, type NoteFeatures } from "./dataset";
import { DpError, dpPlanOf } from "./dp";
import { NoteGradients } from "./dpGradient";
import { byteSourceFor, RandomStream } from "./dpNoise";
import { logits, weightedBce, type NetworkParams } from "./network";
import { RowSparseOptimizer } from "./optimizer";
import { expectedTensors, readWeights, TENSOR_NAMES, writeWeights } from "./params";
import { Prng } from "./prng";
import type { DpConfig, ModelSpec, TrainingConfig } from "./spec";

/** Options of {@link trainLocal}. */
export interface TrainLocalOptions {
  spec: ModelSpec;
  /** Canonical bytes of the model to start from (the global model of the round, or a genesis model). */
  base: Uint8Array;
  /** Local labelled notes. */
  notes: readonly LabelledText[];
  /** Seed of the batch shuffle. */
  seed: number;
  /** Overrides spec.training.epochs. */
  epochs?: number;
  /** Overrides spec.training.lr. */
  lr?: number;
  /** Overrides spec.training.batchSize. */
  batchSize?: number;
  /** Called after each epoch with its mean training loss. */
  onEpoch?: (info: { epoch: number; loss: number }) => void;
}

/** Result of {@link trainLocal}. */
export interface TrainLocalResult {
  /** Canonical bytes of the locally trained model. */
  model: Buffer;
  /** Canonical bytes of local minus base, per tensor (float32, same names and shapes). */
  delta: Buffer;
  /** Number of training notes (the FedAvg weight). */
  numSamples: number;
  /**
   * Mean training loss per epoch. Under DP: over the notes the epoch's steps sampled; this figure is NOT
   * differentially private, so a site must not publish it under DP.
   */
  losses: number[];
}

/** Weights plus the per-epoch losses, before encoding. */
export interface TrainedWeights {
  weights: Map<string, Float32Array>;
  losses: number[];
}

function checkSettings(t: TrainingConfig): void {
  const bad = (what: string) => {
    throw new FedledgerError(`invalid training setting: ${what}`, {
      hint: "Use epochs and batch size ≥ 1 (integers) and a learning rate > 0",
    });
  };
  if (!Number.isInteger(t.epochs) || t.epochs < 1) bad(`epochs ${t.epochs}`);
  if (!Number.isInteger(t.batchSize) || t.batchSize < 1) bad(`batch size ${t.batchSize}`);
  if (!(t.lr > 0) || !Number.isFinite(t.lr)) bad(`learning rate ${t.lr}`);
}

/** Distinct ids of a batch: ids rewritten in place to row numbers of a compact sub-table. */
class RowCompactor {
  private readonly slot: Int32Array;
  private unique = new Int32Array(1024);

  constructor(buckets: number) {
    this.slot = new Int32Array(buckets).fill(-1);
  }

  /** Rewrites `ids` to indices into the returned distinct ids (in order of first occurrence). */
  compact(ids: Int32Array): Int32Array {
    const slot = this.slot;
    let count = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      let s = slot[id];
      if (s < 0) {
        if (count === this.unique.length) {
          const grown = new Int32Array(count * 2);
          grown.set(this.unique);
          this.unique = grown;
        }
        s = count++;
        slot[id] = s;
        this.unique[s] = id;
      }
      ids[i] = s;
    }
    const unique = this.unique.slice(0, count);
    for (let k = 0; k < count; k++) slot[unique[k]] = -1;
    return unique;
  }
}

/** Copies rows `rows` of a [*, width] matrix into a new [rows.length, width] matrix. */
function gatherRowsJs(matrix: Float32Array, width: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let k = 0; k < rows.length; k++) {
    const from = rows[k] * width;
    const to = k * width;
    for (let j = 0; j < width; j++) out[to + j] = matrix[from + j];
  }
  return out;
}

/**
 * Trains featurised data starting from `base` weights (not modified). The backend must be started.
 * Lower-level than {@link trainLocal}: callers that train several models on the same notes featurise once.
 *
 * Each step gathers the table rows of the batch's distinct ids into a small sub-table, computes the loss
 * and its gradients with TF.js (the bag's gradient is the hand-written scatterND of embeddingBag, here into
 * the sub-table), and applies a row-sparse optimizer step (optimizer.ts) to the touched rows only.
 * With `settings.dp` it runs DP-SGD instead ({@link trainWeightsDp}).
 */
export function trainWeights(
  spec: ModelSpec,
  base: Map<string, Float32Array>,
  data: Dataset,
  seed: number,
  settings: TrainingConfig,
  onEpoch?: (info: { epoch: number; loss: number }) => void,
): TrainedWeights {
  checkSettings(settings);
  const n = data.features.length;
  if (n === 0) {
    throw new FedledgerError("no training notes", { hint: "Give at least one labelled note to train on" });
  }
  const L = data.numLabels;
  const layout = expectedTensors(spec);
  const weights = new Map<string, Float32Array>();
  for (const { name } of layout) {
    const w = base.get(name);
    if (!w) throw new Error(`tensor "${name}" is missing`);
    weights.set(name, Float32Array.from(w));
  }
  if (settings.dp) return trainWeightsDp(spec, weights, data, seed, settings, settings.dp, onEpoch);
  const table = weights.get(TENSOR_NAMES.table) as Float32Array;
  const dim = spec.dim;
  const compactor = new RowCompactor(spec.features.buckets);
  const optimizer = new RowSparseOptimizer(settings.optimizer, settings.lr);
  const prng = new Prng(seed, "shuffle");
  const order = Array.from({ length: n }, (_, i) => i);
  const losses: number[] = [];
  const lossOf =
    (batch: IdBatchTensors, targets: tf.Tensor2D) =>
    (...inputs: tf.Tensor[]) => {
      const params: NetworkParams = new Map(layout.map(({ name }, i) => [name, inputs[i]]));
      return weightedBce(logits(params, spec, batch), targets, settings.posWeight);
    };
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    prng.shuffle(order);
    let total = 0;
    for (let start = 0; start < n; start += settings.batchSize) {
      const rows = order.slice(start, start + settings.batchSize);
      const notes = rows.map((r) => data.features[r]);
      const packed = packIds(
        settings.idDropout > 0 ? notes.map((units) => dropIds(units, settings.idDropout, prng)) : notes,
        spec.scale,
        spec.unit === "sentence",
      );
      const touched = compactor.compact(packed.ids);
      const sub = gatherRowsJs(table, dim, touched);
      const y = new Float32Array(rows.length * L);
      rows.forEach((r, i) => y.set(data.targets.subarray(r * L, (r + 1) * L), i * L));
      const batch = batchTensors(packed);
      const targets = tf.tensor2d(y, [rows.length, L]);
      const inputs = layout.map(({ name, shape }) =>
        name === TENSOR_NAMES.table
          ? tf.tensor2d(sub, [touched.length, dim])
          : tf.tensor(weights.get(name) as Float32Array, shape),
      );
      const { value, grads } = tf.valueAndGrads(lossOf(batch, targets))(inputs);
      total += value.dataSync()[0] * rows.length;
      optimizer.beginStep();
      layout.forEach(({ name }, i) => {
        const g = grads[i].dataSync() as Float32Array;
        if (name === TENSOR_NAMES.table) optimizer.updateRows(name, table, dim, touched, g);
        else optimizer.updateDense(name, weights.get(name) as Float32Array, g);
      });
      tf.dispose([value, ...grads, ...inputs, targets]);
      disposeBatchTensors(batch);
    }
    const loss = total / n;
    losses.push(loss);
    onEpoch?.({ epoch, loss });
  }
  return { weights, losses };
}

/** Values per slice of the dense noisy update: noise and gradient of a slice stay in cache. */
const NOISE_SLICE = 8192;

/**
 * DP-SGD (docs/privacy.md, "DP-SGD at each site"), updating `weights` in place. Per step: every note is
 * included independently with probability q (Poisson sampling, uniforms from the DP byte stream); each
 * included note's exact gradient (dpGradient.ts) is scaled by min(1, C / ‖g‖₂) and summed in float64; then
 * every element of every tensor, in tensor order and slice by slice, gets g = (sum + σ·C·N(0, 1)) / (q·n)
 * and one dense optimizer step. Steps per run: epochs × max(1, round(1 / q)) (dp.ts, dpPlan).
 */
function trainWeightsDp(
  spec: ModelSpec,
  weights: Map<string, Float32Array>,
  data: Dataset,
  seed: number,
  settings: TrainingConfig,
  dp: DpConfig,
  onEpoch?: (info: { epoch: number; loss: number }) => void,
): TrainedWeights {
  const n = data.features.length;
  const L = data.numLabels;
  const plan = dpPlanOf(dp, settings.epochs, n);
  const random = new RandomStream(byteSourceFor(dp.noise, seed));
  const grads = new NoteGradients(spec, weights);
  const layout = expectedTensors(spec);
  const sums = new Map(
    layout.map(({ name }) => [name, new Float64Array((weights.get(name) as Float32Array).length)]),
  );
  const std = dp.noiseMultiplier * dp.clipNorm;
  const optimizer = new RowSparseOptimizer(settings.optimizer, settings.lr);
  const dropout = new Prng(seed, "dropout");
  const noise = new Float64Array(NOISE_SLICE);
  const step = new Float64Array(NOISE_SLICE);
  const losses: number[] = [];
  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    let total = 0;
    let seen = 0;
    for (let s = 0; s < plan.stepsPerEpoch; s++) {
      for (let i = 0; i < n; i++) {
        if (random.uniform() >= plan.sampleRate) continue;
        const units =
          settings.idDropout > 0 ? dropIds(data.features[i], settings.idDropout, dropout) : data.features[i];
        const { loss, sqNorm } = grads.compute(
          units,
          data.targets.subarray(i * L, (i + 1) * L),
          settings.posWeight,
        );
        grads.addTo(sums, dp.clipNorm / Math.max(dp.clipNorm, Math.sqrt(sqNorm)));
        total += loss;
        seen++;
      }
      optimizer.beginStep();
      for (const { name } of layout) {
        const w = weights.get(name) as Float32Array;
        const sum = sums.get(name) as Float64Array;
        for (let offset = 0; offset < w.length; offset += NOISE_SLICE) {
          const count = Math.min(NOISE_SLICE, w.length - offset);
          random.gaussians(noise, count);
          for (let k = 0; k < count; k++) {
            step[k] = (sum[offset + k] + std * noise[k]) / plan.divisor;
            sum[offset + k] = 0;
          }
          optimizer.updateSlice(name, w, offset, step, count);
        }
      }
    }
    const loss = seen > 0 ? total / seen : Number.NaN;
    losses.push(loss);
    onEpoch?.({ epoch, loss });
  }
  return { weights, losses };
}

/** Drops each id with probability `rate` (seeded); a unit keeps its first id if all would go. */
function dropIds(units: NoteFeatures, rate: number, prng: Prng): NoteFeatures {
  return units.map((ids) => {
    const kept = ids.filter(() => prng.next() >= rate);
    return kept.length > 0 ? kept : ids.subarray(0, 1);
  });
}

/** Per-tensor difference `local - base` in float32. */
export function subtractWeights(
  local: Map<string, Float32Array>,
  base: Map<string, Float32Array>,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, a] of local) {
    const b = base.get(name);
    if (!b || b.length !== a.length) throw new Error(`tensor "${name}" differs in size`);
    const d = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
    out.set(name, d);
  }
  return out;
}

/**
 * Trains locally from the `base` model and returns the new model and its delta as canonical bytes.
 * Starts the backend if needed. Same spec, base, notes, seed and backend → identical bytes.
 * @example const { model, delta, numSamples } = await trainLocal({ spec, base: genesis, notes, seed: 1 });
 */
export async function trainLocal(options: TrainLocalOptions): Promise<TrainLocalResult> {
  await initBackend();
  const { spec } = options;
  if (spec.training.dp && options.epochs !== undefined && options.epochs !== spec.training.epochs) {
    throw new DpError(
      `cannot train ${options.epochs} epochs: the spec's DP settings were accounted for ${spec.training.epochs}`,
      { hint: "Leave the epochs override out under DP; the task's spec fixes the number of noisy steps" },
    );
  }
  const settings: TrainingConfig = {
    ...spec.training,
    ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
    ...(options.lr !== undefined ? { lr: options.lr } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  };
  const base = readWeights(options.base, spec);
  const data = buildDataset(options.notes, spec);
  const trained = trainWeights(spec, base, data, options.seed, settings, options.onEpoch);
  return {
    model: writeWeights(trained.weights, spec),
    delta: writeWeights(subtractWeights(trained.weights, base), spec),
    numSamples: options.notes.length,
    losses: trained.losses,
  };
}
