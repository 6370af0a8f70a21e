/**
 * The site's ledger port: what the site service reads from and sends to the ledger, as one interface and the
 * types it speaks in. This file owns the port; implementations live beside their backends:
 *
 * - OnChainSiteLedger (onChainLedger.ts): the TrainingLedger and ConsortiumRegistry contracts on a chain, opened
 *   from the config by openOnChainSiteLedger. This is what `fedledger site run` uses.
 * - the benchmark's client of the aggregator's in-memory ledger (scripts/offLedger/siteLedger.ts), for measuring
 *   what the ledger costs (`npm run bench:round`).
 *
 * The service takes the opener of its port from its caller (runSite's `openLedger`), as the aggregator's service
 * takes its port; both ports are arranged the same way.
 */
import type { BaseWallet } from "ethers";
import type { TaskInfo, SiteStatusName } from "../chain";
import type { SiteConfig } from "./config";
import type { TaskSnapshot } from "./snapshot";

/** What a site commits for a round. */
export interface SiteCommit {
  taskId: bigint;
  round: number;
  updateHash: string;
  numSamples: number | bigint;
  metricsHash: string;
}

/** What identifies a site's commit: the round and the committed update hash and sample count. */
export type CommitKey = Pick<SiteCommit, "taskId" | "round" | "updateHash" | "numSamples">;

/** The ledger's round rules that refuse a commit, by the API's name for each. */
export type CommitRefusal = "already_committed" | "commit_window_closed" | "round_not_open";

/** How a commit ended: recorded, or refused by one of the ledger's round rules. */
export type CommitResult =
  { committed: true; tx: string; block: number } | { committed: false; refusal: CommitRefusal };

/** What the site service needs from a ledger. */
export interface SiteLedger {
  readonly chainId: number;
  /** The TrainingLedger address: the verifying contract of the site's EIP-712 signatures. */
  readonly ledgerAddress: string;
  /** The site's status name in the registry (Active, Suspended, …; None when unknown). */
  siteStatus(site: string): Promise<SiteStatusName>;
  /** The task, or undefined when the ledger has no task with this id. */
  task(taskId: bigint): Promise<TaskInfo | undefined>;
  /** One look at a task (see snapshot.ts). */
  snapshot(taskId: bigint, site: string, expectedRound: number): Promise<TaskSnapshot>;
  hasCommitted(taskId: bigint, round: number, site: string): Promise<boolean>;
  /** Whether `site` committed exactly this update hash and sample count in the commit's round. */
  commitMatches(site: string, commit: CommitKey): Promise<boolean>;
  /** Commits from the site's key; throws a FedledgerError for anything but the refusals of CommitResult. */
  commitUpdate(commit: SiteCommit): Promise<CommitResult>;
  /** Releases connections. */
  close(): void;
}

/** A site's port, opened from its config, with the signer that signs its commits and uploads. */
export interface OpenedSiteLedger {
  ledger: SiteLedger;
  signer: BaseWallet;
}

/** Opens a site's ledger port from its config (openOnChainSiteLedger unless the caller gives another). */
export type SiteLedgerOpener = (config: SiteConfig) => Promise<OpenedSiteLedger>;
