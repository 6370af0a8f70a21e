/**
 * Shared set-up for the site service tests: a consortium deployed on a real Hardhat node, Active sites, a task
 * with a tiny model, an aggregator service on 127.0.0.1, synthetic notes on disk and a site config file; plus an
 * event recorder to follow a running site.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { encodeBytes32String, hexlify, type JsonRpcProvider } from "ethers";
import type { AggregatorService } from "../../node/aggregator/service";
import { startTestAggregator as startAggregatorOnChain } from "../aggregator/fixture";
import { connectChain } from "../../node/chain/connection";
import { deployFedledger } from "../../node/chain/deploy";
import { saveDeployment, type Deployment } from "../../node/chain/deployment";
import { devAccountAddress, devAccountWallet } from "../../node/chain/devAccounts";
import { confirmTransaction, receiptEvents } from "../../node/chain/transactions";
import { ROLES } from "../../node/chain/vocabulary";
import { hashModelBytes } from "../../node/model/format";
import { createInitialModel } from "../../node/model/params";
import { DEFAULT_TRAINING, defaultSpec, specHash, type ModelSpec } from "../../node/model/spec";
import { parseSiteConfig, type SiteConfig, type SiteEvent, type SiteEventType } from "../../node/site";
import { generateNotes, noteToJsonl, type Note } from "../../node/text/corpus";
import type { Lang } from "../../node/text/labels";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../../typechain-types";

/** A small model (4,096 buckets, width 8) trained for one epoch, so a round takes well under a second. */
export function tinySpec(): ModelSpec {
  return defaultSpec({
    features: { buckets: 4096, wordNgrams: 2, charNgramMin: 3, charNgramMax: 4 },
    dim: 8,
    hidden: 0,
    training: { ...DEFAULT_TRAINING, lr: 0.05, epochs: 1, batchSize: 16 },
  });
}

/** A deployed consortium with one admin (quorum 1), the aggregator role granted and some Active sites. */
export interface TestLedger {
  provider: JsonRpcProvider;
  deployment: Deployment;
  deploymentFile: string;
  /** Ledger and registry connected to the admin. */
  ledger: TrainingLedger;
  registry: ConsortiumRegistry;
  /** The ledger connected to the aggregator's dev account. */
  aggregatorLedger: TrainingLedger;
  close(): void;
}

/**
 * Deploys the contracts on the chain at `rpc` with admin1 as the only admin, grants the aggregator role to the
 * `aggregator` dev account and makes the named dev accounts Active sites.
 */
export async function deployTestLedger(rpc: string, dir: string, sites: string[]): Promise<TestLedger> {
  const { provider } = await connectChain({ rpc });
  const admin = devAccountWallet("admin1", provider);
  const deployment = await deployFedledger({
    signer: admin,
    admins: [admin.address],
    quorum: 1,
    rpc,
  });
  const deploymentFile = path.join(dir, "deployment.json");
  await saveDeployment(deploymentFile, deployment);
  const registry = ConsortiumRegistry__factory.connect(deployment.registry, admin);
  const ledger = TrainingLedger__factory.connect(deployment.ledger, admin);
  await confirmTransaction(registry.voteRole(ROLES.aggregator, devAccountAddress("aggregator"), true));
  for (const name of sites)
    await confirmTransaction(
      registry.proposeSite(
        devAccountAddress(name),
        `Test hospital ${name}`,
        hexlify(Buffer.from("SE")),
        "sv",
        encodeBytes32String(name),
        "0x",
      ),
    );
  return {
    provider,
    deployment,
    deploymentFile,
    ledger,
    registry,
    aggregatorLedger: ledger.connect(devAccountWallet("aggregator", provider)),
    close: () => provider.destroy(),
  };
}

/** A task created on the ledger, with its spec file and genesis model. */
export interface TestTask {
  id: bigint;
  spec: ModelSpec;
  specFile: string;
  genesis: Buffer;
  genesisHash: string;
}

/** Writes the spec file and creates a task (FedAvg) from the tiny spec's seeded genesis model. */
export async function createTestTask(
  t: TestLedger,
  dir: string,
  options: { rounds: number; minSites?: number; windowSeconds?: number },
): Promise<TestTask> {
  const spec = tinySpec();
  const specFile = path.join(dir, "spec.json");
  await writeFile(specFile, `${JSON.stringify(spec, null, 2)}\n`);
  // A new seed per task on the ledger: the ledger refuses a genesis that is already recorded.
  const genesis = createInitialModel(spec, 7 + Number(await t.ledger.taskCount()));
  const genesisHash = hashModelBytes(genesis);
  const receipt = await confirmTransaction(
    t.ledger.createTask(
      specHash(spec),
      genesisHash,
      1,
      options.minSites ?? 1,
      options.windowSeconds ?? 3600,
      options.rounds,
    ),
  );
  const [event] = receiptEvents(receipt, t.ledger, "TaskCreated");
  return { id: event.args.taskId as bigint, spec, specFile, genesis, genesisHash };
}

/** Starts an aggregator service for `task` on 127.0.0.1 (on `port`, 0 for a free one) with its store in `storeDir`. */
export async function startTestAggregator(
  t: TestLedger,
  task: TestTask,
  storeDir: string,
  port = 0,
): Promise<AggregatorService> {
  return startAggregatorOnChain({
    ledger: t.aggregatorLedger,
    registry: t.registry,
    provider: t.provider,
    taskId: task.id,
    spec: task.spec,
    genesis: task.genesis,
    store: storeDir,
    port,
    maxUploadBytes: 64 << 20,
    pollIntervalMs: 100,
  });
}

/** Generates `n` synthetic notes and writes them as JSONL; returns the notes. */
export async function writeNotes(file: string, n: number, seed: number, lang: Lang = "sv"): Promise<Note[]> {
  const notes = generateNotes({ lang, n, seed });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, notes.map((note) => `${noteToJsonl(note)}\n`).join(""));
  return notes;
}

/** A site config object for dev account `site` (before validation), pointing at the test deployment. */
export function siteConfigJson(
  t: TestLedger,
  task: TestTask,
  options: { site: string; aggregator: string; dataFile: string; stateDir: string },
): Record<string, unknown> {
  return {
    signer: { devAccount: options.site },
    deployment: t.deploymentFile,
    aggregator: options.aggregator,
    tasks: [{ id: Number(task.id), modelSpec: task.specFile }],
    data: [options.dataFile],
    validationShare: 0.25,
    training: { seed: 5 },
    stateDir: options.stateDir,
    pollIntervalMs: 100,
    maxRetryDelayMs: 400,
  };
}

/** Validates a config object the way `fedledger site run` does. */
export function siteConfig(json: Record<string, unknown>, dir: string): SiteConfig {
  return parseSiteConfig(json, dir, "the test config");
}

/** Collects a running site's events and lets a test wait for one. */
export class EventRecorder {
  readonly events: SiteEvent[] = [];
  private waiters: { match: (e: SiteEvent) => boolean; resolve: (e: SiteEvent) => void }[] = [];
  /** Called for each event after it is recorded (for example to abort the site at a chosen step). */
  onRecord?: (event: SiteEvent) => void;

  /** The handler to pass as `onEvent`. */
  readonly handler = (event: SiteEvent): void => {
    this.events.push(event);
    this.onRecord?.(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  };

  /** Events of one type. */
  of<K extends SiteEventType>(type: K): Extract<SiteEvent, { type: K }>[] {
    return this.events.filter((e): e is Extract<SiteEvent, { type: K }> => e.type === type);
  }

  /** Resolves with the first event (already recorded or future) of `type` that passes `match`. */
  waitFor<K extends SiteEventType>(
    type: K,
    match: (e: Extract<SiteEvent, { type: K }>) => boolean = () => true,
    timeoutMs = 60_000,
  ): Promise<Extract<SiteEvent, { type: K }>> {
    const test = (e: SiteEvent) => e.type === type && match(e as Extract<SiteEvent, { type: K }>);
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen as Extract<SiteEvent, { type: K }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no ${type} event within ${timeoutMs} ms; seen: ${this.events.map((e) => e.type).join(", ")}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match: test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Extract<SiteEvent, { type: K }>);
        },
      });
    });
  }
}

/** Resolves once `check` resolves true, looking every 50 ms; rejects after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
