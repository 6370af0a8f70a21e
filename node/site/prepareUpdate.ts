/**
 * The local half of a round: fetch the round's base model from the aggregator, refuse it unless its SHA-256 is
 * the base hash recorded on the chain, evaluate it on the validation split, train from it on the training
 * split, and return the update (the delta, canonical bytes) with its hash, sample count and metrics.
 */
import { AggregatorRequestError, fetchModel } from "../aggregator/client";
import type { RoundInfo } from "../chain";
import { FedledgerError } from "../errors";
import { metricsHash, type Metrics } from "../fl";
import { hashModelBytes } from "../model/format";
import { readWeights } from "../model/params";
import { Prng } from "../model/prng";
import { trainLocal } from "../model/train";
import { siteEvent } from "./events";
import { dpReportMetrics, type PrivacySpend } from "./privacySpend";
import type { SiteRuntime, SiteTask } from "./runtime";
import { reportMetrics, validationScores } from "./siteMetrics";

/** An update ready to commit. */
export interface PreparedUpdate {
  bytes: Buffer;
  /** SHA-256 of `bytes`, lower-case 0x hex. */
  updateHash: string;
  numSamples: number;
  metrics: Metrics;
  metricsHash: string;
}

/** The round cannot be joined now (for example the aggregator served a wrong model); look again later. */
export class RoundDeferredError extends FedledgerError {}

/**
 * The training seed of a round: drawn from the configured seed and the task and round, so that every round
 * shuffles differently and a restarted site trains the same round to the same bytes.
 */
export function roundSeed(seed: number, task: bigint, round: number): number {
  return new Prng(seed, `site round ${task}:${round}`).nextUint32();
}

async function fetchBase(rt: SiteRuntime, task: SiteTask, round: RoundInfo): Promise<Buffer> {
  const expected = round.baseModelHash.toLowerCase();
  const reject = (reason: string): never => {
    rt.emit(
      siteEvent("base_model_rejected", { task: task.id.toString(), round: round.round, expected, reason }),
    );
    throw new RoundDeferredError(`refused the base model of round ${round.round}: ${reason}`, {
      hint: "The aggregator must serve the model whose hash is on the chain; the site looks again later",
    });
  };
  const started = Date.now();
  let bytes: Buffer;
  try {
    bytes = await fetchModel(task.aggregator, expected, {
      retries: 2,
      maxResponseBytes: rt.maxDownloadBytes,
    });
  } catch (err) {
    if (err instanceof AggregatorRequestError && err.code === "hash_mismatch") return reject(err.message);
    throw err;
  }
  const got = hashModelBytes(bytes);
  if (got !== expected) return reject(`the bytes hash to ${got}`);
  try {
    readWeights(bytes, task.spec);
  } catch (err) {
    return reject(`the model does not fit the task's spec: ${(err as Error).message}`);
  }
  rt.emit(
    siteEvent("base_model_fetched", {
      task: task.id.toString(),
      round: round.round,
      hash: got,
      bytes: bytes.length,
      ms: Date.now() - started,
    }),
  );
  return bytes;
}

/**
 * Fetches, checks, evaluates and trains; emits base_model_fetched (or base_model_rejected), model_evaluated and
 * trained. Throws RoundDeferredError when the base model is refused. Deterministic for a backend: the same
 * base model, notes and seed give the same update bytes and metrics (under DP with CSPRNG noise, the same
 * metrics but other bytes).
 *
 * Under DP (`spend` given, from privacySpend) the committed sample count is 1 and the metrics are the privacy
 * spend only (dpReportMetrics): the note count, the validation scores and the loss are not covered by ε.
 */
export async function prepareUpdate(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  spend?: PrivacySpend,
): Promise<PreparedUpdate> {
  const taskLabel = task.id.toString();
  const base = await fetchBase(rt, task, round);

  let started = Date.now();
  const scores = await validationScores(base, task.spec, rt.validation);
  rt.emit(
    siteEvent("model_evaluated", {
      task: taskLabel,
      round: round.round,
      model: round.baseModelHash.toLowerCase(),
      numValidation: scores.numValidation,
      microF1: scores.microF1,
      macroF1: scores.macroF1,
      ms: Date.now() - started,
    }),
  );

  started = Date.now();
  const trained = await trainLocal({
    spec: task.spec,
    base,
    notes: rt.train,
    seed: roundSeed(rt.training.seed, task.id, round.round),
    epochs: task.spec.training.dp ? undefined : rt.training.epochs,
    lr: rt.training.lr,
    batchSize: rt.training.batchSize,
  });
  const updateHash = hashModelBytes(trained.delta);
  const loss = trained.losses[trained.losses.length - 1] ?? Number.NaN;
  const metrics = spend ? dpReportMetrics(spend) : reportMetrics(scores, loss);
  const numSamples = spend ? 1 : trained.numSamples;
  rt.emit(
    siteEvent("trained", {
      task: taskLabel,
      round: round.round,
      numSamples,
      epochs: trained.losses.length,
      loss,
      updateHash,
      bytes: trained.delta.length,
      ms: Date.now() - started,
      ...(spend ? { dpEpsilon: spend.epsilonWithRound } : {}),
    }),
  );
  return {
    bytes: trained.delta,
    updateHash,
    numSamples,
    metrics,
    metricsHash: metricsHash(metrics),
  };
}
