/**
 * The metric values a site reports for a global model: scores on its local validation split, flat and numeric
 * so the aggregator can average them per round. Their hash goes in the commit (docs/protocol.md), so they must
 * be deterministic: the same model and notes give the same values (no timings in here).
 */
import type { Metrics } from "../fl";
import type { LabelledText } from "../model/dataset";
import { evaluateModel } from "../model/evaluate";
import type { ModelSpec } from "../model/spec";

/** Scores of one model on the validation split; null scores mean there were no validation notes. */
export interface ValidationScores {
  numValidation: number;
  microF1: number | null;
  macroF1: number | null;
  microPrecision: number | null;
  microRecall: number | null;
  implantF1: number | null;
  implantRecall: number | null;
}

/**
 * Evaluates canonical model bytes on the validation notes.
 *
 * @example
 * const scores = await validationScores(baseBytes, spec, validation); // { numValidation: 20, microF1: 0.41, … }
 */
export async function validationScores(
  model: Uint8Array,
  spec: ModelSpec,
  validation: readonly LabelledText[],
): Promise<ValidationScores> {
  if (validation.length === 0)
    return {
      numValidation: 0,
      microF1: null,
      macroF1: null,
      microPrecision: null,
      microRecall: null,
      implantF1: null,
      implantRecall: null,
    };
  const m = await evaluateModel(model, spec, validation);
  return {
    numValidation: validation.length,
    microF1: m.micro.f1,
    macroF1: m.macro.f1,
    microPrecision: m.micro.precision,
    microRecall: m.micro.recall,
    implantF1: m.implant.f1,
    implantRecall: m.implant.recall,
  };
}

/**
 * The metrics object sent with an upload and hashed into the commit: the validation scores of the round's base
 * model (scores that are null are left out) and the mean training loss of the last local epoch.
 *
 * @example
 * reportMetrics(scores, 0.31); // { implantF1: 0.5, …, numValidation: 20, trainLoss: 0.31 }
 */
export function reportMetrics(scores: ValidationScores, trainLoss: number): Metrics {
  const metrics: Metrics = {};
  for (const [key, value] of Object.entries(scores)) if (value !== null) metrics[key] = value;
  if (Number.isFinite(trainLoss)) metrics.trainLoss = trainLoss;
  return metrics;
}
