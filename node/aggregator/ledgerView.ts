/**
 * The aggregator's ledger on a chain (the on-chain implementation of the ledger port, ledgerPort.ts): reads in
 * few round trips (calls issued together go out as one JSON-RPC batch; ethers batches requests made in the same
 * tick), and the aggregator's transactions, each waited for until mined.
 */
import type { ContractTransactionResponse, Provider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { describeChainError } from "../chain/describeChainError";
import { getRoundInfo, getTaskInfo, type RoundInfo, type TaskInfo } from "../chain/tasks";
import { ROLES, siteStatusName } from "../chain/vocabulary";
import { FedledgerError } from "../errors";
import type { AggregatorLedger } from "./ledgerPort";

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

/** The ledger and registry contracts, read and written for one aggregator. */
export class LedgerView implements AggregatorLedger {
  readonly ledgerAddress: string;

  /** `ledger` must be connected to the aggregator's signer for the writes. */
  constructor(
    readonly ledger: TrainingLedger,
    readonly registry: ConsortiumRegistry,
    readonly provider: Provider,
  ) {
    this.ledgerAddress = String(ledger.target);
  }

  /** The address of the signer the ledger is connected to, if any. */
  async signerAddress(): Promise<string | undefined> {
    const runner = this.ledger.runner;
    return runner && "getAddress" in runner
      ? (runner as { getAddress(): Promise<string> }).getAddress()
      : undefined;
  }

  /** Whether `account` holds the aggregator role in the registry. */
  isAggregator(account: string): Promise<boolean> {
    return this.registry.hasRole(ROLES.aggregator, account);
  }

  /** The leaves the sites committed in a round, in one batch. */
  commitLeaves(taskId: bigint, round: number, sites: readonly string[]): Promise<string[]> {
    return Promise.all(sites.map((site) => this.ledger.commitLeaf(taskId, round, site)));
  }

  /** Whether the ledger recorded this model hash. */
  isRecorded(modelHash: string): Promise<boolean> {
    return this.ledger.isRecorded(modelHash);
  }

  /** Sends openRound and waits until it is mined. */
  openRound(taskId: bigint, baseModelHash: string): Promise<void> {
    return this.send("open_round", () => this.ledger.openRound(taskId, baseModelHash));
  }

  /** Sends finalizeRound and waits until it is mined. */
  finalizeRound(
    taskId: bigint,
    round: number,
    modelHash: string,
    updatesRoot: string,
    includedCount: number,
    metricsHash: string,
  ): Promise<void> {
    return this.send("finalize_round", () =>
      this.ledger.finalizeRound(taskId, round, modelHash, updatesRoot, includedCount, metricsHash),
    );
  }

  /** Sends abortRound and waits until it is mined. */
  abortRound(taskId: bigint, round: number, reason: 1 | 2): Promise<void> {
    return this.send("abort_round", () => this.ledger.abortRound(taskId, round, reason));
  }

  private async send(action: string, call: () => Promise<ContractTransactionResponse>): Promise<void> {
    let tx: ContractTransactionResponse;
    try {
      tx = await call();
    } catch (err) {
      throw new FedledgerError(`${action} was refused: ${describeChainError(err, { ledger: this.ledger })}`);
    }
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new FedledgerError(`${action} transaction ${tx.hash} failed`);
  }

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
