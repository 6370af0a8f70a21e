/**
 * The aggregator's ledger port: everything the aggregator reads from and writes to the ledger, as one interface
 * and the types it speaks in. This file owns the port; implementations live beside their backends:
 *
 * - OnChainAggregatorLedger (onChainLedger.ts): the TrainingLedger and ConsortiumRegistry contracts on a chain,
 *   built by runFromConfig.ts. This is what the service runs on.
 * - the benchmark's in-memory ledger (scripts/offLedger/ledger.ts), which keeps the same round rules with no
 *   chain, to measure what the ledger costs (`npm run bench:round`); tests also use it as a fake.
 *
 * The service takes its port from its caller (startAggregatorService's `ledger`), and knows nothing of which one
 * it is given.
 */
import type { RoundInfo, TaskInfo, AbortReasonId, SiteStatusName } from "../chain";
import type { ReaderRole } from "./readAuth";

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
  /**
   * Whether the current round may be finalised before its deadline: as many commits as Active sites, and no
   * site stopped being Active since the round opened (the ledger's `canCloseEarly`, which finalizeRound
   * enforces). False when no round is open.
   */
  earlyCloseAllowed: boolean;
  /** Unix time of the latest block. */
  chainTime: number;
}

/** What an upload needs to be checked against. */
export interface UploadContext {
  siteStatus: SiteStatusName;
  round: RoundInfo;
  /** The leaf the site committed (zero hash when none). */
  leaf: string;
  /** The site's UpdateCommitted event for the round, when there is one. */
  commit?: CommitEvent;
}

/** What a finalised round records: the arguments of `TrainingLedger.finalizeRound` after task and round. */
export interface RoundResult {
  modelHash: string;
  /** Merkle root of the included updates' commit leaves. */
  updatesRoot: string;
  includedCount: number;
  /** Hash of the round's metrics document. */
  metricsHash: string;
  /**
   * Secure aggregation only: the hash of the stored unmasking material, bound into the finalisation
   * (`finalizeMaskedRound`, event RoundUnmasked).
   */
  unmaskingHash?: string;
}

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
  siteStatuses(sites: readonly string[]): Promise<SiteStatusName[]>;
  /** The leaf each site committed in a round (zero hash when none). */
  commitLeaves(taskId: bigint, round: number, sites: readonly string[]): Promise<string[]>;
  /** Whether a model hash was recorded (as a genesis or a round's model). */
  isRecorded(modelHash: string): Promise<boolean>;
  openRound(taskId: bigint, baseModelHash: string): Promise<void>;
  finalizeRound(taskId: bigint, round: number, result: RoundResult): Promise<void>;
  abortRound(taskId: bigint, round: number, reason: AbortReasonId): Promise<void>;
}
