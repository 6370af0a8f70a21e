/**
 * Export to and import from the TF.js LayersModel format (model.json + weights.bin), for use of a model
 * outside fedledger with stock TF.js (tf.loadLayersModel) and no custom layers.
 *
 * The exported graph scores units (a note, or a sentence when spec.unit is "sentence") with the same
 * probabilities as the native path:
 *   inputs  ids     int32   [batch, T]  feature ids of one unit per row (the text pipeline's featurize),
 *                                       padded to a common T with any id
 *           weights float32 [batch, T]  the bag scale at real positions (1/count for spec.scale "mean",
 *                                       1/√count for "sqrt"), 0 at padding
 *   embedding (Embedding, [buckets, dim]) → bag (Dot over axis 1 of weights and embeddings, [batch, dim])
 *   → hidden (Dense, ReLU; only when spec.hidden > 0) → head (Dense, sigmoid, [batch, labels])
 * With sentence units a note's probability per label is the maximum over its sentences' rows.
 * The spec, its hash and the canonical model hash travel in model.json under userDefinedMetadata.fedledger,
 * so `import` restores exactly the canonical bytes.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { FedledgerError } from "../errors";
import type { BagScale } from "./bag";
import { hashModelBytes } from "./format";
import { initBackend } from "./backend";
import { expectedTensors, readWeights, TENSOR_NAMES, writeWeights } from "./params";
import { parseSpec, specHash, type ModelSpec } from "./spec";

/** File names inside an export directory. */
export const LAYERS_MODEL_FILE = "model.json";
export const LAYERS_WEIGHTS_FILE = "weights.bin";

/** Layer name → canonical tensor names of its weights, in the layer's weight order. */
function layerTensors(spec: ModelSpec): [string, string[]][] {
  const list: [string, string[]][] = [["embedding", [TENSOR_NAMES.table]]];
  if (spec.hidden > 0) list.push(["hidden", [TENSOR_NAMES.hiddenKernel, TENSOR_NAMES.hiddenBias]]);
  list.push(["head", [TENSOR_NAMES.headKernel, TENSOR_NAMES.headBias]]);
  return list;
}

/** Builds the LayersModel graph of a spec (weights uninitialised). */
export function buildLayersModel(spec: ModelSpec): tf.LayersModel {
  const ids = tf.input({ shape: [null], dtype: "int32", name: "ids" });
  const weights = tf.input({ shape: [null], dtype: "float32", name: "weights" });
  const embedded = tf.layers
    .embedding({ inputDim: spec.features.buckets, outputDim: spec.dim, name: "embedding" })
    .apply(ids) as tf.SymbolicTensor;
  let h = tf.layers.dot({ axes: 1, name: "bag" }).apply([weights, embedded]) as tf.SymbolicTensor;
  if (spec.hidden > 0) {
    h = tf.layers
      .dense({ units: spec.hidden, activation: "relu", name: "hidden" })
      .apply(h) as tf.SymbolicTensor;
  }
  const out = tf.layers
    .dense({ units: spec.labels.length, activation: "sigmoid", name: "head" })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: [ids, weights], outputs: out, name: "fedledger" });
}

/**
 * Pads units' feature ids into the exported model's two inputs: ids [n, T] and weights [n, T].
 * Dispose the returned tensors.
 */
export function layersModelInputs(
  features: readonly Uint32Array[],
  scale: BagScale,
): [tf.Tensor2D, tf.Tensor2D] {
  const T = Math.max(1, ...features.map((f) => f.length));
  const ids = new Int32Array(features.length * T);
  const weights = new Float32Array(features.length * T);
  features.forEach((f, row) => {
    ids.set(f, row * T);
    weights.fill(scale === "mean" ? 1 / f.length : 1 / Math.sqrt(f.length), row * T, row * T + f.length);
  });
  return [tf.tensor2d(ids, [features.length, T], "int32"), tf.tensor2d(weights, [features.length, T])];
}

/** What {@link exportLayersModel} wrote. */
export interface LayersExport {
  modelJson: string;
  weightsBin: string;
  modelHash: string;
}

/**
 * Writes a model as a TF.js LayersModel (model.json + weights.bin) into `dir` (created if missing).
 * @example await exportLayersModel(bytes, spec, "out/tfjs"); // then tf.loadLayersModel(...) elsewhere
 */
export async function exportLayersModel(
  bytes: Uint8Array,
  spec: ModelSpec,
  dir: string,
): Promise<LayersExport> {
  const weights = readWeights(bytes, spec);
  await initBackend();
  const model = buildLayersModel(spec);
  try {
    for (const [layer, names] of layerTensors(spec)) {
      const values = names.map((n) => {
        const shape = model.getLayer(layer).getWeights()[names.indexOf(n)].shape;
        return tf.tensor(weights.get(n) as Float32Array, shape, "float32");
      });
      model.getLayer(layer).setWeights(values);
      tf.dispose(values);
    }
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      }),
    );
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error("TF.js returned no weights");
    const weightData = Buffer.from(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    const modelHash = hashModelBytes(bytes);
    const json = {
      format: "layers-model",
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: "fedledger",
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [LAYERS_WEIGHTS_FILE], weights: artifacts.weightSpecs }],
      userDefinedMetadata: { fedledger: { spec, specHash: specHash(spec), modelHash } },
    };
    await fs.mkdir(dir, { recursive: true });
    const modelJson = path.join(dir, LAYERS_MODEL_FILE);
    const weightsBin = path.join(dir, LAYERS_WEIGHTS_FILE);
    await fs.writeFile(weightsBin, weightData);
    await fs.writeFile(modelJson, JSON.stringify(json));
    return { modelJson, weightsBin, modelHash };
  } finally {
    model.dispose();
  }
}

async function readFileOrFail(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new FedledgerError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      hint: "Give a directory written by `fedledger model export` (model.json and weights.bin)",
    });
  }
}

function importError(dir: string, what: string): FedledgerError {
  return new FedledgerError(
    `${path.join(dir, LAYERS_MODEL_FILE)} is not a fedledger LayersModel export: ${what}`,
    {
      hint: "Export it with `fedledger model export`; other LayersModels lack the spec fedledger needs",
    },
  );
}

/** A model read back from a LayersModel export. */
export interface LayersImport {
  /** Canonical bytes. */
  bytes: Buffer;
  spec: ModelSpec;
}

/**
 * Reads a LayersModel export written by {@link exportLayersModel} and returns canonical bytes and the spec.
 * @example const { bytes, spec } = await importLayersModel("out/tfjs");
 */
export async function importLayersModel(dir: string): Promise<LayersImport> {
  const jsonText = (await readFileOrFail(path.join(dir, LAYERS_MODEL_FILE))).toString("utf8");
  let json: {
    modelTopology?: object;
    weightsManifest?: { paths?: string[]; weights?: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { fedledger?: { spec?: unknown } };
  };
  try {
    json = JSON.parse(jsonText);
  } catch {
    throw importError(dir, "it is not JSON");
  }
  const manifest = json.weightsManifest;
  if (!json.modelTopology || !Array.isArray(manifest) || manifest.length === 0) {
    throw importError(dir, "modelTopology or weightsManifest is missing");
  }
  if (json.userDefinedMetadata?.fedledger?.spec === undefined) {
    throw importError(dir, "userDefinedMetadata.fedledger.spec is missing");
  }
  const spec = parseSpec(json.userDefinedMetadata.fedledger.spec, path.join(dir, LAYERS_MODEL_FILE));
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Buffer[] = [];
  for (const group of manifest) {
    if (!Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw importError(dir, "bad weightsManifest");
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      if (path.isAbsolute(p) || p.split(/[\\/]/).includes("..")) throw importError(dir, `weights path ${p}`);
      chunks.push(await readFileOrFail(path.join(dir, p)));
    }
  }
  const data = Buffer.concat(chunks);
  await initBackend();
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      }),
    );
  } catch (err) {
    throw importError(dir, err instanceof Error ? err.message : String(err));
  }
  try {
    const weights = new Map<string, Float32Array>();
    const expected = new Map(expectedTensors(spec).map((e) => [e.name, e.shape]));
    for (const [layer, names] of layerTensors(spec)) {
      let values: tf.Tensor[];
      try {
        values = model.getLayer(layer).getWeights();
      } catch {
        throw importError(dir, `layer "${layer}" is missing`);
      }
      names.forEach((n, i) => {
        const shape = expected.get(n) as number[];
        if (!values[i] || values[i].shape.join(",") !== shape.join(",")) {
          throw importError(dir, `layer "${layer}" weight ${i} does not have the spec's shape [${shape}]`);
        }
        weights.set(n, Float32Array.from(values[i].dataSync() as Float32Array));
      });
    }
    return { bytes: writeWeights(weights, spec), spec };
  } finally {
    model.dispose();
  }
}
