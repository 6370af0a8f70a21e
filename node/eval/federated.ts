/**
 * An in-process federated simulation shared by the realistic evaluation and the benchmarks (bench-robust, bench-privacy): no chain, no
 * network. Every round each site computes a delta from the global model, and the task's aggregation rule
 * runs on the canonical delta bytes, exactly as the aggregator and the auditor run it. Plus per-language
 * macro-F1 of a model on test sets.
 */
import type { AggregationRule } from "../fl";
import type { Dataset } from "../model/dataset";
import { predictLabels } from "../model/evaluate";
import { computeMetrics } from "../model/metrics";
import { readWeights, writeWeights } from "../model/params";
import { Scorer } from "../model/scorer";
import type { ModelSpec } from "../model/spec";
import { subtractWeights, trainWeights } from "../model/train";
import type { Note } from "../text/corpus";
import type { Lang } from "../text/labels";

type Weights = Map<string, Float32Array>;

/** One simulated site: its address, the sample count it commits, and how it turns the global model into a delta. */
export interface SimSite {
  address: string;
  numSamples: number;
  /** The site's delta for `round` (1-based) from the global weights `base` (not to be modified). */
  update(base: Weights, round: number): Weights;
}

/** The delta of ordinary local training (trainWeights with the spec's training settings) from `base`. */
export function localDelta(spec: ModelSpec, base: Weights, data: Dataset, seed: number): Weights {
  return subtractWeights(trainWeights(spec, base, data, seed, spec.training).weights, base);
}

/**
 * Runs `rounds` rounds from `genesis` and returns the final global model's bytes. `onUpdate` sees every
 * site's delta (as published) before aggregation.
 */
export async function runFederated(options: {
  spec: ModelSpec;
  genesis: Uint8Array;
  rounds: number;
  rule: AggregationRule;
  sites: readonly SimSite[];
  onUpdate?: (round: number, site: number, delta: Weights) => void;
  onRound?: (round: number, global: Uint8Array) => void;
}): Promise<Uint8Array> {
  const { spec } = options;
  let global: Uint8Array = options.genesis;
  for (let r = 1; r <= options.rounds; r++) {
    const base = readWeights(global, spec);
    const updates = options.sites.map((site, i) => {
      const delta = site.update(base, r);
      options.onUpdate?.(r, i, delta);
      const bytes = writeWeights(delta, spec);
      return { site: site.address, numSamples: site.numSamples, bytes: async () => bytes };
    });
    global = await options.rule.aggregate(global, updates);
    options.onRound?.(r, global);
  }
  return global;
}

/** Macro-F1 of a model on each language's test notes. */
export async function macroF1ByLang(
  bytes: Uint8Array,
  spec: ModelSpec,
  tests: readonly { lang: Lang; notes: Note[] }[],
): Promise<Record<string, number>> {
  const scorer = await Scorer.load(bytes, spec);
  try {
    const out: Record<string, number> = {};
    for (const t of tests) {
      const predicted = predictLabels(scorer, t.notes);
      const m = computeMetrics(
        t.notes.map((n, i) => ({ lang: n.lang, gold: n.labels, predicted: predicted[i] })),
        spec.labels,
      );
      out[t.lang] = m.macro.f1;
    }
    return out;
  } finally {
    scorer.dispose();
  }
}

/** Site addresses 0x…01, 0x…02, … as the simulations use them. */
export function simAddress(i: number): string {
  return `0x${(i + 1).toString(16).padStart(40, "0")}`;
}
