/**
 * The aggregator's ledger port: everything the aggregator reads from and writes to the ledger, behind one
 * interface with two implementations.
 *
 * - {@link LedgerView} (ledgerView.ts): the TrainingLedger and ConsortiumRegistry contracts on a chain. This is
 *   what the service uses.
 * - OffChainLedger (offChainLedger.ts): the same round rules kept in the aggregator's memory, with no chain at
 *   all. It exists to measure what the ledger costs (`npm run bench:round` runs the same rounds both ways); sites
 *   reach it over the aggregator's HTTP API (offChainRoutes.ts).
 */
import type { RoundInfo, TaskInfo } from "../chain/tasks";
import type { ChainSnapshot, CommitEvent, UploadContext } from "./ledgerView";
import type { ReaderRole } from "./readAuth";

/** What the aggregator needs from a ledger. Writes resolve once recorded and throw a FedledgerError if refused. */
export interface AggregatorLedger {
  /** The TrainingLedger address: the verifying contract of the sites' EIP-712 signatures. */
  readonly ledgerAddress: string;
  /** The account that sends the aggregator's ledger writes, if any. */
  signerAddress(): Promise<string | undefined>;
  /** Whether `account` holds the aggregator role. */
  isAggregator(account: string): Promise<boolean>;
  /** The roles of `account` that let it read every site's update (admin, auditor, aggregator; readAuth.ts). */
  readerRoles(account: string): Promise<ReaderRole[]>;
  /** The task, or undefined when the ledger has no task with this id. */
  task(taskId: bigint): Promise<TaskInfo | undefined>;
  /** One round (status None when not opened). */
  round(taskId: bigint, round: number): Promise<RoundInfo>;
  /** Task, current round, active site count and ledger time. */
  snapshot(taskId: bigint): Promise<ChainSnapshot>;
  /** The commits of a round (optionally of one site), from the round's opening block. */
  commits(taskId: bigint, round: number, fromBlock: number, site?: string): Promise<CommitEvent[]>;
  /** Site status, round, committed leaf and commit of one site. */
  uploadContext(taskId: bigint, round: number, site: string): Promise<UploadContext>;
  /** Status names of several sites. */
  siteStatuses(sites: readonly string[]): Promise<string[]>;
  /** The leaf each site committed in a round (zero hash when none). */
  commitLeaves(taskId: bigint, round: number, sites: readonly string[]): Promise<string[]>;
  /** Whether a model hash was recorded (as a genesis or a round's model). */
  isRecorded(modelHash: string): Promise<boolean>;
  openRound(taskId: bigint, baseModelHash: string): Promise<void>;
  finalizeRound(
    taskId: bigint,
    round: number,
    modelHash: string,
    updatesRoot: string,
    includedCount: number,
    metricsHash: string,
  ): Promise<void>;
  abortRound(taskId: bigint, round: number, reason: 1 | 2): Promise<void>;
}
