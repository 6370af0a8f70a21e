/**
 * The site's ledger port: what the site service reads from and sends to the ledger, behind one interface with
 * two implementations.
 *
 * - {@link OnChainSiteLedger}: the TrainingLedger and ConsortiumRegistry contracts on a chain (the service's
 *   normal mode).
 * - OffChainSiteLedger (offChainLedger.ts): the aggregator's off-chain ledger over HTTP, with no chain at all,
 *   for measuring what the ledger costs (`npm run bench:round`; config `offLedger: true`).
 */
import { isError, type BaseWallet, type JsonRpcProvider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { decodeChainError, toFedledgerError } from "../chain/describeChainError";
import { getTaskInfo, type TaskInfo } from "../chain/tasks";
import { sendInFewerTrips } from "../chain/fewerTrips";
import { confirmTransaction } from "../chain/transactions";
import { siteStatusName } from "../chain/vocabulary";
import { readTaskSnapshot, type TaskSnapshot } from "./snapshot";

/** What a site commits for a round. */
export interface SiteCommit {
  taskId: bigint;
  round: number;
  updateHash: string;
  numSamples: number | bigint;
  metricsHash: string;
}

/** How a commit ended: recorded, or refused by one of the ledger's round rules. */
export type CommitResult =
  | { committed: true; tx: string; block: number }
  | { committed: false; refusal: "already_committed" | "commit_window_closed" | "round_not_open" };

/** What the site service needs from a ledger. */
export interface SiteLedger {
  readonly chainId: number;
  /** The TrainingLedger address: the verifying contract of the site's EIP-712 signatures. */
  readonly ledgerAddress: string;
  /** The site's status name in the registry (Active, Suspended, …; None when unknown). */
  siteStatus(site: string): Promise<string>;
  /** The task, or undefined when the ledger has no task with this id. */
  task(taskId: bigint): Promise<TaskInfo | undefined>;
  /** One look at a task (see snapshot.ts). */
  snapshot(taskId: bigint, site: string, expectedRound: number): Promise<TaskSnapshot>;
  hasCommitted(taskId: bigint, round: number, site: string): Promise<boolean>;
  /** Whether `site` committed exactly this update hash and sample count in the round. */
  commitMatches(
    taskId: bigint,
    round: number,
    site: string,
    updateHash: string,
    numSamples: number | bigint,
  ): Promise<boolean>;
  /** Commits from the site's key; throws a FedledgerError for anything but the refusals of CommitResult. */
  commitUpdate(commit: SiteCommit): Promise<CommitResult>;
  /** Releases connections. */
  close(): void;
}

const REFUSALS: Record<string, "already_committed" | "commit_window_closed" | "round_not_open"> = {
  LedgerAlreadyCommitted: "already_committed",
  LedgerCommitWindowClosed: "commit_window_closed",
  LedgerRoundNotOpen: "round_not_open",
};

/** The name of the ledger's custom error behind a failed transaction, if any. */
function revertName(err: unknown): string | undefined {
  const revert = (err as { revert?: { name?: unknown } }).revert;
  if (typeof revert?.name === "string") return revert.name;
  const data = (err as { data?: unknown }).data;
  if (isError(err, "CALL_EXCEPTION") && typeof data === "string")
    return decodeChainError(data, "ledger")?.name;
  return undefined;
}

/** The contracts on a chain. */
export class OnChainSiteLedger implements SiteLedger {
  constructor(
    /** The ledger connected to the site's signer. */
    readonly ledger: TrainingLedger,
    readonly registry: ConsortiumRegistry,
    readonly provider: JsonRpcProvider,
    readonly chainId: number,
    readonly ledgerAddress: string,
    readonly signer: BaseWallet,
  ) {}

  async siteStatus(site: string): Promise<string> {
    return siteStatusName(await this.registry.siteStatus(site));
  }

  async task(taskId: bigint): Promise<TaskInfo | undefined> {
    if (taskId < 1n || taskId > (await this.ledger.taskCount())) return undefined;
    return getTaskInfo(this.ledger, taskId);
  }

  snapshot(taskId: bigint, site: string, expectedRound: number): Promise<TaskSnapshot> {
    return readTaskSnapshot(this, taskId, site, expectedRound);
  }

  hasCommitted(taskId: bigint, round: number, site: string): Promise<boolean> {
    return this.ledger.hasCommitted(taskId, round, site);
  }

  commitMatches(
    taskId: bigint,
    round: number,
    site: string,
    updateHash: string,
    numSamples: number | bigint,
  ) {
    return this.ledger.commitMatches(taskId, round, site, updateHash, numSamples);
  }

  async commitUpdate(c: SiteCommit): Promise<CommitResult> {
    try {
      const args = [c.taskId, c.round, c.updateHash, c.numSamples, c.metricsHash] as const;
      const receipt = await confirmTransaction(
        sendInFewerTrips(
          this.signer,
          () => this.ledger.commitUpdate.estimateGas(...args),
          (fields) => this.ledger.commitUpdate(...args, fields),
        ),
      );
      return { committed: true, tx: receipt.hash, block: receipt.blockNumber };
    } catch (err) {
      const refusal = REFUSALS[revertName(err) ?? ""];
      if (refusal) return { committed: false, refusal };
      throw toFedledgerError(err, { ledger: this.ledger, registry: this.registry });
    }
  }

  close(): void {
    this.provider.destroy();
  }
}
