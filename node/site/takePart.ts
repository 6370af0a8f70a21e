/**
 * One round, end to end and idempotent: train (or reuse the saved update), commit its hash, sample count and
 * metrics hash on the chain once, and hand the exact committed bytes to the aggregator with the site's EIP-712
 * signature. Every step first looks at what the chain, the state file and the aggregator already hold, so a
 * site restarted at any point carries on without a second commit and re-uploads only when the aggregator lacks
 * the update.
 */
import { isFinalRefusal } from "../aggregator/apiError";
import { aggregatorHoldsUpdate, AggregatorRequestError, uploadUpdate } from "../aggregator/client";
import type { RoundInfo } from "../chain";
import { signUpdate } from "../fl";
import { siteEvent } from "./events";
import { prepareUpdate, type PreparedUpdate } from "./prepareUpdate";
import { privacySpend } from "./privacySpend";
import { awaitUnmasking, prepareMaskedUpdate, SecureRoundUnavailable } from "./securePart";
import type { SiteRuntime, SiteTask } from "./runtime";
import type { RoundRecord } from "./state";

/**
 * How a round ended for this site: its update is with the aggregator; it missed the commit window; the
 * aggregator refused the upload for good; the site committed an update whose bytes it can no longer produce;
 * under DP, joining the round would pass the task's ε budget, so the site sat it out; or, under secure
 * aggregation, it could not take part in the round's key stages (sat_out).
 */
export type RoundOutcome = "uploaded" | "missed" | "refused" | "unrecoverable" | "over_budget" | "sat_out";

/** The service was asked to stop between two steps of a round. */
export class StopRequestedError extends Error {
  constructor() {
    super("the site service is stopping");
  }
}

function checkStop(rt: SiteRuntime): void {
  if (rt.signal.aborted) throw new StopRequestedError();
}

function recordOf(
  task: SiteTask,
  round: RoundInfo,
  update: Pick<PreparedUpdate, "updateHash" | "numSamples" | "metrics" | "metricsHash">,
  phase: RoundRecord["phase"],
  commitTx?: string,
): Omit<RoundRecord, "updatedAt"> {
  return {
    version: 1,
    task: task.id.toString(),
    round: round.round,
    baseModelHash: round.baseModelHash.toLowerCase(),
    openedAtBlock: round.openedAtBlock,
    phase,
    updateHash: update.updateHash,
    numSamples: update.numSamples,
    metrics: update.metrics,
    metricsHash: update.metricsHash,
    ...(commitTx ? { commitTx } : {}),
  };
}

function commitMatches(rt: SiteRuntime, task: SiteTask, round: number, record: RoundRecord | PreparedUpdate) {
  return rt.ledger.commitMatches(rt.site, {
    taskId: task.id,
    round,
    updateHash: record.updateHash,
    numSamples: record.numSamples,
  });
}

/** Loads the round's saved record and bytes, dropping a record that belongs to another opening of the round. */
async function savedRound(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
): Promise<{ record: RoundRecord; bytes: Buffer } | undefined> {
  const record = await rt.state.read(task.id, round.round);
  if (!record) return undefined;
  const discard = async (reason: string) => {
    rt.emit(siteEvent("stale_state_discarded", { task: task.id.toString(), round: round.round, reason }));
    await rt.state.discard(task.id, round.round);
    return undefined;
  };
  if (
    record.baseModelHash !== round.baseModelHash.toLowerCase() ||
    record.openedAtBlock !== round.openedAtBlock
  )
    return discard("the saved record is for another opening of this round (was the chain reset?)");
  const bytes = await rt.state.readUpdate(record);
  if (!bytes) return discard("the saved update bytes are missing or damaged");
  return { record, bytes };
}

/**
 * Sends the commit transaction. Returns the new record, or a final outcome when the ledger says the round
 * cannot take this commit any more.
 */
async function commit(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  record: RoundRecord,
): Promise<RoundRecord | RoundOutcome> {
  const taskLabel = task.id.toString();
  const started = Date.now();
  const result = await rt.ledger.commitUpdate({
    taskId: task.id,
    round: round.round,
    updateHash: record.updateHash,
    numSamples: record.numSamples,
    metricsHash: record.metricsHash,
  });
  if (result.committed) {
    const saved = await rt.state.write(recordOf(task, round, record, "committed", result.tx));
    rt.emit(
      siteEvent("committed", {
        task: taskLabel,
        round: round.round,
        updateHash: record.updateHash,
        numSamples: record.numSamples,
        metricsHash: record.metricsHash,
        tx: result.tx,
        block: result.block,
        ms: Date.now() - started,
      }),
    );
    return saved;
  }
  if (result.refusal === "already_committed") {
    if (!(await commitMatches(rt, task, round.round, record))) return unrecoverable(rt, task, round);
    rt.emit(
      siteEvent("commit_found", {
        task: taskLabel,
        round: round.round,
        updateHash: record.updateHash,
        source: "state",
      }),
    );
    return rt.state.write(recordOf(task, round, record, "committed"));
  }
  rt.emit(
    siteEvent("commit_skipped", {
      task: taskLabel,
      round: round.round,
      reason: result.refusal === "round_not_open" ? "the round closed" : "the commit window closed",
    }),
  );
  return "missed";
}

/** Commits the saved record unless the commit window has closed (then "missed", with a commit_skipped event). */
async function commitWhileOpen(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  chainTime: number,
  record: RoundRecord,
): Promise<RoundRecord | RoundOutcome> {
  checkStop(rt);
  if (Math.max(chainTime, Math.floor(Date.now() / 1000)) >= round.deadline) {
    rt.emit(
      siteEvent("commit_skipped", {
        task: task.id.toString(),
        round: round.round,
        reason: "the commit window closed",
      }),
    );
    return "missed";
  }
  return commit(rt, task, round, record);
}

function unrecoverable(rt: SiteRuntime, task: SiteTask, round: RoundInfo): RoundOutcome {
  rt.emit(
    siteEvent("commit_skipped", {
      task: task.id.toString(),
      round: round.round,
      reason:
        "this site committed an update in this round that it cannot reproduce (its saved state is lost); it sits this round out",
    }),
  );
  return "unrecoverable";
}

/**
 * Makes sure the aggregator holds the committed update: asks it first when the record says it was uploaded,
 * and uploads (again) the saved bytes when it does not. Returns "uploaded", or "refused" after a final refusal.
 * With `announce`, a positive answer is reported as an upload_confirmed event (once per round and run, not at
 * every look).
 */
export async function deliverUpdate(
  rt: SiteRuntime,
  task: SiteTask,
  record: RoundRecord,
  bytes: Buffer,
  announce = false,
): Promise<RoundOutcome> {
  const taskLabel = task.id.toString();
  const round = record.round;
  const resent = record.phase === "uploaded";
  if (resent) {
    if (await aggregatorHoldsUpdate(task.aggregator, task.id, round, rt.site, record.updateHash)) {
      if (announce)
        rt.emit(siteEvent("upload_confirmed", { task: taskLabel, round, updateHash: record.updateHash }));
      return "uploaded";
    }
    rt.emit(siteEvent("upload_missing", { task: taskLabel, round, updateHash: record.updateHash }));
  }
  checkStop(rt);
  const started = Date.now();
  const signature = await signUpdate(
    rt.signer,
    { chainId: rt.chainId, ledger: rt.ledgerAddress },
    {
      taskId: task.id,
      round,
      updateHash: record.updateHash,
      numSamples: record.numSamples,
      metricsHash: record.metricsHash,
    },
  );
  let created: boolean;
  try {
    ({ created } = await uploadUpdate(
      task.aggregator,
      {
        task: task.id,
        round,
        bytes,
        numSamples: record.numSamples,
        metrics: record.metrics,
        signature,
        site: rt.site,
      },
      { retries: 2 },
    ));
  } catch (err) {
    if (err instanceof AggregatorRequestError && isFinalRefusal(err.code)) {
      rt.emit(siteEvent("upload_refused", { task: taskLabel, round, code: err.code, reason: err.message }));
      return "refused";
    }
    throw err;
  }
  if (!resent) await rt.state.write({ ...record, phase: "uploaded" });
  rt.emit(
    siteEvent("uploaded", {
      task: taskLabel,
      round,
      updateHash: record.updateHash,
      created,
      resent,
      ms: Date.now() - started,
    }),
  );
  return "uploaded";
}

/**
 * Takes part in an open round (see the module comment). `chainTime` is the time of the latest block seen, to
 * tell whether the commit window is still open. Emits events for each step; throws on failures worth retrying
 * (RoundDeferredError, network and chain errors) and StopRequestedError when the service stops mid-round.
 *
 * @example
 * const outcome = await takePart(rt, task, round, snapshot.chainTime);
 */
export async function takePart(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  chainTime: number,
): Promise<RoundOutcome> {
  const taskLabel = task.id.toString();
  let saved = await savedRound(rt, task, round);
  // Under DP: what this site has spent on the task, and whether this round still fits the budget. A round
  // already trained or committed was within the budget when it was; a new one past it is not trained at all.
  const spend = await privacySpend(rt, task, round.round);
  if (
    spend &&
    !spend.withinBudget &&
    !saved &&
    !(await rt.ledger.hasCommitted(task.id, round.round, rt.site))
  ) {
    rt.emit(
      siteEvent("privacy_budget_exhausted", {
        task: taskLabel,
        round: round.round,
        roundsJoined: spend.roundsJoined,
        epsilonSpent: spend.epsilonSpent,
        epsilonWithRound: spend.epsilonWithRound,
        epsilonBudget: spend.epsilonBudget,
        delta: spend.delta,
      }),
    );
    return "over_budget";
  }
  if (task.spec.secureAggregation) return takeSecurePart(rt, task, round, chainTime, saved, spend);
  // Without a saved update, both paths below train the same deterministic update: start training while the
  // ledger answers whether this site already committed, rather than after (one round trip less per round).
  // Both are waited for before a failure is thrown, so a failed read never leaves a training running.
  const [asked, trained] = await Promise.allSettled([
    rt.ledger.hasCommitted(task.id, round.round, rt.site),
    saved ? undefined : prepareUpdate(rt, task, round, spend),
  ]);
  if (asked.status === "rejected") throw asked.reason;
  if (trained.status === "rejected") throw trained.reason;
  const committed = asked.value;
  const early = trained.value;

  if (committed) {
    if (saved && !(await commitMatches(rt, task, round.round, saved.record))) {
      rt.emit(
        siteEvent("stale_state_discarded", {
          task: taskLabel,
          round: round.round,
          reason: "the saved update is not the one this site committed on the chain",
        }),
      );
      await rt.state.discard(task.id, round.round);
      saved = undefined;
    }
    if (!saved) {
      // The state is lost: training is deterministic, so rebuild the update and check it is the committed one.
      const update = early ?? (await prepareUpdate(rt, task, round, spend));
      if (!(await commitMatches(rt, task, round.round, update))) return unrecoverable(rt, task, round);
      const record = await rt.state.write(recordOf(task, round, update, "committed"), update.bytes);
      saved = { record, bytes: update.bytes };
      rt.emit(
        siteEvent("commit_found", {
          task: taskLabel,
          round: round.round,
          updateHash: update.updateHash,
          source: "retrained",
        }),
      );
    } else if (saved.record.phase === "trained") {
      saved.record = await rt.state.write(recordOf(task, round, saved.record, "committed"));
      rt.emit(
        siteEvent("commit_found", {
          task: taskLabel,
          round: round.round,
          updateHash: saved.record.updateHash,
          source: "state",
        }),
      );
    }
  } else {
    if (!saved) {
      const update = early ?? (await prepareUpdate(rt, task, round, spend));
      const record = await rt.state.write(recordOf(task, round, update, "trained"), update.bytes);
      saved = { record, bytes: update.bytes };
    }
    const result = await commitWhileOpen(rt, task, round, chainTime, saved.record);
    if (typeof result === "string") return result;
    saved.record = result;
  }
  checkStop(rt);
  return deliverUpdate(rt, task, saved.record, saved.bytes, true);
}

/**
 * takePart under secure aggregation: the masked update depends on the round's fresh secrets, so a site that lost
 * its saved masked update after committing cannot rebuild it (unrecoverable), and a new one is made only by
 * taking part in the key stages (securePart.ts) beside the training.
 */
async function takeSecurePart(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  chainTime: number,
  saved: { record: RoundRecord; bytes: Buffer } | undefined,
  spend: Awaited<ReturnType<typeof privacySpend>>,
): Promise<RoundOutcome> {
  const taskLabel = task.id.toString();
  const committed = await rt.ledger.hasCommitted(task.id, round.round, rt.site);
  if (committed) {
    if (!saved || !(await commitMatches(rt, task, round.round, saved.record)))
      return unrecoverable(rt, task, round);
    if (saved.record.phase === "trained")
      saved.record = await rt.state.write(recordOf(task, round, saved.record, "committed"));
  } else {
    if (!saved) {
      let update: PreparedUpdate;
      try {
        update = await prepareMaskedUpdate(rt, task, round, () => prepareUpdate(rt, task, round, spend));
      } catch (err) {
        if (!(err instanceof SecureRoundUnavailable)) throw err;
        rt.emit(siteEvent("secagg_sat_out", { task: taskLabel, round: round.round, reason: err.message }));
        return "sat_out";
      }
      const record = await rt.state.write(recordOf(task, round, update, "trained"), update.bytes);
      saved = { record, bytes: update.bytes };
    }
    const result = await commitWhileOpen(rt, task, round, chainTime, saved.record);
    if (typeof result === "string") return result;
    saved.record = result;
  }
  checkStop(rt);
  const outcome = await deliverUpdate(rt, task, saved.record, saved.bytes, true);
  if (outcome === "uploaded") await awaitUnmasking(rt, task, round);
  return outcome;
}
