/**
 * How the round driver closes a securely aggregated round (docs/secure-aggregation.md, stage 4), one driver step
 * at a time:
 *
 *   1. survivors: the shared sites whose committed masked update is stored and fits the task. A shared site that
 *      committed but whose update is missing cannot be left out (its masks would stay in the sum) nor unmasked
 *      (its key must stay secret): the round is aborted with reason 3 once the deadline has passed. A committed
 *      site outside the shared set is left out (no other site masked against it).
 *   2. the unmasking request (survivors, dropped = the rest of the shared set) is published once;
 *   3. the driver waits until every survivor answered, or `answerWaitSeconds` after publishing;
 *   4. with at least `threshold` answers it rebuilds the material (leaving out one answer that disagrees, if that
 *      is what it takes), stores it as a content-addressed object, computes the model from the sum, and
 *      finalises with the material's hash (finalizeMaskedRound). Otherwise the round is aborted, reason 3.
 */
import { ABORT_REASON_IDS, type AbortReasonId, type RoundInfo } from "../chain";
import { AggregationError, canonicalJson, commitLeaf, type TensorLayout } from "../fl";
import {
  aggregateMasked,
  buildUnmaskingMaterial,
  SecAggError,
  type KeyAdvertisement,
  type SecAggParameters,
  type UnmaskingAnswer,
  type UnmaskingMaterial,
  type UnmaskingRequest,
} from "../secagg";
import { StoreCorruptionError, type ContentStore, type UploadRecord } from "../store";
import type { AggregatorLedger } from "./ledgerPort";
import type { Logger } from "./log";
import type { AggregatorMetrics } from "./metrics";
import { finiteProblem, recordRound } from "./roundMetrics";
import type { MaskedSums } from "./maskedSums";
import type { SecAggCoordinator } from "./secaggRound";

/** The task's secure-aggregation settings, as the driver is given them. */
export interface SecureRoundSettings {
  coordinator: SecAggCoordinator;
  params: SecAggParameters;
  /** The model's layout (expectedTensors of the spec). */
  layout: readonly TensorLayout[];
  /** How long to wait for the survivors' answers after publishing the request, in seconds. */
  answerWaitSeconds: number;
  /** The masked uploads added up as they arrived (used when they are exactly the survivors'). */
  sums?: MaskedSums;
}

/** What closing a secure round needs from the driver. */
export interface SecureCloseDependencies {
  taskId: bigint;
  ledger: AggregatorLedger;
  store: ContentStore;
  metrics: AggregatorMetrics;
  log: Logger;
  secure: SecureRoundSettings;
  send(action: string, write: () => Promise<void>): Promise<number>;
  abort(round: RoundInfo, reason: AbortReasonId, usable: number): Promise<boolean>;
  exclude(round: number, site: string, reason: string): void;
}

const lower = (a: string) => a.toLowerCase();

/** The stored uploads of shared sites that match their commits; and the shared sites that committed but have none. */
async function survivorsOf(
  deps: SecureCloseDependencies,
  round: RoundInfo,
  shared: readonly string[],
): Promise<{ survivors: UploadRecord[]; missing: string[] }> {
  const { taskId, ledger, store } = deps;
  const inShared = new Set(shared.map(lower));
  const uploads = await store.listRound(taskId, round.round);
  const leaves = await ledger.commitLeaves(taskId, round.round, shared);
  const byLeaf = new Map(shared.map((s, i) => [lower(s), leaves[i]]));
  const survivors: UploadRecord[] = [];
  for (const u of uploads) {
    if (!inShared.has(lower(u.site))) {
      deps.exclude(round.round, u.site, "the site did not share keys in this round's secure aggregation");
      continue;
    }
    if (byLeaf.get(lower(u.site)) !== commitLeaf(u.site, u.updateHash, BigInt(u.numSamples))) continue;
    // The upload's bytes were checked against its commit and the masked layout when accepted; they are read
    // (and their hash checked again) when the sum is computed.
    survivors.push(u);
  }
  const have = new Set(survivors.map((u) => lower(u.site)));
  const missing = shared.filter((s, i) => !/^0x0{64}$/.test(leaves[i]) && !have.has(lower(s)));
  return { survivors, missing };
}

/** Builds the material from the answers, leaving out one answer when that is what makes them agree. */
function rebuild(
  deps: SecureCloseDependencies,
  round: number,
  ads: readonly KeyAdvertisement[],
  request: UnmaskingRequest,
  answers: readonly UnmaskingAnswer[],
): UnmaskingMaterial | string {
  const { params, coordinator } = deps.secure;
  const context = coordinator.context(round);
  try {
    return buildUnmaskingMaterial(context, params, ads, request, answers);
  } catch (err) {
    if (!(err instanceof SecAggError)) throw err;
    for (const left of answers) {
      try {
        const rest = answers.filter((a) => a !== left);
        const material = buildUnmaskingMaterial(context, params, ads, request, rest);
        deps.log("error", "secagg_answer_rejected", {
          task: deps.taskId,
          round,
          site: left.from,
          reason: `its shares disagree with the others': ${err.message}`,
        });
        return material;
      } catch {
        // try the next one
      }
    }
    return err.message;
  }
}

/**
 * One driver step on a secure round whose commits are closed; resolves true once the round is finalised or
 * aborted on the ledger.
 */
export async function closeSecureRound(
  deps: SecureCloseDependencies,
  round: RoundInfo,
  deadlinePassed: boolean,
  ruleId: number,
): Promise<boolean> {
  const { taskId, store, log } = deps;
  const { coordinator, params } = deps.secure;
  const now = Math.floor(Date.now() / 1000);
  const abort = async (reason: AbortReasonId, usable: number, why: string) => {
    if (!deadlinePassed) return false;
    log("warn", "secagg_round_failed", { task: taskId, round: round.round, reason: why });
    return deps.abort(round, reason, usable);
  };

  let request = await coordinator.request(round.round);
  const sharedView = await coordinator.shared(round, now);
  const shared = sharedView.ready ? sharedView.value : [];
  if (!request) {
    if (!sharedView.ready) return false;
    const { survivors, missing } = await survivorsOf(deps, round, shared);
    if (missing.length > 0)
      return abort(
        ABORT_REASON_IDS.unmaskingFailed,
        survivors.length,
        `committed masked update(s) never arrived from ${missing.join(", ")}; their masks cannot be removed`,
      );
    if (survivors.length < Math.max(round.minSitesPerRound, params.threshold))
      return abort(
        round.commitCount < round.minSitesPerRound
          ? ABORT_REASON_IDS.tooFewCommits
          : ABORT_REASON_IDS.unmaskingFailed,
        survivors.length,
        `${survivors.length} masked update(s); the round needs ${Math.max(round.minSitesPerRound, params.threshold)}`,
      );
    const names = new Set(survivors.map((u) => lower(u.site)));
    request = await coordinator.publishRequest(
      round.round,
      { survivors: survivors.map((u) => u.site), dropped: shared.filter((s) => !names.has(lower(s))) },
      now,
    );
  }

  const answers = await coordinator.answers(round.round);
  const everyone = answers.length >= request.survivors.length;
  if (!everyone && now < request.publishedAt + deps.secure.answerWaitSeconds) return false;
  if (answers.length < params.threshold)
    return abort(
      ABORT_REASON_IDS.unmaskingFailed,
      answers.length,
      `${answers.length} survivor(s) answered the unmasking request; the threshold is ${params.threshold}`,
    );
  const ads = await coordinator.sharedAdvertisements(round, now);
  const material = rebuild(deps, round.round, ads, request, answers);
  if (typeof material === "string") return abort(ABORT_REASON_IDS.unmaskingFailed, answers.length, material);

  const started = process.hrtime.bigint();
  // The material is written while the inputs are read and summed (the write waits on the disk, not the CPU).
  const materialStored = store.put(Buffer.from(canonicalJson(material), "utf8"));
  materialStored.catch(() => undefined);
  const parent = await store.get(round.baseModelHash);
  if (!parent) throw new AggregationError(`the base model ${round.baseModelHash} is not in the store`);
  const records: UploadRecord[] = [];
  for (const site of request.survivors) {
    const record = await store.getUpload(taskId, round.round, site);
    if (!record) throw new AggregationError(`the upload record of survivor ${site} vanished from the store`);
    records.push(record);
  }
  // The survivors' masked words added up as they arrived, when the running sum holds exactly them; their bytes
  // were hash-checked on arrival, and an auditor reads and checks them again from the store.
  const presummed = deps.secure.sums?.sumOf(round.round, records);
  const inputs = [];
  for (const r of records) {
    // A survivor's update cannot be left out of a masked sum: one the store lost or damaged fails the round.
    let bytes: Buffer | undefined;
    try {
      if (presummed) bytes = (await store.has(r.updateHash)) ? EMPTY : undefined;
      else bytes = await store.get(r.updateHash);
    } catch (err) {
      if (!(err instanceof StoreCorruptionError)) throw err;
    }
    if (!bytes)
      return abort(
        ABORT_REASON_IDS.unmaskingFailed,
        records.length,
        `the masked update of survivor ${r.site} is missing or damaged in the store`,
      );
    inputs.push({ site: r.site, numSamples: BigInt(r.numSamples), bytes });
  }
  let model: Uint8Array;
  try {
    model = aggregateMasked(
      coordinator.context(round.round),
      params,
      ruleId,
      parent,
      material,
      inputs,
      presummed,
    );
  } catch (err) {
    if (!(err instanceof SecAggError) && !(err instanceof AggregationError)) throw err;
    return abort(ABORT_REASON_IDS.unmaskingFailed, inputs.length, err.message);
  }
  const finite = finiteProblem(model);
  if (finite)
    return abort(ABORT_REASON_IDS.unmaskingFailed, inputs.length, `the aggregate is not finite (${finite})`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const unmaskingHash = await materialStored;
  const recorded = await recordRound(deps, round, model, records, seconds, {
    unmaskingHash,
    dropped: request.dropped.length,
  });
  if (recorded) deps.secure.sums?.forget(round.round);
  return recorded;
}

const EMPTY = Buffer.alloc(0);
