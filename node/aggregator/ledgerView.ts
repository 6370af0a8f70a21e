/**
 * What the aggregator reads from the chain, in few round trips: calls issued together go out as one JSON-RPC
 * batch (ethers batches requests made in the same tick).
 */
import type { Provider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { getRoundInfo, getTaskInfo, type RoundInfo, type TaskInfo } from "../chain/tasks";
import { siteStatusName } from "../chain/vocabulary";

/** One UpdateCommitted event. */
export interface CommitEvent {
  site: string;
  updateHash: string;
  numSamples: bigint;
  metricsHash: string;
  blockNumber: number;
}

/** The state the round driver decides on. */
export interface ChainSnapshot {
  task: TaskInfo;
  /** The task's current round (undefined before round 1 is opened). */
  round?: RoundInfo;
  activeSites: number;
  /** Unix time of the latest block. */
  chainTime: number;
}

/** What an upload needs to be checked against. */
export interface UploadContext {
  siteStatus: string;
  round: RoundInfo;
  /** The leaf the site committed (zero hash when none). */
  leaf: string;
  /** The site's UpdateCommitted event for the round, when there is one. */
  commit?: CommitEvent;
}

/** Read access to the ledger and registry for one task. */
export class LedgerView {
  constructor(
    readonly ledger: TrainingLedger,
    readonly registry: ConsortiumRegistry,
    readonly provider: Provider,
  ) {}

  /** The task, or undefined when the ledger has no task with this id. */
  async task(taskId: bigint): Promise<TaskInfo | undefined> {
    const count = await this.ledger.taskCount();
    if (taskId < 1n || taskId > count) return undefined;
    return getTaskInfo(this.ledger, taskId);
  }

  /** One round (status None when not opened). */
  round(taskId: bigint, round: number): Promise<RoundInfo> {
    return getRoundInfo(this.ledger, taskId, round);
  }

  /** Task, current round, active site count and chain time, in one batch (plus one call for the round). */
  async snapshot(taskId: bigint): Promise<ChainSnapshot> {
    const [task, activeSites, block] = await Promise.all([
      getTaskInfo(this.ledger, taskId),
      this.registry.activeSiteCount(),
      this.provider.getBlock("latest"),
    ]);
    const round =
      task.currentRound > 0 ? await getRoundInfo(this.ledger, taskId, task.currentRound) : undefined;
    return { task, round, activeSites: Number(activeSites), chainTime: block?.timestamp ?? 0 };
  }

  /** The UpdateCommitted events of a round (optionally of one site), searched from the round's opening block. */
  async commits(taskId: bigint, round: number, fromBlock: number, site?: string): Promise<CommitEvent[]> {
    const filter = this.ledger.filters.UpdateCommitted(taskId, round, site);
    const events = await this.ledger.queryFilter(filter, fromBlock);
    return events.map((e) => ({
      site: e.args.site,
      updateHash: e.args.updateHash,
      numSamples: e.args.numSamples,
      metricsHash: e.args.metricsHash,
      blockNumber: e.blockNumber,
    }));
  }

  /** Site status, round, committed leaf and commit event of one site, in one batch plus one log query. */
  async uploadContext(taskId: bigint, round: number, site: string): Promise<UploadContext> {
    const [status, info, leaf] = await Promise.all([
      this.registry.siteStatus(site),
      getRoundInfo(this.ledger, taskId, round),
      this.ledger.commitLeaf(taskId, round, site),
    ]);
    const commit =
      info.status === "None" ? undefined : (await this.commits(taskId, round, info.openedAtBlock, site))[0];
    return { siteStatus: siteStatusName(status), round: info, leaf, commit };
  }

  /** Status names of several sites, in one batch. */
  async siteStatuses(sites: readonly string[]): Promise<string[]> {
    const values = await Promise.all(sites.map((s) => this.registry.siteStatus(s)));
    return values.map(siteStatusName);
  }
}
