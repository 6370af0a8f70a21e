/**
 * The site's ledger port (node/site/ledgerPort.ts) for the off-ledger benchmark: the aggregator's in-memory
 * ledger (ledger.ts), reached over the routes it serves under /ledger (routes.ts), through the site's one
 * aggregator client (requestAggregatorJson: retries, timeouts, size cap, error mapping). A commit is signed like
 * an upload (EIP-712 Update), since no transaction carries the site's key. Benchmarks only.
 */
import { getAddress, ZeroHash, type BaseWallet } from "ethers";
import { z } from "zod";
import { AggregatorRequestError, requestAggregatorJson } from "../../node/aggregator/client";
import {
  ledgerDomain,
  CONFIG_SIGNER_NAMES,
  resolveSigner,
  type RoundInfo,
  type TaskInfo,
  SITE_STATUSES,
  type SiteStatusName,
} from "../../node/chain";
import { commitLeaf, signUpdate } from "../../node/fl";
import type { SiteConfig } from "../../node/site/config";
import type {
  CommitKey,
  CommitRefusal,
  CommitResult,
  OpenedSiteLedger,
  SiteCommit,
  SiteLedger,
} from "../../node/site/ledgerPort";
import type { TaskSnapshot } from "../../node/site/snapshot";

const REFUSALS: readonly CommitRefusal[] = ["already_committed", "commit_window_closed", "round_not_open"];

const snapshotSchema = z.object({
  task: z.custom<TaskInfo>((v) => typeof v === "object" && v !== null && "currentRound" in v),
  round: z.custom<RoundInfo>((v) => typeof v === "object" && v !== null && "status" in v).nullable(),
  siteStatus: z.enum(SITE_STATUSES),
  chainTime: z.number(),
});

const commitAnswer = z.object({ leaf: z.string().regex(/^0x[0-9a-f]{64}$/), block: z.number().optional() });

function badAnswer(status: number): never {
  throw new AggregatorRequestError(
    "bad_response",
    `the off-chain ledger answered HTTP ${status} with an unexpected body`,
    "",
    status,
  );
}

/** The aggregator's off-chain ledger, one aggregator URL per task. */
export class OffChainSiteLedger implements SiteLedger {
  private readonly urls: Map<bigint, string>;

  constructor(
    aggregators: ReadonlyMap<bigint, string>,
    readonly signer: BaseWallet,
    readonly chainId: number,
    readonly ledgerAddress: string,
  ) {
    this.urls = new Map(aggregators);
  }

  private request(taskId: bigint, path: string, init?: RequestInit, passStatuses?: number[]) {
    const url = this.urls.get(taskId) ?? [...this.urls.values()][0];
    if (!url) throw new AggregatorRequestError("unknown_task", `no aggregator for task ${taskId}`, "");
    return requestAggregatorJson(url, `/ledger${path}`, { init, passStatuses });
  }

  private async read(taskId: bigint, site: string): Promise<TaskSnapshot | undefined> {
    const { status, body } = await this.request(
      taskId,
      `/tasks/${taskId}/sites/${getAddress(site)}`,
      {},
      [404],
    );
    if (status === 404) return undefined;
    const parsed = snapshotSchema.safeParse(body);
    if (!parsed.success) badAnswer(status);
    const s = parsed.data;
    return { task: s.task, round: s.round ?? undefined, siteStatus: s.siteStatus, chainTime: s.chainTime };
  }

  async snapshot(taskId: bigint, site: string): Promise<TaskSnapshot> {
    const snap = await this.read(taskId, site);
    if (!snap)
      throw new AggregatorRequestError("unknown_task", `no task ${taskId} on the off-chain ledger`, "");
    return snap;
  }

  async siteStatus(site: string): Promise<SiteStatusName> {
    const [taskId] = this.urls.keys();
    return (await this.snapshot(taskId, site)).siteStatus;
  }

  async task(taskId: bigint): Promise<TaskInfo | undefined> {
    return (await this.read(taskId, this.signer.address))?.task;
  }

  private async leaf(taskId: bigint, round: number, site: string): Promise<string> {
    const { body } = await this.request(
      taskId,
      `/tasks/${taskId}/rounds/${round}/commits/${getAddress(site)}`,
    );
    return String((body as { leaf?: unknown } | undefined)?.leaf ?? ZeroHash);
  }

  async hasCommitted(taskId: bigint, round: number, site: string): Promise<boolean> {
    return (await this.leaf(taskId, round, site)) !== ZeroHash;
  }

  async commitMatches(site: string, c: CommitKey): Promise<boolean> {
    return (await this.leaf(c.taskId, c.round, site)) === commitLeaf(site, c.updateHash, c.numSamples);
  }

  async commitUpdate(c: SiteCommit): Promise<CommitResult> {
    const signature = await signUpdate(
      this.signer,
      { chainId: this.chainId, ledger: this.ledgerAddress },
      {
        taskId: c.taskId,
        round: c.round,
        updateHash: c.updateHash,
        numSamples: c.numSamples,
        metricsHash: c.metricsHash,
      },
    );
    const { status, body } = await this.request(
      c.taskId,
      `/tasks/${c.taskId}/rounds/${c.round}/commits`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          site: this.signer.address,
          updateHash: c.updateHash,
          numSamples: BigInt(c.numSamples).toString(),
          metricsHash: c.metricsHash,
          signature,
        }),
      },
      [409],
    );
    if (status === 409) {
      const refusal = REFUSALS.find((r) => r === (body as { error?: unknown } | undefined)?.error);
      if (refusal) return { committed: false, refusal };
      badAnswer(status);
    }
    const parsed = commitAnswer.safeParse(body);
    if (!parsed.success) badAnswer(status);
    // No transaction exists: the commit's leaf stands in for its transaction hash.
    return { committed: true, tx: parsed.data.leaf, block: parsed.data.block ?? 0 };
  }

  close(): void {
    // Nothing to release: every request is a fresh fetch.
  }
}

/**
 * Opens the off-chain ledger for a site config: the signer without a provider, the signature domain from the
 * config (ledgerDomain), and one aggregator URL per task. Nothing here talks to a chain.
 *
 * @example
 * await runSite(config, { openLedger: openOffChainSiteLedger });
 */
export async function openOffChainSiteLedger(config: SiteConfig): Promise<OpenedSiteLedger> {
  const { chainId, ledgerAddress } = await ledgerDomain(config);
  const signer = await resolveSigner(config.signer, undefined, chainId, CONFIG_SIGNER_NAMES);
  const urls = new Map(config.tasks.map((t) => [t.id, t.aggregator]));
  return { ledger: new OffChainSiteLedger(urls, signer, chainId, ledgerAddress), signer };
}
