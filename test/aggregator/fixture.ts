/**
 * Shared set-up for aggregator tests: deploy the contracts, onboard sites, create a task with a tiny model, and
 * let a site commit, sign and upload an update exactly as a site service does.
 */
import { encodeBytes32String, hexlify, id, type Provider, type Signer } from "ethers";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../../typechain-types";
import { metricsHash, signUpdate, type Metrics } from "../../node/fl";
import { encodeModel, type NamedTensor } from "../../node/model/format";
import { createInitialModel, expectedTensors } from "../../node/model/params";
import { defaultSpec, specHash, type ModelSpec } from "../../node/model/spec";
import { uploadUpdate } from "../../node/aggregator/client";
import { OnChainAggregatorLedger } from "../../node/aggregator/onChainLedger";
import {
  startAggregatorService,
  type AggregatorService,
  type AggregatorServiceParameters,
} from "../../node/aggregator/service";
import { sha256Hex } from "../../node/sha256";
import { ContentStore } from "../../node/store";

/** A small spec (64 buckets, width 4) so models are a few kilobytes. */
export function tinySpec(): ModelSpec {
  const spec = defaultSpec();
  return defaultSpec({ dim: 4, features: { ...spec.features, buckets: 64 } });
}

/** A deterministic update (delta) for `spec`, values in ±scale. */
export function deltaFor(spec: ModelSpec, seed: number, scale = 0.01): Buffer {
  let x = seed * 2654435761;
  const next = () => {
    x = (Math.imul(x ^ (x >>> 15), 2246822519) + 0x9e3779b9) >>> 0;
    return x / 2 ** 32;
  };
  const tensors: NamedTensor[] = expectedTensors(spec).map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    return { ...t, data: Float32Array.from({ length: n }, () => (2 * next() - 1) * scale) };
  });
  return encodeModel(tensors);
}

/** The genesis model of the tests. */
export function genesisFor(spec: ModelSpec): Buffer {
  return createInitialModel(spec, 7);
}

/** SHA-256 as 0x hex (the project's one helper). */
export const sha256 = (bytes: Uint8Array): string => sha256Hex(bytes);

/** Deployed contracts. */
export interface Consortium {
  registry: ConsortiumRegistry;
  ledger: TrainingLedger;
}

/**
 * Deploys a registry with one admin (quorum 1), grants the aggregator role, onboards `sites` as Active, and
 * deploys the ledger.
 */
export async function deployConsortium(
  admin: Signer,
  aggregator: string,
  sites: Signer[],
): Promise<Consortium> {
  const registry = await new ConsortiumRegistry__factory(admin).deploy([await admin.getAddress()], 1);
  await registry.waitForDeployment();
  const ledger = await new TrainingLedger__factory(admin).deploy(await registry.getAddress());
  await ledger.waitForDeployment();
  await (await registry.voteRole(id("AGGREGATOR_ROLE"), aggregator, true)).wait();
  for (const [i, site] of sites.entries()) {
    const operator = await site.getAddress();
    const tx = await registry.proposeSite(
      operator,
      `Test hospital ${i + 1}`,
      hexlify(Buffer.from("NO")),
      "nb",
      encodeBytes32String(`site ${i + 1}`),
      "0x",
    );
    await tx.wait();
  }
  return { registry, ledger };
}

/** Creates a FedAvg task for `spec` and its genesis; returns the task id. */
export async function createTask(
  ledger: TrainingLedger,
  spec: ModelSpec,
  genesis: Uint8Array,
  opts: { minSites: number; windowSeconds: number; rounds: number },
): Promise<bigint> {
  const tx = await ledger.createTask(
    specHash(spec),
    sha256(genesis),
    1,
    opts.minSites,
    opts.windowSeconds,
    opts.rounds,
  );
  await tx.wait();
  return ledger.taskCount();
}

/** What a site commits and sends for one round. */
export interface SiteUpdate {
  site: string;
  bytes: Uint8Array;
  numSamples: bigint;
  metrics: Metrics;
  signature: string;
}

/**
 * Commits an update on the ledger as `site` and signs the upload. `commitBytes`/`commitMetrics` let a test
 * commit something other than what it later sends.
 */
export async function commitAndSign(
  site: Signer,
  ledger: TrainingLedger,
  chainId: bigint,
  task: bigint,
  round: number,
  bytes: Uint8Array,
  numSamples: bigint,
  metrics: Metrics,
  overrides: { commitBytes?: Uint8Array; commitMetrics?: Metrics; signRound?: number } = {},
): Promise<SiteUpdate> {
  const committedHash = sha256(overrides.commitBytes ?? bytes);
  const committedMetrics = metricsHash(overrides.commitMetrics ?? metrics);
  await (
    await ledger.connect(site).commitUpdate(task, round, committedHash, numSamples, committedMetrics)
  ).wait();
  const signature = await signUpdate(
    site,
    { chainId, ledger: await ledger.getAddress() },
    {
      taskId: task,
      round: overrides.signRound ?? round,
      updateHash: sha256(bytes),
      numSamples,
      metricsHash: metricsHash(metrics),
    },
  );
  return { site: await site.getAddress(), bytes, numSamples, metrics, signature };
}

/** Uploads a signed update without retries. */
export function upload(url: string, task: bigint, round: number, u: SiteUpdate) {
  return uploadUpdate(url, { task, round, ...u }, { retries: 0 });
}

/** Polls `check` every 25 ms until it returns a value other than undefined (10 s at most). */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What {@link startTestAggregator} needs; everything else has a test default. */
export type TestAggregatorParameters = Partial<
  Omit<AggregatorServiceParameters, "ledger" | "store" | "taskId" | "spec" | "genesis">
> & {
  /** The ledger, connected to the signer the aggregator sends from. */
  ledger: TrainingLedger;
  registry: ConsortiumRegistry;
  taskId: bigint;
  spec: ModelSpec;
  genesis: Uint8Array;
  /** The store, or the directory to open it in. */
  store: ContentStore | string;
  /** The chain's provider (default: the ledger's runner's provider). */
  provider?: Provider;
};

/**
 * Starts an aggregator service on the contracts for a test: port 0, 1 MiB uploads, 20 ms polls, no upload
 * grace and a silent log unless the parameters say otherwise.
 *
 * @example
 * const service = await startTestAggregator({ ledger: ledger.connect(aggregator), registry, taskId, spec, genesis, store: dir });
 */
export async function startTestAggregator(p: TestAggregatorParameters): Promise<AggregatorService> {
  const { ledger, registry, provider, store, ...rest } = p;
  const chainProvider = provider ?? (ledger.runner?.provider as Provider);
  return startAggregatorService({
    chainId: (await chainProvider.getNetwork()).chainId,
    port: 0,
    maxUploadBytes: 1 << 20,
    pollIntervalMs: 20,
    uploadGraceSeconds: 0,
    log: () => undefined,
    ...rest,
    ledger: new OnChainAggregatorLedger(ledger, registry, chainProvider),
    store: typeof store === "string" ? await ContentStore.open(store) : store,
  });
}
