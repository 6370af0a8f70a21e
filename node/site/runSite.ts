/**
 * The site service's main loop. Every poll interval it looks at each task on the chain (one batched read) and
 * does what the round needs: join an open round (also one already open when the service starts), keep the
 * aggregator supplied with the committed update while the round is open, report a closed round, and evaluate
 * the final model once the task's planned rounds are over. Failures are retried with capped exponential backoff;
 * the service stops when every task is finished (unless keepRunning) or when its signal aborts.
 */
import { describeChainError, type RoundInfo } from "../chain";
import { FedledgerError } from "../errors";
import { fetchModel } from "../aggregator/client";
import { hashModelBytes } from "../model/format";
import type { SiteConfig } from "./config";
import { siteEvent, type SiteEvent, type SiteEventHandler } from "./events";
import { sleep } from "../sleep";
import { backoffDelay, isTransientError } from "./retry";
import type { SiteRuntime, SiteTask } from "./runtime";
import { reportMetrics, validationScores } from "./siteMetrics";
import type { SiteLedgerOpener } from "./ledgerPort";
import { startSite } from "./startSite";
import { answerUnmaskingOnce, forgetSecureRound } from "./securePart";
import { deliverUpdate, StopRequestedError, takePart, type RoundOutcome } from "./takePart";

/** Options of {@link runSite}. */
export interface RunSiteOptions {
  /** Stops the service cleanly when aborted (between two steps; a running training epoch finishes first). */
  signal?: AbortSignal;
  /** Receives every event (see events.ts); must not throw. */
  onEvent?: SiteEventHandler;
  /** Opens the ledger port (default: the contracts the config names; see ledgerPort.ts). */
  openLedger?: SiteLedgerOpener;
}

/** What a site did for one task. */
export interface SiteTaskSummary {
  task: string;
  /** Rounds whose update this run delivered to the aggregator. */
  roundsJoined: number;
  /** Whether every planned round was over when the service stopped. */
  finished: boolean;
  /** The task's latest model when it finished, and its scores on the validation split. */
  finalModel?: string;
  finalMetrics?: Record<string, unknown>;
}

/** How {@link runSite} ended. */
export interface SiteRunResult {
  /** "done": every task finished; "signal": the signal aborted. */
  reason: "done" | "signal";
  site: string;
  tasks: SiteTaskSummary[];
}

/** Per-task progress kept in memory (the state files keep what must survive a restart). */
interface TaskProgress {
  summary: SiteTaskSummary;
  /** The task's current round at the last look (the round the next look expects). */
  current: number;
  /** The last round seen open, and what became of it. */
  round: number;
  outcome?: RoundOutcome;
  /** The last closed round reported. */
  reportedClosed: number;
  lastStatus?: string;
  waitingReported: boolean;
  /** What the current step is doing, to give a failure its context. */
  doing: string;
}

function describe(err: unknown): string {
  if (err instanceof FedledgerError) return err.toLine();
  return describeChainError(err);
}

async function evaluateFinal(rt: SiteRuntime, task: SiteTask, model: string, progress: TaskProgress) {
  const taskLabel = task.id.toString();
  let bytes: Buffer;
  try {
    bytes = await fetchModel(task.aggregator, model, { retries: 2, maxResponseBytes: rt.maxDownloadBytes });
    const got = hashModelBytes(bytes);
    if (got !== model.toLowerCase()) throw new Error(`the bytes hash to ${got}`);
  } catch (err) {
    rt.emit(siteEvent("final_model_unavailable", { task: taskLabel, model, reason: describe(err) }));
    return;
  }
  const scores = await validationScores(bytes, task.spec, rt.validation);
  const metrics = reportMetrics(scores, Number.NaN);
  await rt.state.writeFinal({ task: taskLabel, model, metrics, evaluatedAt: new Date().toISOString() });
  progress.summary.finalModel = model;
  progress.summary.finalMetrics = metrics;
  rt.emit(
    siteEvent("final_model_evaluated", {
      task: taskLabel,
      model,
      numValidation: scores.numValidation,
      microF1: scores.microF1,
      macroF1: scores.macroF1,
    }),
  );
}

/** One look at one task; see the module comment. */
async function stepTask(rt: SiteRuntime, task: SiteTask, progress: TaskProgress): Promise<void> {
  const taskLabel = task.id.toString();
  progress.doing = "reading the task from the chain";
  const snap = await rt.ledger.snapshot(task.id, rt.site, progress.current);
  progress.current = snap.task.currentRound;
  if (snap.siteStatus !== "Active") {
    if (progress.lastStatus !== snap.siteStatus)
      rt.emit(siteEvent("site_not_active", { task: taskLabel, status: snap.siteStatus }));
    progress.lastStatus = snap.siteStatus;
    return;
  }
  progress.lastStatus = snap.siteStatus;
  const round = snap.round;
  // A round that closed and was followed by the next one between two looks is still reported closed.
  const previous = snap.previous;
  if (
    previous &&
    previous.status !== "Open" &&
    previous.round === progress.round &&
    progress.reportedClosed !== previous.round
  )
    reportClosed(rt, task, progress, previous);
  if (round?.status === "Open") {
    if (progress.round !== round.round) {
      progress.round = round.round;
      progress.outcome = undefined;
      rt.emit(
        siteEvent("round_seen", {
          task: taskLabel,
          round: round.round,
          baseModelHash: round.baseModelHash.toLowerCase(),
          deadline: round.deadline,
          resumed: (await rt.state.read(task.id, round.round)) !== undefined,
        }),
      );
    }
    if (progress.outcome === undefined) {
      progress.doing = `taking part in round ${round.round}`;
      progress.outcome = await takePart(rt, task, round, snap.chainTime);
      if (progress.outcome === "uploaded") progress.summary.roundsJoined += 1;
    } else if (progress.outcome === "uploaded" && snap.siteCommitted === false) {
      // The chain no longer has this site's commit (its node restarted from a state saved a moment before):
      // take part again, which commits the saved update once more and makes sure the aggregator holds it.
      rt.emit(siteEvent("commit_lost", { task: taskLabel, round: round.round }));
      progress.outcome = undefined;
      progress.doing = `committing again in round ${round.round}`;
      progress.outcome = await takePart(rt, task, round, snap.chainTime);
    } else if (progress.outcome === "uploaded") {
      progress.doing = `checking that the aggregator holds the update of round ${round.round}`;
      const record = await rt.state.read(task.id, round.round);
      const bytes = record && (await rt.state.readUpdate(record));
      if (record && bytes) progress.outcome = await deliverUpdate(rt, task, record, bytes);
      if (task.spec.secureAggregation) {
        progress.doing = `answering the unmasking request of round ${round.round}`;
        await answerUnmaskingOnce(rt, task, round, snap.chainTime);
      }
    }
    return;
  }
  if (!round || snap.task.currentRound < snap.task.roundsPlanned) {
    if (round && progress.reportedClosed !== round.round) reportClosed(rt, task, progress, round);
    else if (!round && !progress.waitingReported)
      rt.emit(
        siteEvent("waiting_for_round", {
          task: taskLabel,
          currentRound: snap.task.currentRound,
          roundsPlanned: snap.task.roundsPlanned,
        }),
      );
    progress.waitingReported = true;
    return;
  }
  if (progress.reportedClosed !== round.round) reportClosed(rt, task, progress, round);
  progress.doing = "evaluating the final model";
  await evaluateFinal(rt, task, snap.task.latestModelHash.toLowerCase(), progress);
  progress.summary.finished = true;
  rt.emit(
    siteEvent("task_done", {
      task: taskLabel,
      roundsPlanned: snap.task.roundsPlanned,
      roundsJoined: progress.summary.roundsJoined,
    }),
  );
}

function reportClosed(rt: SiteRuntime, task: SiteTask, progress: TaskProgress, round: RoundInfo): void {
  progress.reportedClosed = round.round;
  forgetSecureRound(rt, task, round);
  rt.emit(
    siteEvent("round_closed", {
      task: task.id.toString(),
      round: round.round,
      status: round.status,
      modelHash: round.status === "Finalized" ? round.modelHash.toLowerCase() : null,
      includedCount: round.includedCount,
      commitCount: round.commitCount,
      participated: progress.round === round.round && progress.outcome === "uploaded",
    }),
  );
}

/**
 * How long a site whose tasks all look finished waits before it looks at the chain once more and stops. A
 * chain node restarted from a state saved a moment earlier can lack the last round's commits and
 * finalisation; a site that stopped at once could not commit again, and its update would be lost.
 */
export const FINISH_SETTLE_MS = 3_000;

/**
 * After every task looked finished: waits {@link FINISH_SETTLE_MS}, then reads each task again. Resolves true
 * when all are still finished; otherwise marks the ones that are not as unfinished (event `task_resumed`) and
 * resolves false, so the service takes part again.
 */
async function stillFinished(
  rt: SiteRuntime,
  progress: Map<SiteTask, TaskProgress>,
  signal: AbortSignal,
): Promise<boolean> {
  await sleep(FINISH_SETTLE_MS, signal);
  if (signal.aborted) return false;
  let finished = true;
  for (const [task, p] of progress) {
    const snap = await rt.ledger.snapshot(task.id, rt.site, 0);
    if (snap.round?.status !== "Open" && snap.task.currentRound >= snap.task.roundsPlanned) continue;
    finished = false;
    p.summary.finished = false;
    p.reportedClosed = 0;
    rt.emit(siteEvent("task_resumed", { task: task.id.toString(), currentRound: snap.task.currentRound }));
  }
  return finished;
}

/**
 * Runs the site service from a validated config until every task is finished (or forever with keepRunning) or
 * until `signal` aborts. Start-up problems (a wrong field, a missing file, the site not Active, a spec hash that
 * differs from the task's) reject at once with a one-line FedledgerError; after that the service only reports
 * problems as events and retries.
 *
 * @example
 * const controller = new AbortController();
 * const result = await runSite(await loadSiteConfig("site.json"), {
 *   signal: controller.signal,
 *   onEvent: (e) => console.log(e.type),
 * });
 */
export async function runSite(config: SiteConfig, options: RunSiteOptions = {}): Promise<SiteRunResult> {
  const signal = options.signal ?? new AbortController().signal;
  const emit = (event: SiteEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A faulty listener must not stop the service.
    }
  };
  const rt = await startSite(config, { emit, signal, openLedger: options.openLedger });
  const progress = new Map<SiteTask, TaskProgress>(
    rt.tasks.map((task) => [
      task,
      {
        summary: { task: task.id.toString(), roundsJoined: 0, finished: false },
        current: 0,
        round: 0,
        reportedClosed: 0,
        waitingReported: false,
        doing: "starting",
      },
    ]),
  );
  let reason: SiteRunResult["reason"] = "signal";
  try {
    emit(
      siteEvent("site_started", {
        site: rt.site,
        chainId: rt.chainId,
        ledger: rt.ledgerAddress,
        tasks: rt.tasks.map((t) => t.id.toString()),
        trainingNotes: rt.train.length,
        validationNotes: rt.validation.length,
        skippedNotes: rt.skippedNotes,
        backend: rt.backend,
      }),
    );
    let failures = 0;
    while (!signal.aborted) {
      let failure: { task: string; doing: string; err: unknown } | undefined;
      for (const task of rt.tasks) {
        const p = progress.get(task) as TaskProgress;
        if (p.summary.finished || signal.aborted) continue;
        try {
          await stepTask(rt, task, p);
        } catch (err) {
          if (err instanceof StopRequestedError || signal.aborted) break;
          failure ??= { task: task.id.toString(), doing: p.doing, err };
        }
      }
      if (signal.aborted) break;
      let delay = config.pollIntervalMs;
      if (failure) {
        failures += 1;
        delay = backoffDelay(failures, config.pollIntervalMs, config.maxRetryDelayMs);
        emit(
          siteEvent("retrying", {
            task: failure.task,
            attempt: failures,
            delayMs: delay,
            transient: isTransientError(failure.err),
            error: `${failure.doing}: ${describe(failure.err)}`,
          }),
        );
      } else failures = 0;
      if (!failure && [...progress.values()].every((p) => p.summary.finished) && !config.keepRunning) {
        let settled = false;
        try {
          settled = await stillFinished(rt, progress, signal);
        } catch {
          // The chain did not answer the second look: keep going, the next steps retry with backoff.
        }
        if (settled || signal.aborted) {
          reason = settled ? "done" : reason;
          break;
        }
      }
      await sleep(delay, signal);
    }
  } finally {
    rt.ledger.close();
  }
  emit(siteEvent("site_stopped", { reason }));
  return { reason, site: rt.site, tasks: [...progress.values()].map((p) => p.summary) };
}
