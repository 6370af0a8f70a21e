/**
 * The realistic evaluation: trains models the README's way on generated notes and scores them, next to
 * keyword search, on the hand-written realistic notes (test/realistic/, written apart from the generator)
 * and on the generator's held-out template split.
 *
 * Models:
 * - centralized: `fedledger data generate --n <train> --seed 1` per language, pooled, trained with the default
 *   spec (what the README's first session does, for all five languages);
 * - heldout-template: the same on the generator's "train" split, scored on its "heldout" split;
 * - federated: the demo's recipe simulated in one process (five sites, one language each, sparse FedAvg,
 *   the demo's rounds, epochs and learning rate).
 */
import { fedAvgSparse } from "../fl";
import { buildDataset, concatDatasets, type Dataset } from "../model/dataset";
import { predictLabels } from "../model/evaluate";
import { createInitialModel, readWeights, writeWeights } from "../model/params";
import { Scorer } from "../model/scorer";
import type { ModelSpec } from "../model/spec";
import { trainWeights } from "../model/train";
import type { Label, Lang } from "../text/labels";
import type { Note } from "../text/note";
import { generateNotes, type TemplateSplit } from "../text/synth/generate";
import { localDelta, runFederated, simAddress } from "./federated";
import { keywordLabels } from "./keyword";
import { scorePredictions, type EvalBreakdown } from "./score";

/** The five site languages, in the demo's order. */
export const EVAL_LANGS: readonly Lang[] = ["nb", "sv", "da", "fi", "et"];

/** Options of {@link trainCentral}. */
export interface CentralOptions {
  spec: ModelSpec;
  /** Generated training notes per language. */
  perLang: number;
  seed: number;
  split?: TemplateSplit;
}

/** Trains one model on generated notes of every language, pooled; returns canonical bytes. */
export function trainCentral(options: CentralOptions): Buffer {
  const { spec, perLang, seed } = options;
  const data = EVAL_LANGS.map((lang) =>
    buildDataset(generateNotes({ lang, n: perLang, seed, split: options.split ?? "all" }), spec),
  );
  const genesis = readWeights(createInitialModel(spec, seed), spec);
  return writeWeights(trainWeights(spec, genesis, concatDatasets(data), seed, spec.training).weights, spec);
}

/** Options of {@link trainFederated}. */
export interface FederatedOptions {
  spec: ModelSpec;
  /** Training notes per site. */
  perSite: number;
  rounds: number;
  seed: number;
}

/** The federated sites' notes: one site per language, `perSite` notes each. */
function siteData(spec: ModelSpec, perSite: number, seed: number): { site: string; data: Dataset }[] {
  return EVAL_LANGS.map((lang, i) => ({
    site: simAddress(i),
    data: buildDataset(generateNotes({ lang, n: perSite, seed: seed * 100 + i }), spec),
  }));
}

/**
 * The centralized model the federated one is compared with, as the demo does: the sites' own notes pooled,
 * trained for as many passes as the sites make in all rounds (rounds × epochs).
 */
export function trainPooledSites(options: FederatedOptions): Buffer {
  const { spec, perSite, rounds, seed } = options;
  const pooled = concatDatasets(siteData(spec, perSite, seed).map((s) => s.data));
  const genesis = readWeights(createInitialModel(spec, seed), spec);
  const settings = { ...spec.training, epochs: spec.training.epochs * rounds };
  return writeWeights(trainWeights(spec, genesis, pooled, seed, settings).weights, spec);
}

/** Simulates the demo's federated run (one site per language, sparse FedAvg); returns canonical bytes. */
export async function trainFederated(options: FederatedOptions): Promise<Buffer> {
  const { spec, perSite, rounds, seed } = options;
  const model = await runFederated({
    spec,
    genesis: createInitialModel(spec, seed),
    rounds,
    rule: fedAvgSparse,
    sites: siteData(spec, perSite, seed).map((s, i) => ({
      address: s.site,
      numSamples: s.data.features.length,
      update: (base, r) => localDelta(spec, base, s.data, seed + 7919 * r + i),
    })),
  });
  return Buffer.from(model);
}

/** Predicted labels of a model for notes. */
export async function modelLabels(
  bytes: Uint8Array,
  spec: ModelSpec,
  notes: readonly Note[],
): Promise<Label[][]> {
  const scorer = await Scorer.load(bytes, spec);
  try {
    return predictLabels(scorer, notes);
  } finally {
    scorer.dispose();
  }
}

/** Scores of a model and of keyword search on one set of notes. */
export interface SetComparison {
  name: string;
  model: EvalBreakdown;
  keyword: EvalBreakdown;
}

/** Scores predictions of a model and of keyword search on the same notes. */
export async function compareOnSet(
  name: string,
  bytes: Uint8Array,
  spec: ModelSpec,
  notes: readonly Note[],
): Promise<SetComparison> {
  const predicted = await modelLabels(bytes, spec, notes);
  const scored = (labels: readonly (readonly Label[])[]) =>
    scorePredictions(
      notes.map((n, i) => ({ lang: n.lang, gold: n.labels, predicted: labels[i], meta: n.meta })),
    );
  return {
    name,
    model: scored(predicted),
    keyword: scored(notes.map((n) => keywordLabels(n.text, n.lang))),
  };
}
