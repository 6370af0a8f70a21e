/**
 * The site's ledger on a chain: the on-chain implementation of the site's ledger port (ledgerPort.ts), and the
 * opener that builds it from a config through the shared start-up (node/chain/openLedger.ts).
 */
import { isError, type BaseWallet, type JsonRpcProvider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  decodeChainError,
  toFedledgerError,
  getTaskInfo,
  type TaskInfo,
  sendInFewerTrips,
  openLedger,
  confirmTransaction,
  siteStatusName,
  type SiteStatusName,
} from "../chain";
import type { SiteConfig } from "./config";
import type {
  CommitKey,
  CommitRefusal,
  CommitResult,
  OpenedSiteLedger,
  SiteCommit,
  SiteLedger,
} from "./ledgerPort";
import { readTaskSnapshot, type TaskSnapshot } from "./snapshot";

const REFUSALS: Record<string, CommitRefusal> = {
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

  async siteStatus(site: string): Promise<SiteStatusName> {
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

  commitMatches(site: string, c: CommitKey): Promise<boolean> {
    return this.ledger.commitMatches(c.taskId, c.round, site, c.updateHash, c.numSamples);
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

/**
 * Opens the contracts a site config names (chain, deployment or addresses, signer) as the site's ledger port.
 *
 * @example
 * const { ledger, signer } = await openOnChainSiteLedger(await loadSiteConfig("site.json"));
 */
export async function openOnChainSiteLedger(config: SiteConfig): Promise<OpenedSiteLedger> {
  const opened = await openLedger({ source: config, signer: config.signer });
  const ledger = new OnChainSiteLedger(
    opened.ledger,
    opened.registry,
    opened.provider,
    opened.chainId,
    await opened.ledger.getAddress(),
    opened.signer,
  );
  return { ledger, signer: opened.signer };
}
