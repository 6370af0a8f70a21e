/**
 * The aggregator's ledger on a chain, the on-chain implementation of the ledger port (ledgerPort.ts): reads in
 * few round trips (calls issued together go out as one JSON-RPC batch; ethers batches requests made in the same
 * tick), and the aggregator's transactions, each waited for until mined.
 */
import type { ContractTransactionResponse, Provider, Signer } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  describeChainError,
  sendInFewerTrips,
  waitForReceipt,
  getRoundInfo,
  getTaskInfo,
  type RoundInfo,
  type TaskInfo,
  ROLES,
  siteStatusName,
  type AbortReasonId,
  type SiteStatusName,
} from "../chain";
import { FedledgerError } from "../errors";
import type { AggregatorLedger, ChainSnapshot, CommitEvent, RoundResult, UploadContext } from "./ledgerPort";
import { READER_ROLES, type ReaderRole } from "./readAuth";

/** The ledger and registry contracts, read and written for one aggregator. */
export class OnChainAggregatorLedger implements AggregatorLedger {
  readonly ledgerAddress: string;
  /** The task's current round at the last snapshot, per task: read with the next snapshot's batch. */
  private readonly lastRound = new Map<bigint, number>();
  /** The opening block of rounds seen (fixed once a round is opened), keyed by task and round. */
  private readonly openedAt = new Map<string, number>();

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

  /** The admin, auditor and aggregator roles `account` holds in the registry, in one batch. */
  async readerRoles(account: string): Promise<ReaderRole[]> {
    const held = await Promise.all(READER_ROLES.map((role) => this.registry.hasRole(ROLES[role], account)));
    return READER_ROLES.filter((_, i) => held[i]);
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
    return this.send("open_round", () =>
      sendInFewerTrips(
        this.signer(),
        () => this.ledger.openRound.estimateGas(taskId, baseModelHash),
        (fields) => this.ledger.openRound(taskId, baseModelHash, fields),
      ),
    );
  }

  /** Sends finalizeRound (finalizeMaskedRound with an unmasking hash) and waits until it is mined. */
  finalizeRound(taskId: bigint, round: number, r: RoundResult): Promise<void> {
    const args = [taskId, round, r.modelHash, r.updatesRoot, r.includedCount, r.metricsHash] as const;
    const unmasking = r.unmaskingHash;
    if (unmasking !== undefined)
      return this.send("finalize_round", () =>
        sendInFewerTrips(
          this.signer(),
          () => this.ledger.finalizeMaskedRound.estimateGas(...args, unmasking),
          (fields) => this.ledger.finalizeMaskedRound(...args, unmasking, fields),
        ),
      );
    return this.send("finalize_round", () =>
      sendInFewerTrips(
        this.signer(),
        () => this.ledger.finalizeRound.estimateGas(...args),
        (fields) => this.ledger.finalizeRound(...args, fields),
      ),
    );
  }

  /** Sends abortRound and waits until it is mined. */
  abortRound(taskId: bigint, round: number, reason: AbortReasonId): Promise<void> {
    return this.send("abort_round", () =>
      sendInFewerTrips(
        this.signer(),
        () => this.ledger.abortRound.estimateGas(taskId, round, reason),
        (fields) => this.ledger.abortRound(taskId, round, reason, fields),
      ),
    );
  }

  private signer(): Signer {
    const runner = this.ledger.runner;
    if (!runner || !("sendTransaction" in runner))
      throw new FedledgerError("the aggregator needs the ledger connected to a signer");
    return runner as Signer;
  }

  /** Reads a round and remembers its opening block. */
  private async readRound(taskId: bigint, round: number): Promise<RoundInfo> {
    const info = await getRoundInfo(this.ledger, taskId, round);
    if (info.status !== "None") this.openedAt.set(`${taskId}/${round}`, info.openedAtBlock);
    return info;
  }

  private async send(action: string, call: () => Promise<ContractTransactionResponse>): Promise<void> {
    let tx: ContractTransactionResponse;
    try {
      tx = await call();
    } catch (err) {
      throw new FedledgerError(`${action} was refused: ${describeChainError(err, { ledger: this.ledger })}`);
    }
    const receipt = await waitForReceipt(tx);
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
    return this.readRound(taskId, round);
  }

  /**
   * Task, current round, active site count and chain time, in one batch: the batch also reads the round that
   * was current at the last snapshot, and a second call follows only when the current round moved on.
   */
  async snapshot(taskId: bigint): Promise<ChainSnapshot> {
    const expected = this.lastRound.get(taskId) ?? 0;
    const [task, activeSites, block, seen, seenEarly] = await Promise.all([
      getTaskInfo(this.ledger, taskId),
      this.registry.activeSiteCount(),
      this.provider.getBlock("latest"),
      expected > 0 ? this.readRound(taskId, expected) : undefined,
      expected > 0 ? this.ledger.canCloseEarly(taskId, expected) : false,
    ]);
    let round: RoundInfo | undefined;
    let earlyCloseAllowed = false;
    if (task.currentRound > 0) {
      const same = task.currentRound === expected && seen;
      round = same ? seen : await this.readRound(taskId, task.currentRound);
      earlyCloseAllowed = same ? seenEarly : await this.ledger.canCloseEarly(taskId, task.currentRound);
    }
    this.lastRound.set(taskId, task.currentRound);
    return {
      task,
      round,
      activeSites: Number(activeSites),
      earlyCloseAllowed,
      chainTime: block?.timestamp ?? 0,
    };
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

  /**
   * Site status, round, committed leaf and commit event of one site. When the round's opening block is known
   * (the driver's snapshots read it), the log query goes out in the same batch; otherwise it follows the batch.
   * A known opening block that differs from the one read is not trusted: the query is made again from the
   * block read.
   */
  async uploadContext(taskId: bigint, round: number, site: string): Promise<UploadContext> {
    const known = this.openedAt.get(`${taskId}/${round}`);
    const [status, info, leaf, early] = await Promise.all([
      this.registry.siteStatus(site),
      this.readRound(taskId, round),
      this.ledger.commitLeaf(taskId, round, site),
      known !== undefined ? this.commits(taskId, round, known, site) : undefined,
    ]);
    let commit: CommitEvent | undefined;
    if (info.status !== "None")
      commit = (
        early && known === info.openedAtBlock
          ? early
          : await this.commits(taskId, round, info.openedAtBlock, site)
      )[0];
    return { siteStatus: siteStatusName(status), round: info, leaf, commit };
  }

  /** Status names of several sites, in one batch. */
  async siteStatuses(sites: readonly string[]): Promise<SiteStatusName[]> {
    const values = await Promise.all(sites.map((s) => this.registry.siteStatus(s)));
    return values.map(siteStatusName);
  }
}
