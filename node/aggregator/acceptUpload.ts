/**
 * The acceptance rules for one upload, in the order they are checked: cheap and local first (envelope,
 * signature, sample-count limit), then one chain round trip (site status, round, committed leaf, metrics), and
 * only then the body. The signature covers the update hash in the headers and the committed leaf holds the same
 * hash, so everything but the bytes themselves is settled before a byte of the body is read: a key that is not
 * an Active site, or a site that did not commit this update, costs the aggregator no memory. The body is then
 * hashed as it streams and compared with the committed hash at the end. Each refusal is an ApiError with its own
 * code; nothing is written unless every check passes, so a refused upload never changes a round.
 */
import { commitLeaf, recoverUpdateSigner, checkUpdate, UpdateCheckError, type TensorLayout } from "../fl";
import type { ContentStore, UploadRecord } from "../store";
import { ApiError } from "./apiError";
import type { UploadEnvelope } from "./envelope";
import type { AggregatorLedger } from "./ledgerPort";
import type { RoundGates } from "./roundGates";
import {
  sampleCountProblem,
  updateNorm,
  updateNormProblem,
  type LimitProblem,
  type UpdateLimits,
} from "./updateLimits";

/** What upload checks need to know. */
export interface AcceptUploadDependencies {
  taskId: bigint;
  chainId: bigint;
  /** TrainingLedger address (the EIP-712 verifying contract). */
  ledgerAddress: string;
  ledger: AggregatorLedger;
  store: ContentStore;
  gates: RoundGates;
  /** The tensors every update must have (expectedTensors of the task's spec). */
  layout: readonly TensorLayout[];
  /** Sample-count and norm limits (updateLimits.ts), shared with the round driver. */
  limits: UpdateLimits;
  /** Secure aggregation: the updates are masked words (`layout` is the masked layout), so no norm applies. */
  masked?: boolean;
  /**
   * Called with a new upload's record and bytes once both are stored, before the round can be sealed (secure
   * aggregation adds the masked words to the round's running sum here).
   */
  onStored?: (record: UploadRecord, body: Buffer) => void;
}

/**
 * Reads the body once the checks that need none have passed. It must enforce the size limit while streaming
 * and refuse (body_hash_mismatch) a body that does not hash to the envelope's update hash; with `keep` false
 * it only hashes the bytes and resolves an empty buffer.
 */
export type ReadBody = (keep: boolean) => Promise<Buffer>;

/** The result of an accepted upload: `created` is false for an idempotent repeat. */
export interface AcceptedUpload {
  created: boolean;
  record: UploadRecord;
}

function sameUpload(record: UploadRecord, env: UploadEnvelope): boolean {
  return (
    record.updateHash === env.updateHash &&
    record.numSamples === env.numSamples.toString() &&
    record.metricsHash === env.metricsHash
  );
}

function duplicate(env: UploadEnvelope, record: UploadRecord): ApiError {
  return new ApiError(
    "duplicate",
    `site ${env.site} already delivered update ${record.updateHash} for round ${env.round}`,
    "A site delivers one update per round; re-send exactly the accepted one, or wait for the next round",
  );
}

function limitError(problem: LimitProblem): ApiError {
  return new ApiError(problem.code, problem.message, problem.hint);
}

/**
 * Checks an upload and stores it. `readBody` is called only after the envelope, the signature, the limits and
 * the chain state have been checked (or, for an exact repeat of an accepted upload, the stored record).
 */
export async function acceptUpload(
  deps: AcceptUploadDependencies,
  env: UploadEnvelope,
  readBody: ReadBody,
): Promise<AcceptedUpload> {
  if (env.task !== deps.taskId)
    throw new ApiError("unknown_task", `this aggregator serves task ${deps.taskId}, not task ${env.task}`);

  let signer: string;
  try {
    signer = recoverUpdateSigner(
      { chainId: deps.chainId, ledger: deps.ledgerAddress },
      {
        taskId: env.task,
        round: env.round,
        updateHash: env.updateHash,
        numSamples: env.numSamples,
        metricsHash: env.metricsHash,
      },
      env.signature,
    );
  } catch {
    throw new ApiError(
      "bad_signature",
      "the signature is not a valid secp256k1 signature",
      "Sign with signUpdate",
    );
  }
  if (signer !== env.site)
    throw new ApiError(
      "bad_signature",
      `the signature does not come from ${env.site} for task ${env.task}, round ${env.round} and these values`,
      "Sign the EIP-712 Update for exactly this task, round, update hash, sample count and metrics with the site's key",
    );

  const samples = sampleCountProblem(env.numSamples, deps.limits);
  if (samples) throw limitError(samples);

  const existing = await deps.store.getUpload(env.task, env.round, env.site);
  if (existing) {
    if (!sameUpload(existing, env)) throw duplicate(env, existing);
    // Hashed as it streams, not kept: a repeat must carry the same bytes, but they are stored already.
    await readBody(false);
    return { created: false, record: existing };
  }

  const ctx = await deps.ledger.uploadContext(env.task, env.round, env.site);
  if (ctx.siteStatus === "Suspended")
    throw new ApiError(
      "site_suspended",
      `site ${env.site} is suspended`,
      "Ask the consortium admins to reinstate it",
    );
  if (ctx.siteStatus !== "Active")
    throw new ApiError(
      "not_active_site",
      `${env.site} is not an active site (status ${ctx.siteStatus})`,
      "Only sites onboarded by the consortium admins may upload",
    );
  if (ctx.round.status === "None")
    throw new ApiError("unknown_round", `round ${env.round} of task ${env.task} has not been opened`);
  if (ctx.round.status !== "Open")
    throw new ApiError(
      "round_not_open",
      `round ${env.round} of task ${env.task} is ${ctx.round.status}`,
      "Train on the current round's base model and upload to that round",
    );
  if (/^0x0{64}$/.test(ctx.leaf))
    throw new ApiError(
      "no_commit",
      `site ${env.site} has not committed an update in round ${env.round}`,
      "Commit the update hash on the ledger (commitUpdate) before uploading",
    );
  if (ctx.leaf !== commitLeaf(env.site, env.updateHash, env.numSamples))
    throw new ApiError(
      "commit_mismatch",
      `the update hash and sample count differ from what ${env.site} committed in round ${env.round}`,
      "Upload exactly the update whose hash and sample count were committed",
    );
  if (!ctx.commit || ctx.commit.metricsHash.toLowerCase() !== env.metricsHash)
    throw new ApiError(
      "metrics_mismatch",
      "the metrics do not hash to the metricsHash of the site's UpdateCommitted event",
      "Send the same metrics object that was hashed for the commit",
    );
  if (deps.gates.isSealed(env.round))
    throw new ApiError("round_closed", `round ${env.round} is being aggregated; uploads are closed`);

  const body = await readBody(true);
  let entries;
  try {
    entries = checkUpdate(body, deps.layout);
  } catch (err) {
    if (err instanceof UpdateCheckError) throw new ApiError(err.problem, err.message, err.hint);
    throw err;
  }
  const norm = deps.masked ? undefined : updateNormProblem(updateNorm(body, entries), deps.limits);
  if (norm) throw limitError(norm);

  const record: UploadRecord = {
    task: env.task.toString(),
    round: env.round,
    site: env.site,
    updateHash: env.updateHash,
    numSamples: env.numSamples.toString(),
    metrics: env.metrics,
    metricsHash: env.metricsHash,
    signature: env.signature,
    receivedAt: new Date().toISOString(),
  };
  const admitted = await deps.gates.admit(env.round, async () => {
    await deps.store.put(body);
    const put = await deps.store.putUpload(record);
    if (put.created) deps.onStored?.(put.record, body);
    return put;
  });
  if (!admitted)
    throw new ApiError("round_closed", `round ${env.round} is being aggregated; uploads are closed`);
  const { created, record: stored } = admitted.value;
  if (!created && !sameUpload(stored, env)) throw duplicate(env, stored);
  return { created, record: stored };
}
