/**
 * What every closed round stores beside its model, whichever way it was aggregated: the round metrics document
 * (its SHA-256 is the round's metricsHash on the ledger), and the check that a model is finite before it is
 * recorded.
 */
import type { RoundInfo } from "../chain";
import { canonicalJson, checkFinite } from "../fl";
import { readModelHeader } from "../model/format";
import type { UploadRecord } from "../store";

/** Why model bytes are not a finite FLM1 model, or undefined when they are. */
export function finiteProblem(model: Uint8Array): string | undefined {
  try {
    checkFinite(model, readModelHeader(model));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The round metrics document stored with each finalised round; its SHA-256 is the round's metricsHash. */
export function roundMetricsDocument(
  taskId: bigint,
  round: RoundInfo,
  modelHash: string,
  updatesRoot: string,
  included: readonly UploadRecord[],
): string {
  return canonicalJson({
    task: taskId.toString(),
    round: round.round,
    baseModelHash: round.baseModelHash,
    modelHash,
    updatesRoot,
    sites: included.map((r) => ({
      site: r.site,
      updateHash: r.updateHash,
      numSamples: r.numSamples,
      metricsHash: r.metricsHash,
      metrics: r.metrics,
    })),
  });
}
