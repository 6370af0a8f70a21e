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
 */
import { describeChainError } from "../chain/describeChainError";
import type { RoundInfo } from "../chain/tasks";
import { FedledgerError } from "../errors";
import { canonicalJson } from "../fl/metrics";
import { buildUpdateTree, commitLeaf } from "../fl/merkle";
import { getAggregationRule } from "../fl/rules";
import type { ContentStore, UploadRecord } from "../store";
import type { AggregatorLedger } from "./ledgerPort";
import type { ChainSnapshot } from "./ledgerView";
import type { Logger } from "./log";
import type { AggregatorMetrics } from "./metrics";
import type { RoundGates } from "./roundGates";

/** What the driver needs. */
export interface RoundDriverDependencies {
  taskId: bigint;
  /** The ledger (on a chain, or off-chain for benchmarks), see ledgerPort.ts. */
  view: AggregatorLedger;
  store: ContentStore;
  gates: RoundGates;
  metrics: AggregatorMetrics;
  log: Logger;
  /** Time between steps, in milliseconds. */
  pollIntervalMs: number;
  /** After the deadline, how long to wait for uploads of sites that committed but have not uploaded yet. */
  uploadGraceSeconds: number;
}

/** Where the driver is. */
export type DriverState = "starting" | "running" | "done" | "stopped";

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

/** Drives one task's rounds; see the module comment. */
export class RoundDriver {
  private state: DriverState = "starting";
  private stopRequested = false;
  private wake: (() => void) | undefined;
  private lastError: string | undefined;

  constructor(private readonly deps: RoundDriverDependencies) {}

  /** Current state, and the last step error if the last step failed. */
  status(): { state: DriverState; lastError?: string } {
    return { state: this.state, lastError: this.lastError };
  }

  /** Asks the loop to stop after the current step. */
  stop(): void {
    this.stopRequested = true;
    this.wake?.();
  }

  /** Runs steps until every planned round is closed or {@link stop} is called. */
  async run(): Promise<void> {
    this.state = "running";
    while (!this.stopRequested) {
      let finished = false;
      try {
        finished = await this.step();
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err instanceof FedledgerError ? err.toLine() : describeChainError(err);
        this.deps.log("error", "driver_step_failed", { task: this.deps.taskId, error: this.lastError });
      }
      if (finished) {
        this.state = "done";
        this.deps.log("info", "task_done", { task: this.deps.taskId });
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.deps.pollIntervalMs);
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
    const snap = await this.deps.view.snapshot(this.deps.taskId);
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
      this.deps.view.openRound(this.deps.taskId, base),
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
    const everyoneIn = round.commitCount >= snap.activeSites && uploads.length >= round.commitCount;
    if (!everyoneIn) {
      if (!deadlinePassed) return;
      const missing = uploads.length < round.commitCount;
      if (missing && now < round.deadline + this.deps.uploadGraceSeconds) return;
    }
    // Too few to finalise and too early to abort: wait without sealing (uploads stay open).
    if (!deadlinePassed && uploads.length < round.minSitesPerRound) return;
    await this.closeRound(round, deadlinePassed, snap.task.aggregationRule);
  }

  /**
   * Uploads that can go into the aggregate: the site is still Active, its on-chain commit still equals the
   * stored record (a record altered on disk is left out), and the bytes in the store are intact.
   */
  private async usableUploads(round: number): Promise<UploadRecord[]> {
    const { taskId, view, log, store } = this.deps;
    const uploads = await store.listRound(taskId, round);
    const sites = uploads.map((u) => u.site);
    const [statuses, leaves] = await Promise.all([
      view.siteStatuses(sites),
      view.commitLeaves(taskId, round, sites),
    ]);
    const usable: UploadRecord[] = [];
    for (let i = 0; i < uploads.length; i++) {
      const u = uploads[i];
      let reason: string | undefined;
      if (statuses[i] !== "Active") reason = `the site is ${statuses[i]}`;
      else if (leaves[i] !== commitLeaf(u.site, u.updateHash, BigInt(u.numSamples)))
        reason = "the stored record differs from the site's commit";
      else {
        try {
          if (!(await store.get(u.updateHash))) reason = "the update is missing from the store";
        } catch (err) {
          reason = err instanceof Error ? err.message : String(err);
        }
      }
      if (reason) {
        log(statuses[i] === "Active" ? "error" : "warn", "update_excluded", {
          task: taskId,
          round,
          site: u.site,
          reason,
        });
        continue;
      }
      usable.push(u);
    }
    return usable;
  }

  private async closeRound(round: RoundInfo, deadlinePassed: boolean, ruleId: number): Promise<void> {
    await this.deps.gates.seal(round.round);
    let closed = false;
    try {
      closed = await this.aggregateAndRecord(round, deadlinePassed, ruleId);
    } finally {
      if (!closed) this.deps.gates.unseal(round.round);
    }
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
    const { taskId, store, log, view } = this.deps;
    const included = await this.usableUploads(round.round);
    if (included.length < round.minSitesPerRound) {
      if (!deadlinePassed) return false;
      const reason = round.commitCount < round.minSitesPerRound ? 1 : 2;
      return this.abort(round, reason, included.length);
    }

    const parent = await store.get(round.baseModelHash);
    if (!parent)
      throw new FedledgerError(
        `the base model ${round.baseModelHash} of round ${round.round} is not in the store`,
      );
    const rule = getAggregationRule(ruleId);

    const started = process.hrtime.bigint();
    const model = await rule.aggregate(
      parent,
      included.map((u) => ({
        site: u.site,
        numSamples: BigInt(u.numSamples),
        bytes: async () => {
          const bytes = await store.get(u.updateHash);
          if (!bytes) throw new FedledgerError(`update ${u.updateHash} of ${u.site} vanished from the store`);
          return bytes;
        },
      })),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.deps.metrics.aggregationSeconds.observe(seconds);
    const modelHash = await store.put(model);
    const tree = buildUpdateTree(
      included.map((u) => ({ site: u.site, updateHash: u.updateHash, numSamples: BigInt(u.numSamples) })),
    );
    const metricsHash = await store.put(
      Buffer.from(roundMetricsDocument(taskId, round, modelHash, tree.root, included), "utf8"),
    );
    log("info", "round_aggregated", {
      task: taskId,
      round: round.round,
      modelHash,
      updatesRoot: tree.root,
      included: included.length,
      seconds: Number(seconds.toFixed(3)),
    });

    // Check the chain right before sending: a previous process may have finished this round already.
    const [fresh, alreadyRecorded] = await Promise.all([
      view.round(taskId, round.round),
      view.isRecorded(modelHash),
    ]);
    if (fresh.status !== "Open") {
      log("info", "round_already_closed", { task: taskId, round: round.round, status: fresh.status });
      return true;
    }
    if (alreadyRecorded) {
      log("warn", "model_already_recorded", { task: taskId, round: round.round, modelHash });
      return deadlinePassed ? this.abort(round, 2, included.length) : false;
    }
    const ledgerSeconds = await this.send("finalize_round", () =>
      view.finalizeRound(taskId, round.round, modelHash, tree.root, included.length, metricsHash),
    );
    this.deps.metrics.roundsFinalized.inc();
    log("info", "round_finalized", {
      task: taskId,
      round: round.round,
      modelHash,
      parentModelHash: round.baseModelHash,
      updatesRoot: tree.root,
      included: included.length,
      metricsHash,
      ledgerSeconds,
    });
    return true;
  }

  private async abort(round: RoundInfo, reason: 1 | 2, usable: number): Promise<boolean> {
    const { taskId, view, log } = this.deps;
    const fresh = await view.round(taskId, round.round);
    if (fresh.status !== "Open") return true;
    const ledgerSeconds = await this.send("abort_round", () => view.abortRound(taskId, round.round, reason));
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
