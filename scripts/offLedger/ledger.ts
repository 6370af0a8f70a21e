/**
 * An in-memory implementation of the aggregator's ledger port (node/aggregator/ledgerPort.ts): one task's rounds
 * kept in the aggregator's memory under the TrainingLedger's own rules (who may commit, until when, when a round
 * may be finalised or aborted), with no chain and no transactions. Sites commit through routes the benchmark
 * serves beside the aggregator's API (routes.ts), signing the commit like an upload.
 *
 * It exists to measure what the ledger costs: `npm run bench:round` runs the same rounds with the contracts
 * and with this class, with the same services, HTTP and training; tests use it as a fast fake ledger. It records
 * nothing durable and proves nothing to anyone; never use it for a real consortium.
 */
import { getAddress, ZeroHash } from "ethers";
import type {
  AggregatorLedger,
  ChainSnapshot,
  CommitEvent,
  RoundResult,
  UploadContext,
} from "../../node/aggregator/ledgerPort";
import type { ReaderRole } from "../../node/aggregator/readAuth";
import {
  type RoundInfo,
  type TaskInfo,
  aggregationRuleName,
  AGGREGATION_RULE_IDS,
  type AbortReasonId,
  type SiteStatusName,
} from "../../node/chain";
import { FedledgerError } from "../../node/errors";
import { commitLeaf } from "../../node/fl";

/** The task the off-chain ledger runs. */
export interface OffChainTask {
  taskId: bigint;
  specHash: string;
  genesisModelHash: string;
  minSitesPerRound: number;
  commitWindowSeconds: number;
  roundsPlanned: number;
  /** The task's aggregation rule (AGGREGATION_RULE_IDS); FedAvg when not given. */
  aggregationRule?: number;
}

/** Options of {@link OffChainLedger}. */
export interface OffChainLedgerParameters {
  task: OffChainTask;
  /** The sites that count as Active. */
  sites: readonly string[];
  /** The aggregator's address (the only account allowed to open and close rounds). */
  aggregator: string;
  /** The TrainingLedger address the sites sign for (EIP-712 verifying contract); nothing is sent to it. */
  ledgerAddress: string;
  /** Unix time in seconds; the wall clock by default. */
  now?: () => number;
}

/** Why the ledger refused a site's commit (the contract's reasons). */
export type OffChainCommitRefusal =
  "not_active_site" | "zero_value" | "round_not_open" | "commit_window_closed" | "already_committed";

/** A refused off-chain commit. */
export class OffChainCommitError extends FedledgerError {
  constructor(
    readonly refusal: OffChainCommitRefusal,
    message: string,
  ) {
    super(message);
  }
}

interface RoundRecord {
  info: RoundInfo;
  commits: Map<string, CommitEvent & { leaf: string }>;
}

/** One task's rounds in memory; see the module comment. */
export class OffChainLedger implements AggregatorLedger {
  readonly ledgerAddress: string;
  private readonly definition: OffChainTask;
  private readonly sites: Set<string>;
  private readonly aggregator: string;
  private readonly now: () => number;
  private readonly rounds = new Map<number, RoundRecord>();
  private readonly recorded = new Set<string>();
  private currentRound = 0;
  private latestModelHash: string;
  /** Counts writes, standing in for block numbers. */
  private block = 1;

  constructor(params: OffChainLedgerParameters) {
    this.definition = params.task;
    this.sites = new Set(params.sites.map((s) => getAddress(s)));
    this.aggregator = getAddress(params.aggregator);
    this.ledgerAddress = getAddress(params.ledgerAddress);
    this.now = params.now ?? (() => Math.floor(Date.now() / 1000));
    this.latestModelHash = params.task.genesisModelHash.toLowerCase();
    this.recorded.add(this.latestModelHash);
  }

  async signerAddress(): Promise<string> {
    return this.aggregator;
  }

  async isAggregator(account: string): Promise<boolean> {
    return getAddress(account) === this.aggregator;
  }

  /**
   * With no registry, only the aggregator's own address holds a role (it stands for the admins, who are absent):
   * it may read every update; a site reads only its own (docs/privacy.md, "Who may read what").
   */
  async readerRoles(account: string): Promise<ReaderRole[]> {
    return getAddress(account) === this.aggregator ? ["aggregator"] : [];
  }

  private taskInfo(): TaskInfo {
    const t = this.definition;
    return {
      taskId: Number(t.taskId),
      creator: this.aggregator,
      aggregationRule: t.aggregationRule ?? AGGREGATION_RULE_IDS.fedavg,
      aggregationRuleName: aggregationRuleName(t.aggregationRule ?? AGGREGATION_RULE_IDS.fedavg),
      minSitesPerRound: t.minSitesPerRound,
      commitWindowSeconds: t.commitWindowSeconds,
      roundsPlanned: t.roundsPlanned,
      currentRound: this.currentRound,
      createdAtBlock: 0,
      specHash: t.specHash,
      genesisModelHash: t.genesisModelHash,
      latestModelHash: this.latestModelHash,
    };
  }

  private known(taskId: bigint): boolean {
    return taskId === this.definition.taskId;
  }

  async task(taskId: bigint): Promise<TaskInfo | undefined> {
    return this.known(taskId) ? this.taskInfo() : undefined;
  }

  async round(taskId: bigint, round: number): Promise<RoundInfo> {
    const record = this.known(taskId) ? this.rounds.get(round) : undefined;
    if (record) return { ...record.info };
    return {
      round,
      status: "None",
      minSitesPerRound: 0,
      commitCount: 0,
      includedCount: 0,
      deadline: 0,
      openedAtBlock: 0,
      baseModelHash: ZeroHash,
      updatesRoot: ZeroHash,
      modelHash: ZeroHash,
    };
  }

  async snapshot(taskId: bigint): Promise<ChainSnapshot> {
    const task = await this.task(taskId);
    if (!task)
      throw new FedledgerError(`task ${taskId} is not the off-chain ledger's task ${this.definition.taskId}`);
    const round = task.currentRound > 0 ? await this.round(taskId, task.currentRound) : undefined;
    // Sites of an off-chain ledger never leave, so every commit is from a site still taking part.
    const earlyCloseAllowed = round?.status === "Open" && round.commitCount >= this.sites.size;
    return { task, round, activeSites: this.sites.size, earlyCloseAllowed, chainTime: this.now() };
  }

  async commits(taskId: bigint, round: number, _fromBlock: number, site?: string): Promise<CommitEvent[]> {
    const record = this.known(taskId) ? this.rounds.get(round) : undefined;
    if (!record) return [];
    const all = [...record.commits.values()].map(({ leaf: _leaf, ...event }) => event);
    return site === undefined ? all : all.filter((c) => c.site === getAddress(site));
  }

  async uploadContext(taskId: bigint, round: number, site: string): Promise<UploadContext> {
    const [status] = await this.siteStatuses([site]);
    const commit = this.known(taskId) ? this.rounds.get(round)?.commits.get(getAddress(site)) : undefined;
    return {
      siteStatus: status,
      round: await this.round(taskId, round),
      leaf: commit?.leaf ?? ZeroHash,
      commit: commit && {
        site: commit.site,
        updateHash: commit.updateHash,
        numSamples: commit.numSamples,
        metricsHash: commit.metricsHash,
        blockNumber: commit.blockNumber,
      },
    };
  }

  async siteStatuses(sites: readonly string[]): Promise<SiteStatusName[]> {
    return sites.map((s) => (this.sites.has(getAddress(s)) ? ("Active" as const) : ("None" as const)));
  }

  async commitLeaves(taskId: bigint, round: number, sites: readonly string[]): Promise<string[]> {
    const record = this.known(taskId) ? this.rounds.get(round) : undefined;
    return sites.map((s) => record?.commits.get(getAddress(s))?.leaf ?? ZeroHash);
  }

  async isRecorded(modelHash: string): Promise<boolean> {
    return this.recorded.has(modelHash.toLowerCase());
  }

  /** Whether `site` committed in a round. */
  hasCommitted(taskId: bigint, round: number, site: string): boolean {
    return this.known(taskId) && this.rounds.get(round)?.commits.has(getAddress(site)) === true;
  }

  /**
   * Records a site's commit under the contract's rules; throws an OffChainCommitError naming the rule broken.
   * Returns the stand-in block number.
   */
  commit(
    taskId: bigint,
    round: number,
    site: string,
    updateHash: string,
    numSamples: bigint,
    metricsHash: string,
  ): number {
    const operator = getAddress(site);
    if (!this.sites.has(operator))
      throw new OffChainCommitError("not_active_site", `${operator} is not an active site`);
    if (/^0x0{64}$/.test(updateHash) || numSamples <= 0n)
      throw new OffChainCommitError("zero_value", "the update hash and the sample count must not be zero");
    const record = this.known(taskId) ? this.rounds.get(round) : undefined;
    if (!record || record.info.status !== "Open")
      throw new OffChainCommitError("round_not_open", `round ${round} of task ${taskId} is not open`);
    if (this.now() >= record.info.deadline)
      throw new OffChainCommitError("commit_window_closed", `the commit window of round ${round} has closed`);
    if (record.commits.has(operator))
      throw new OffChainCommitError("already_committed", `${operator} already committed in round ${round}`);
    const blockNumber = ++this.block;
    record.commits.set(operator, {
      site: operator,
      updateHash: updateHash.toLowerCase(),
      numSamples,
      metricsHash: metricsHash.toLowerCase(),
      blockNumber,
      leaf: commitLeaf(operator, updateHash, numSamples),
    });
    record.info.commitCount += 1;
    return blockNumber;
  }

  private openRecord(taskId: bigint, round: number): RoundRecord {
    const record = this.known(taskId) ? this.rounds.get(round) : undefined;
    if (!record || record.info.status !== "Open")
      throw new FedledgerError(`round ${round} of task ${taskId} is not open`);
    return record;
  }

  async openRound(taskId: bigint, baseModelHash: string): Promise<void> {
    if (!this.known(taskId)) throw new FedledgerError(`unknown task ${taskId}`);
    const current = this.rounds.get(this.currentRound);
    if (current?.info.status === "Open")
      throw new FedledgerError(`round ${this.currentRound} of task ${taskId} is still open`);
    if (this.currentRound >= this.definition.roundsPlanned)
      throw new FedledgerError(`task ${taskId} has run all ${this.definition.roundsPlanned} rounds`);
    if (baseModelHash.toLowerCase() !== this.latestModelHash)
      throw new FedledgerError(`the base model must be the task's latest model ${this.latestModelHash}`);
    const round = ++this.currentRound;
    this.rounds.set(round, {
      info: {
        round,
        status: "Open",
        minSitesPerRound: this.definition.minSitesPerRound,
        commitCount: 0,
        includedCount: 0,
        deadline: this.now() + this.definition.commitWindowSeconds,
        openedAtBlock: ++this.block,
        baseModelHash: this.latestModelHash,
        updatesRoot: ZeroHash,
        modelHash: ZeroHash,
      },
      commits: new Map(),
    });
  }

  async finalizeRound(taskId: bigint, round: number, result: RoundResult): Promise<void> {
    const { modelHash, updatesRoot, includedCount } = result;
    const record = this.openRecord(taskId, round);
    const info = record.info;
    const hash = modelHash.toLowerCase();
    if (this.recorded.has(hash)) throw new FedledgerError(`model ${hash} is already recorded`);
    if (this.now() < info.deadline && info.commitCount < this.sites.size)
      throw new FedledgerError(
        `round ${round} is still open: its deadline has not passed and sites are missing`,
      );
    if (includedCount < info.minSitesPerRound || includedCount > info.commitCount)
      throw new FedledgerError(
        `${includedCount} included update(s) is outside ${info.minSitesPerRound} … ${info.commitCount}`,
      );
    this.recorded.add(hash);
    info.status = "Finalized";
    info.includedCount = includedCount;
    info.updatesRoot = updatesRoot;
    info.modelHash = hash;
    this.latestModelHash = hash;
    this.block += 1;
  }

  async abortRound(taskId: bigint, round: number, _reason: AbortReasonId): Promise<void> {
    const info = this.openRecord(taskId, round).info;
    if (this.now() < info.deadline) throw new FedledgerError(`the deadline of round ${round} has not passed`);
    info.status = "Aborted";
    this.block += 1;
  }
}
