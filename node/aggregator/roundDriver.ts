/**
 * The round driver: moves the task's rounds forward on the chain. Each step reads the chain (one batch), then
 * does at most one thing:
 *
 *   no round yet, or the current round closed   → open the next round from the task's latest model
 *   round open, every active site committed and uploaded, or the deadline (+ grace for missing uploads) passed
 *                                               → seal, aggregate the accepted updates, store the model,
 *                                                 finalise (or abort when too few remain)
 *   all planned rounds closed                   → stop (the HTTP API keeps serving)
 *
 * All state comes from the chain and the store, so a process killed at any point resumes where it stopped:
 * an open round is aggregated again from the same stored uploads (same bytes), and the round's status is read
 * again right before finalising, so a round is never finalised twice.
 *
 * Faults never loop forever: a failed step is retried with exponential backoff (logged once per distinct
 * failure), and an update the rule cannot use (beyond the task's limits, refused by the rule, or making the
 * aggregate non-finite) is left out with a logged reason; the round then goes on without it or is aborted.
 */
import { ABORT_REASON_IDS, type AbortReasonId, describeChainError, type RoundInfo } from "../chain";
import { FedledgerError } from "../errors";
import { commitLeaf, AggregationError, getAggregationRule, checkFinite } from "../fl";
import { readModelHeader } from "../model/format";
import type { ContentStore, UploadRecord } from "../store";
import type { AggregatorLedger, ChainSnapshot } from "./ledgerPort";
import type { Logger } from "./log";
import type { AggregatorMetrics } from "./metrics";
import type { RoundGates } from "./roundGates";
import { finiteProblem, recordRound, roundMetricsDocument } from "./roundMetrics";
import { closeSecureRound, type SecureRoundSettings } from "./secureRound";

export { roundMetricsDocument };
import {
  sampleCountProblem,
  updateLimitsFor,
  updateNorm,
  updateNormProblem,
  type UpdateLimits,
} from "./updateLimits";

/** What the driver needs. */
export interface RoundDriverDependencies {
  taskId: bigint;
  /** The ledger port (ledgerPort.ts). */
  ledger: AggregatorLedger;
  store: ContentStore;
  gates: RoundGates;
  metrics: AggregatorMetrics;
  log: Logger;
  /** Time between steps, in milliseconds. */
  pollIntervalMs: number;
  /** After the deadline, how long to wait for uploads of sites that committed but have not uploaded yet. */
  uploadGraceSeconds: number;
  /** Sample-count and norm limits, shared with the upload path (default: updateLimitsFor's defaults). */
  limits?: UpdateLimits;
  /** Longest wait between steps after repeated failures (default 60,000 ms); the wait doubles per failure. */
  maxRetryDelayMs?: number;
  /** Present when the task's rounds are securely aggregated (secureRound.ts closes them). */
  secure?: SecureRoundSettings;
}

/** A stored upload that passed the per-update checks, with its L2 norm. */
interface UsableUpload {
  record: UploadRecord;
  norm: number;
}

/**
 * The wait before the next step after `failures` failed steps in a row: the poll interval doubled per failure,
 * at most `maxMs` (and never below the poll interval).
 */
export function driverRetryDelay(failures: number, pollMs: number, maxMs: number): number {
  if (failures <= 0) return pollMs;
  return Math.max(pollMs, Math.min(maxMs, pollMs * 2 ** Math.min(failures, 30)));
}

/** A step failure as shown in logs and /health: no stack, no absolute path of a local file. */
function describeStepError(err: unknown): string {
  if (err instanceof FedledgerError) return err.toLine();
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === "string" && typeof e.syscall === "string")
    return `${e.syscall} failed with ${e.code} (the aggregator's log has the file)`;
  return describeChainError(err);
}

/** How often a driver whose task is done looks at the chain again, in milliseconds. */
export const DONE_WATCH_MS = 2_000;

/** Where the driver is. */
export type DriverState = "starting" | "running" | "done" | "stopped";

/** Drives one task's rounds; see the module comment. */
export class RoundDriver {
  private state: DriverState = "starting";
  private stopRequested = false;
  private wake: (() => void) | undefined;
  private lastError: string | undefined;
  private failures = 0;
  /** Exclusions already logged (round, site, reason), so a round retried at every poll logs each once. */
  private readonly loggedExclusions = new Set<string>();
  private readonly limits: UpdateLimits;

  constructor(private readonly deps: RoundDriverDependencies) {
    this.limits = deps.limits ?? updateLimitsFor(deps.taskId);
  }

  /** Current state, and the last step error if the last step failed. */
  status(): { state: DriverState; lastError?: string } {
    return { state: this.state, lastError: this.lastError };
  }

  /**
   * Runs the next step now instead of after the poll interval (when a round may be ready to close). A nudge
   * that arrives while a step runs is kept: the wait after that step is skipped, so no nudge is lost.
   */
  nudge(): void {
    if (this.wake) this.wake();
    else this.nudged = true;
  }

  private nudged = false;

  /** Asks the loop to stop after the current step. */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /**
   * Runs steps until every planned round is closed or {@link stop} is called; resolves at the first of the two.
   * Once the task is done the driver keeps watching the chain (every {@link DONE_WATCH_MS}) until stopped: a
   * chain node restarted from a state saved a moment earlier may lack the last finalisation or commits, and
   * then the driver takes the round up again (event `task_resumed`) and finalises it once more from the same
   * stored uploads.
   */
  run(): Promise<void> {
    this.loop ??= this.runLoop();
    return new Promise<void>((resolve) => {
      this.onDone = resolve;
      void this.loop?.then(() => resolve());
    });
  }

  /** Resolves once the loop has ended after {@link stop}. */
  async stopped(): Promise<void> {
    await this.loop;
  }

  private loop: Promise<void> | undefined;
  private onDone: (() => void) | undefined;

  private async runLoop(): Promise<void> {
    this.state = "running";
    const maxDelay = this.deps.maxRetryDelayMs ?? 60_000;
    while (!this.stopRequested) {
      let finished = false;
      try {
        finished = await this.step();
        if (this.failures > 0)
          this.deps.log("info", "driver_recovered", { task: this.deps.taskId, failures: this.failures });
        this.failures = 0;
        this.lastError = undefined;
      } catch (err) {
        const error = describeStepError(err);
        this.failures++;
        this.deps.metrics.driverStepFailures.inc();
        // One line per distinct failure: the same error at every retry is counted, not logged again.
        if (error !== this.lastError)
          this.deps.log("error", "driver_step_failed", {
            task: this.deps.taskId,
            error,
            failures: this.failures,
            retryInMs: driverRetryDelay(this.failures, this.deps.pollIntervalMs, maxDelay),
          });
        this.lastError = error;
      }
      if (finished && this.state !== "done") {
        this.state = "done";
        this.deps.log("info", "task_done", { task: this.deps.taskId });
        this.onDone?.();
      } else if (!finished && this.failures === 0 && this.state === "done") {
        this.state = "running";
        this.deps.log("warn", "task_resumed", {
          task: this.deps.taskId,
          reason:
            "the chain no longer shows every round closed (was its node restarted from an older saved state?); the round is driven again",
        });
      }
      const delay =
        this.state === "done" && this.failures === 0
          ? Math.max(DONE_WATCH_MS, this.deps.pollIntervalMs)
          : driverRetryDelay(this.failures, this.deps.pollIntervalMs, maxDelay);
      if (this.nudged && this.failures === 0) {
        this.nudged = false;
        continue;
      }
      this.nudged = false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    this.state = "stopped";
  }

  /** One step; resolves true when the task has no round left to drive. */
  async step(): Promise<boolean> {
    const snap = await this.deps.ledger.snapshot(this.deps.taskId);
    const { task, round } = snap;
    if (round && round.status === "Open") {
      await this.driveOpenRound(snap, round);
      return false;
    }
    if (task.currentRound >= task.roundsPlanned) return true;
    await this.openRound(task.currentRound + 1, task.latestModelHash);
    return false;
  }

  /** Runs a ledger write and returns how long it took (send to receipt on a chain), in seconds. */
  private async send(action: string, write: () => Promise<void>): Promise<number> {
    const started = process.hrtime.bigint();
    await write();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics.chainWaitSeconds.observe({ action }, seconds);
    return Number(seconds.toFixed(4));
  }

  private async openRound(round: number, base: string): Promise<void> {
    if (!(await this.deps.store.has(base)))
      throw new FedledgerError(`the base model ${base} of round ${round} is not in the store`, {
        hint: "Copy the model file into the store (objects/<hash>) or use the store of the aggregator that made it",
      });
    const ledgerSeconds = await this.send("open_round", () =>
      this.deps.ledger.openRound(this.deps.taskId, base),
    );
    this.deps.log("info", "round_opened", {
      task: this.deps.taskId,
      round,
      baseModelHash: base,
      ledgerSeconds,
    });
  }

  private async driveOpenRound(snap: ChainSnapshot, round: RoundInfo): Promise<void> {
    const now = Math.max(snap.chainTime, Math.floor(Date.now() / 1000));
    const uploads = await this.deps.store.listRound(this.deps.taskId, round.round);
    const deadlinePassed = now >= round.deadline;
    // Early close as the ledger allows it: every Active site committed and no site left since the round opened
    // (a commit of a site suspended mid-round does not count); then wait for the deadline instead.
    const everyoneIn = snap.earlyCloseAllowed && uploads.length >= round.commitCount;
    if (!everyoneIn) {
      if (!deadlinePassed) return;
      const missing = uploads.length < round.commitCount;
      if (missing && now < round.deadline + this.deps.uploadGraceSeconds) return;
    }
    // Too few to finalise and too early to abort: wait without sealing (uploads stay open).
    if (!deadlinePassed && uploads.length < round.minSitesPerRound) return;
    await this.closeRound(round, deadlinePassed, snap.task.aggregationRule);
  }

  /** Logs an update left out of a round, once per (round, site, reason). */
  private exclude(round: number, site: string, reason: string, level: "warn" | "error" = "warn"): void {
    const key = `${round} ${site.toLowerCase()} ${reason}`;
    if (this.loggedExclusions.has(key)) return;
    this.loggedExclusions.add(key);
    this.deps.log(level, "update_excluded", { task: this.deps.taskId, round, site, reason });
  }

  /**
   * Uploads that can go into the aggregate: the site is still Active, its on-chain commit still equals the
   * stored record (a record altered on disk is left out), the bytes in the store are intact FLM1 with finite
   * values, and the sample count and norm are within the task's limits (the same functions as at upload).
   */
  private async usableUploads(round: number): Promise<UsableUpload[]> {
    const { taskId, ledger, store } = this.deps;
    const uploads = await store.listRound(taskId, round);
    const sites = uploads.map((u) => u.site);
    const [statuses, leaves] = await Promise.all([
      ledger.siteStatuses(sites),
      ledger.commitLeaves(taskId, round, sites),
    ]);
    const usable: UsableUpload[] = [];
    for (let i = 0; i < uploads.length; i++) {
      const u = uploads[i];
      let reason: string | undefined;
      let norm = 0;
      if (statuses[i] !== "Active") reason = `the site is ${statuses[i]}`;
      else if (leaves[i] !== commitLeaf(u.site, u.updateHash, BigInt(u.numSamples)))
        reason = "the stored record differs from the site's commit";
      else reason = sampleCountProblem(BigInt(u.numSamples), this.limits)?.message;
      if (!reason) {
        try {
          const bytes = await store.get(u.updateHash);
          if (!bytes) reason = "the update is missing from the store";
          else {
            const entries = readModelHeader(bytes);
            checkFinite(bytes, entries);
            norm = updateNorm(bytes, entries);
            reason = updateNormProblem(norm, this.limits)?.message;
          }
        } catch (err) {
          reason = err instanceof Error ? err.message : String(err);
        }
      }
      if (reason) {
        this.exclude(round, u.site, reason, statuses[i] === "Active" ? "error" : "warn");
        continue;
      }
      usable.push({ record: u, norm });
    }
    return usable;
  }

  /**
   * Runs the rule over `candidates`, leaving out an update the rule cannot use until the aggregate is finite:
   * the update the rule names, or (when it names none, e.g. an overflow) the one with the largest norm (ties:
   * the larger site address). Deterministic, so a restarted process leaves out the same ones. Resolves the
   * model and the updates in it; `model` is undefined when every update was left out.
   */
  private async aggregateUsable(
    round: RoundInfo,
    parent: Uint8Array,
    ruleId: number,
    candidates: UsableUpload[],
  ): Promise<{ model: Uint8Array | undefined; included: UsableUpload[] }> {
    const { store } = this.deps;
    const rule = getAggregationRule(ruleId);
    let included = candidates;
    while (included.length > 0) {
      let problem: string;
      let culprit: string | undefined;
      try {
        const model = await rule.aggregate(
          parent,
          included.map(({ record: u }) => ({
            site: u.site,
            numSamples: BigInt(u.numSamples),
            bytes: async () => {
              const bytes = await store.get(u.updateHash);
              if (!bytes)
                throw new FedledgerError(`update ${u.updateHash} of ${u.site} vanished from the store`);
              return bytes;
            },
          })),
        );
        // Checked here whatever the rule promises: a non-finite model is never recorded.
        const finite = finiteProblem(model);
        if (!finite) return { model, included };
        problem = `the aggregate is not finite (${finite})`;
      } catch (err) {
        if (!(err instanceof AggregationError)) throw err;
        problem = err.message;
        culprit = err.site;
      }
      const drop =
        included.find(
          (u) => culprit !== undefined && u.record.site.toLowerCase() === culprit.toLowerCase(),
        ) ??
        included.reduce((a, b) =>
          b.norm > a.norm || (b.norm === a.norm && b.record.site.toLowerCase() > a.record.site.toLowerCase())
            ? b
            : a,
        );
      this.exclude(
        round.round,
        drop.record.site,
        culprit ? `the rule cannot use it: ${problem}` : `left out so the aggregate is finite: ${problem}`,
        "error",
      );
      included = included.filter((u) => u !== drop);
    }
    return { model: undefined, included };
  }

  private async closeRound(round: RoundInfo, deadlinePassed: boolean, ruleId: number): Promise<void> {
    await this.deps.gates.seal(round.round);
    let closed = false;
    try {
      closed = this.deps.secure
        ? await closeSecureRound(
            {
              ...this.deps,
              secure: this.deps.secure,
              send: (action, write) => this.send(action, write),
              abort: (r, reason, usable) => this.abort(r, reason, usable),
              exclude: (r, site, reason) => this.exclude(r, site, reason, "error"),
            },
            round,
            deadlinePassed,
            ruleId,
          )
        : await this.aggregateAndRecord(round, deadlinePassed, ruleId);
    } finally {
      if (!closed) this.deps.gates.unseal(round.round);
    }
    // The next round can be opened at once: the step after this one runs without waiting for the poll.
    if (closed) this.nudged = true;
  }

  /**
   * Returns true when the round was finalised or aborted on the chain (by this call or earlier). `ruleId` is
   * the task's aggregation rule, from the step's snapshot (a task's rule never changes).
   */
  private async aggregateAndRecord(
    round: RoundInfo,
    deadlinePassed: boolean,
    ruleId: number,
  ): Promise<boolean> {
    const { store } = this.deps;
    const usable = await this.usableUploads(round.round);
    if (usable.length < round.minSitesPerRound) {
      if (!deadlinePassed) return false;
      const reason =
        round.commitCount < round.minSitesPerRound
          ? ABORT_REASON_IDS.tooFewCommits
          : ABORT_REASON_IDS.tooFewValidUpdates;
      return this.abort(round, reason, usable.length);
    }

    const parent = await store.get(round.baseModelHash);
    if (!parent)
      throw new FedledgerError(
        `the base model ${round.baseModelHash} of round ${round.round} is not in the store`,
      );

    const started = process.hrtime.bigint();
    const aggregated = await this.aggregateUsable(round, parent, ruleId, usable);
    const included = aggregated.included.map((u) => u.record);
    if (!aggregated.model || included.length < round.minSitesPerRound) {
      // What is left after leaving out the unusable updates cannot be finalised; abort once the deadline has
      // passed (an update may still arrive before it).
      if (!deadlinePassed) return false;
      return this.abort(round, 2, included.length);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Checked on the chain right before sending: a previous process may have finished this round already.
    return recordRound(
      { ...this.deps, send: (action, write) => this.send(action, write) },
      round,
      aggregated.model,
      included,
      seconds,
    );
  }

  private async abort(round: RoundInfo, reason: AbortReasonId, usable: number): Promise<boolean> {
    const { taskId, ledger, log } = this.deps;
    const fresh = await ledger.round(taskId, round.round);
    if (fresh.status !== "Open") return true;
    const ledgerSeconds = await this.send("abort_round", () =>
      ledger.abortRound(taskId, round.round, reason),
    );
    this.deps.metrics.roundsAborted.inc({ reason: String(reason) });
    log("warn", "round_aborted", {
      task: taskId,
      round: round.round,
      reason,
      commits: fresh.commitCount,
      usable,
      minSites: round.minSitesPerRound,
      ledgerSeconds,
    });
    return true;
  }
}
