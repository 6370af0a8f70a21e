/**
 * What every finalised round stores and records, whichever way it was aggregated: the check that a model is
 * finite, the round metrics document (its SHA-256 is the round's metricsHash on the ledger), and the
 * finalisation itself.
 */
import type { RoundInfo } from "../chain";
import { buildUpdateTree, canonicalJson, checkFinite } from "../fl";
import { readModelHeader } from "../model/format";
import type { ContentStore, UploadRecord } from "../store";
import type { AggregatorLedger } from "./ledgerPort";
import type { Logger } from "./log";
import type { AggregatorMetrics } from "./metrics";

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

/** What recording a round's model needs from the driver. */
export interface RecordRoundDependencies {
  taskId: bigint;
  store: ContentStore;
  ledger: AggregatorLedger;
  log: Logger;
  metrics: AggregatorMetrics;
  /** Runs a ledger write and resolves its duration in seconds (the driver's `send`). */
  send(action: string, write: () => Promise<void>): Promise<number>;
}

/**
 * Stores the round's model and metrics document, then finalises the round on the ledger unless a previous
 * process already closed it (the chain is read right before sending). A secure round also gives its stored
 * material's hash, bound into the finalisation. Resolves true: the round is closed on the ledger.
 */
export async function recordRound(
  deps: RecordRoundDependencies,
  round: RoundInfo,
  model: Uint8Array,
  included: readonly UploadRecord[],
  aggregationSeconds: number,
  secure?: { unmaskingHash: string; dropped: number },
): Promise<boolean> {
  const { taskId, store, ledger, log } = deps;
  deps.metrics.aggregationSeconds.observe(aggregationSeconds);
  const modelHash = await store.put(model);
  const tree = buildUpdateTree(
    included.map((u) => ({ site: u.site, updateHash: u.updateHash, numSamples: BigInt(u.numSamples) })),
  );
  const metricsHash = await store.put(
    Buffer.from(roundMetricsDocument(taskId, round, modelHash, tree.root, included), "utf8"),
  );
  const where = { task: taskId, round: round.round };
  log("info", "round_aggregated", {
    ...where,
    modelHash,
    updatesRoot: tree.root,
    included: included.length,
    ...secure,
    seconds: Number(aggregationSeconds.toFixed(3)),
  });
  // A model hash recorded before (by another task's genesis, or an unchanged model) does not stop the round:
  // the ledger keeps the hash's first record and the round's own record names its model.
  const fresh = await ledger.round(taskId, round.round);
  if (fresh.status !== "Open") {
    log("info", "round_already_closed", { ...where, status: fresh.status });
    return true;
  }
  const ledgerSeconds = await deps.send("finalize_round", () =>
    ledger.finalizeRound(taskId, round.round, {
      modelHash,
      updatesRoot: tree.root,
      includedCount: included.length,
      metricsHash,
      unmaskingHash: secure?.unmaskingHash,
    }),
  );
  deps.metrics.roundsFinalized.inc();
  log("info", "round_finalized", {
    ...where,
    modelHash,
    parentModelHash: round.baseModelHash,
    updatesRoot: tree.root,
    included: included.length,
    metricsHash,
    ...(secure ? { unmaskingHash: secure.unmaskingHash } : {}),
    ledgerSeconds,
  });
  return true;
}
