/**
 * The off-chain implementation of the site's ledger port (ledgerPort.ts): the aggregator's in-memory ledger,
 * reached over its HTTP API under /ledger (node/aggregator/offChainRoutes.ts). A commit is signed like an
 * upload (EIP-712 Update), since no transaction carries the site's key. Benchmarks only: it makes the same
 * rounds run without a chain, to measure what the ledger costs.
 */
import { getAddress, ZeroHash, type BaseWallet } from "ethers";
import { z } from "zod";
import { AggregatorRequestError } from "../aggregator/client";
import { isApiErrorCode } from "../aggregator/apiError";
import { loadDeployment } from "../chain/deployment";
import { describeDevAccountNames, devAccountIndex, devAccountWallet, isDevChain } from "../chain/devAccounts";
import { readKeystore } from "../chain/keystore";
import { resolvePassword } from "../chain/password";
import type { RoundInfo, TaskInfo } from "../chain/tasks";
import { UsageError } from "../errors";
import { commitLeaf } from "../fl/merkle";
import { signUpdate } from "../fl/signature";
import type { SiteConfig } from "./config";
import type { CommitResult, SiteCommit, SiteLedger } from "./ledgerPort";
import type { TaskSnapshot } from "./snapshot";

const REFUSALS = new Set(["already_committed", "commit_window_closed", "round_not_open"]);

const snapshotSchema = z.object({
  task: z.custom<TaskInfo>((v) => typeof v === "object" && v !== null && "currentRound" in v),
  round: z.custom<RoundInfo>((v) => typeof v === "object" && v !== null && "status" in v).nullable(),
  siteStatus: z.string(),
  chainTime: z.number(),
});

/** The aggregator's off-chain ledger, one aggregator URL per task. */
export class OffChainSiteLedger implements SiteLedger {
  private readonly urls: Map<bigint, string>;

  constructor(
    aggregators: ReadonlyMap<bigint, string>,
    readonly signer: BaseWallet,
    readonly chainId: number,
    readonly ledgerAddress: string,
  ) {
    this.urls = new Map([...aggregators].map(([task, url]) => [task, url.replace(/\/+$/, "")]));
  }

  private url(taskId: bigint): string {
    const url = this.urls.get(taskId) ?? [...this.urls.values()][0];
    if (!url) throw new AggregatorRequestError("unknown_task", `no aggregator for task ${taskId}`, "");
    return url;
  }

  private async request(
    taskId: bigint,
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; body: unknown }> {
    const base = this.url(taskId);
    let res: Response;
    try {
      res = await fetch(`${base}/ledger${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      const reason = typeof cause?.code === "string" ? cause.code : (err as Error).message;
      throw new AggregatorRequestError("network", `cannot reach the aggregator at ${base}: ${reason}`, "");
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (res.status >= 500)
      throw new AggregatorRequestError(
        "network",
        `the aggregator answered HTTP ${res.status}`,
        "",
        res.status,
      );
    return { status: res.status, body };
  }

  private fail(status: number, body: unknown): never {
    const b = (body ?? {}) as { error?: unknown; message?: unknown; hint?: unknown };
    const code = typeof b.error === "string" && isApiErrorCode(b.error) ? b.error : "bad_response";
    throw new AggregatorRequestError(
      code,
      typeof b.message === "string" ? b.message : `the aggregator answered HTTP ${status}`,
      typeof b.hint === "string" ? b.hint : "",
      status,
    );
  }

  async snapshot(taskId: bigint, site: string): Promise<TaskSnapshot> {
    const { status, body } = await this.request(taskId, `/tasks/${taskId}/sites/${getAddress(site)}`);
    if (status !== 200) this.fail(status, body);
    const parsed = snapshotSchema.safeParse(body);
    if (!parsed.success) this.fail(status, undefined);
    const s = parsed.data;
    return { task: s.task, round: s.round ?? undefined, siteStatus: s.siteStatus, chainTime: s.chainTime };
  }

  async siteStatus(site: string): Promise<string> {
    const [taskId] = this.urls.keys();
    return (await this.snapshot(taskId, site)).siteStatus;
  }

  async task(taskId: bigint): Promise<TaskInfo | undefined> {
    const { status, body } = await this.request(taskId, `/tasks/${taskId}/sites/${this.signer.address}`);
    if (status === 404) return undefined;
    if (status !== 200) this.fail(status, body);
    return (body as { task: TaskInfo }).task;
  }

  private async leaf(taskId: bigint, round: number, site: string): Promise<string> {
    const { status, body } = await this.request(
      taskId,
      `/tasks/${taskId}/rounds/${round}/commits/${getAddress(site)}`,
    );
    if (status !== 200) this.fail(status, body);
    return String((body as { leaf?: unknown }).leaf ?? ZeroHash);
  }

  async hasCommitted(taskId: bigint, round: number, site: string): Promise<boolean> {
    return (await this.leaf(taskId, round, site)) !== ZeroHash;
  }

  async commitMatches(
    taskId: bigint,
    round: number,
    site: string,
    updateHash: string,
    numSamples: number | bigint,
  ): Promise<boolean> {
    return (await this.leaf(taskId, round, site)) === commitLeaf(site, updateHash, numSamples);
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
    const { status, body } = await this.request(c.taskId, `/tasks/${c.taskId}/rounds/${c.round}/commits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        site: this.signer.address,
        updateHash: c.updateHash,
        numSamples: BigInt(c.numSamples).toString(),
        metricsHash: c.metricsHash,
        signature,
      }),
    });
    const b = (body ?? {}) as { error?: unknown; block?: unknown; leaf?: unknown };
    // No transaction exists: the commit's leaf stands in for its transaction hash.
    if (status === 201 && typeof b.leaf === "string" && /^0x[0-9a-f]{64}$/.test(b.leaf))
      return { committed: true, tx: b.leaf, block: Number(b.block ?? 0) };
    if (typeof b.error === "string" && REFUSALS.has(b.error))
      return { committed: false, refusal: b.error as "already_committed" };
    this.fail(status, body);
  }

  close(): void {
    // Nothing to release: every request is a fresh fetch.
  }
}

/**
 * Opens the off-chain ledger of a config with `offLedger: true`: the signer without a provider, the chain id
 * and ledger address of the signature domain from the deployment file (or the config), and one aggregator URL
 * per task. Nothing here talks to a chain.
 *
 * @example
 * const { ledger, signer } = await openOffChainSiteLedger(await loadSiteConfig("bench-site.json"));
 */
export async function openOffChainSiteLedger(
  config: SiteConfig,
): Promise<{ ledger: OffChainSiteLedger; signer: BaseWallet }> {
  const deployment = config.deployment ? await loadDeployment(config.deployment) : undefined;
  const chainId = config.chainId ?? deployment?.chainId;
  const ledgerAddress = config.ledger ?? deployment?.ledger;
  if (chainId === undefined || ledgerAddress === undefined)
    throw new UsageError("offLedger needs a deployment file, or chainId and the ledger address");
  const s = config.signer;
  let signer: BaseWallet;
  if (s.devAccount !== undefined) {
    if (!isDevChain(chainId))
      throw new UsageError(`dev account ${s.devAccount} is refused on chain id ${chainId}`, "Use a keystore");
    if (devAccountIndex(s.devAccount) === undefined)
      throw new UsageError(
        `unknown dev account "${s.devAccount}"`,
        `Use one of ${describeDevAccountNames()}`,
      );
    signer = devAccountWallet(s.devAccount);
  } else {
    const password =
      s.passwordEnv !== undefined
        ? (process.env[s.passwordEnv] ?? "")
        : await resolvePassword({ passwordFile: s.passwordFile });
    signer = await readKeystore(s.keystore as string, password);
  }
  const urls = new Map(config.tasks.map((t) => [t.id, t.aggregator]));
  return { ledger: new OffChainSiteLedger(urls, signer, chainId, ledgerAddress), signer };
}
