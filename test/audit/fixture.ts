/**
 * A real federated history for the audit tests and the audit benchmark: the real contracts on a real chain
 * (in-process Hardhat network or a Hardhat node over JSON-RPC), a real content store on disk, sites that commit
 * and upload signed canonical deltas (seeded random tensors: training is not the point here), and an
 * aggregator that runs a real aggregation rule (FedAvg unless told otherwise) and finalises rounds with real
 * Merkle roots.
 *
 * The aggregator here is a short loop over the same building blocks the aggregator service uses (fedAvg,
 * buildUpdateTree, ContentStore, roundMetricsDocument), so tests can make it misbehave in one precise way.
 */
import type { Signer } from "ethers";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { roundMetricsDocument } from "../../node/aggregator/roundDriver";
import { getRoundInfo } from "../../node/chain/tasks";
import { ROLES } from "../../node/chain/vocabulary";
import { fedAvg } from "../../node/fl/fedavg";
import { getAggregationRule } from "../../node/fl/rules";
import { buildUpdateTree } from "../../node/fl/merkle";
import { metricsHash, type Metrics } from "../../node/fl/metrics";
import { signUpdate } from "../../node/fl/signature";
import { encodeModel, hashModelBytes, type NamedTensor } from "../../node/model/format";
import { Prng } from "../../node/model/prng";
import { canonicalJson as canonicalSpecJson, specHash, type ModelSpec } from "../../node/model/spec";
import { ContentStore, type UploadRecord } from "../../node/store";

/** The accounts that act in a history; every signer must be connected to the chain's provider. */
export interface HistoryActors {
  admin: Signer;
  aggregator: Signer;
  auditor: Signer;
  sites: Signer[];
}

/** One tensor of the models in a history. */
export interface TensorShape {
  name: string;
  shape: number[];
}

/** A deliberate deviation of the aggregator in one round. */
export interface AggregatorTamper {
  round: number;
  /** The aggregator records, weights and puts in the tree this sample count for site `site` (an index). */
  samples?: { site: number; numSamples: bigint };
  /** The aggregator builds the updates root over only these sites (indexes); it still averages every update. */
  rootSites?: number[];
  /** The includedCount the aggregator records instead of the number of updates it averaged. */
  includedCount?: number;
  /** The aggregator averages only these sites' updates (indexes); the root still covers every upload. */
  averagedSites?: number[];
}

/** Options of {@link buildHistory}. */
export interface BuildHistoryOptions {
  actors: HistoryActors;
  storeDir: string;
  /** Rounds to run and finalise (3 by default). */
  rounds?: number;
  /** Tensors of the model (a small two-tensor layout by default). */
  layout?: TensorShape[];
  /** Seed of every random value (1 by default). */
  seed?: number;
  /** Sites (indexes) that commit in a round but whose update the aggregator leaves out. */
  excluded?: (round: number) => number[];
  /** Whether an excluded site's upload still reaches the store (false by default: it never uploaded). */
  excludedUploaded?: boolean;
  tamper?: AggregatorTamper;
  /** Reuse this registry instead of deploying one (a second ledger on the same consortium). */
  registry?: ConsortiumRegistry;
  /** Reuse this ledger (on `registry`) instead of deploying one: the history becomes its next task. */
  ledger?: TrainingLedger;
  /** The task's genesis model (random by default), e.g. the final model of an earlier task. */
  genesisBytes?: Uint8Array;
  /**
   * A round to abort (one site commits, the commit window passes, the aggregator aborts); it counts among the
   * task's rounds and produces no model, and the next round starts from the same base. Needs a Hardhat chain
   * (it moves the chain's clock with evm_increaseTime).
   */
  abortRound?: number;
  /** The task's aggregation rule id, recorded on the chain and run by the aggregator (1, FedAvg, by default). */
  rule?: number;
  /** A rule id to record on the chain instead of `rule` (which the aggregator still runs). */
  recordedRule?: number;
  /**
   * Replaces a site's update bytes in a round (the parent model itself, zeros, a tiny or unusable delta);
   * `honest` is the random delta the site would have sent.
   */
  updateBytes?: (round: number, site: number, honest: Uint8Array, parent: Uint8Array) => Uint8Array;
  /** Runs after every site committed and uploaded, before the aggregator aggregates (e.g. a suspension). */
  beforeAggregation?: (round: number, registry: ConsortiumRegistry) => Promise<void>;
  /**
   * Share of each update's values that are exactly zero, chosen at random per site and round (0 by default),
   * as a site leaves the feature rows of notes it never saw untouched.
   */
  zeroShare?: number;
  /**
   * The task's model spec: its hash is recorded on the chain (instead of a placeholder) and its canonical JSON
   * is put in the store, where the auditor finds it by that hash.
   */
  spec?: ModelSpec;
  /** The metrics site `site` commits in `round`, having committed in `joined` rounds so far (this one included). */
  siteMetrics?: (round: number, site: number, joined: number) => Metrics;
}

/** One site's update in a round. */
export interface HistoryUpdate {
  site: string;
  updateHash: string;
  numSamples: bigint;
  metrics: Metrics;
  bytes: Uint8Array;
}

/** One finalised round. */
export interface HistoryRound {
  round: number;
  parentHash: string;
  modelHash: string;
  modelBytes: Uint8Array;
  updatesRoot: string;
  includedCount: number;
  updates: HistoryUpdate[];
  /** Sites (addresses) whose updates the aggregate used. */
  included: string[];
  /** Seconds the FedAvg rule took, loading the updates from the store as the aggregator does. */
  aggregationSeconds: number;
}

/** A built history. */
export interface History {
  registry: ConsortiumRegistry;
  ledger: TrainingLedger;
  registryAddress: string;
  ledgerAddress: string;
  deployBlock: number;
  chainId: bigint;
  taskId: bigint;
  storeDir: string;
  store: ContentStore;
  siteAddresses: string[];
  genesis: { hash: string; bytes: Uint8Array };
  rounds: HistoryRound[];
  /** The model of the last round. */
  finalModel: { hash: string; bytes: Uint8Array };
}

/** The default model layout: two small float32 tensors. */
export const SMALL_LAYOUT: TensorShape[] = [
  { name: "dense/bias", shape: [4] },
  { name: "dense/kernel", shape: [6, 4] },
];

const HOSPITALS: readonly [string, string, string][] = [
  ["Oslo universitetssykehus", "NO", "nb"],
  ["Karolinska universitetssjukhuset", "SE", "sv"],
  ["Rigshospitalet", "DK", "da"],
  ["Helsingin yliopistollinen sairaala", "FI", "fi"],
  ["Tartu Ülikooli Kliinikum", "EE", "et"],
];

function randomModel(layout: TensorShape[], prng: Prng, scale: number, zeroShare = 0): Uint8Array {
  const tensors: NamedTensor[] = layout.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      data[i] = (prng.next() - 0.5) * scale;
      if (zeroShare > 0 && prng.next() < zeroShare) data[i] = 0;
    }
    return { name: t.name, dtype: "float32", shape: t.shape, data };
  });
  return encodeModel(tensors);
}

async function mined(sent: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await sent).wait();
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/**
 * Deploys the contracts (or a second ledger on `registry`), onboards the sites, creates a task (FedAvg unless
 * `rule` says otherwise) and runs `rounds` rounds: every site commits and uploads, the aggregator averages and
 * finalises.
 *
 * @example
 * const history = await buildHistory({ actors, storeDir: await makeTempDir() });
 * history.finalModel.hash; // recorded on history.ledger
 */
export async function buildHistory(options: BuildHistoryOptions): Promise<History> {
  const { actors } = options;
  const finalised = options.rounds ?? 3;
  const rounds = finalised + (options.abortRound === undefined ? 0 : 1);
  const layout = options.layout ?? SMALL_LAYOUT;
  const rule = options.rule === undefined ? fedAvg : getAggregationRule(options.rule);
  const prng = new Prng(options.seed ?? 1, "audit history");
  const provider = actors.admin.provider;
  if (!provider) throw new Error("the actors must be connected to a provider");
  const adminAddress = await actors.admin.getAddress();
  const siteAddresses = await Promise.all(actors.sites.map((s) => s.getAddress()));

  let registry = options.registry;
  if (!registry) {
    registry = await new ConsortiumRegistry__factory(actors.admin).deploy([adminAddress], 1);
    await registry.waitForDeployment();
    await mined(registry.voteRole(ROLES.aggregator, await actors.aggregator.getAddress(), true));
    await mined(registry.voteRole(ROLES.auditor, await actors.auditor.getAddress(), true));
    for (const [i, site] of siteAddresses.entries()) {
      const [name, country, language] = HOSPITALS[i % HOSPITALS.length];
      await mined(
        registry.proposeSite(
          site,
          name,
          `0x${Buffer.from(country, "ascii").toString("hex")}`,
          language,
          `0x${"00".repeat(31)}${(i + 1).toString(16).padStart(2, "0")}`,
          `0x02${"11".repeat(32)}`,
        ),
      );
    }
  }
  const registryAddress = await registry.getAddress();
  const deployBlock = (await registry.deploymentTransaction()?.wait())?.blockNumber ?? 0;
  const ledger =
    options.ledger?.connect(actors.admin) ??
    (await new TrainingLedger__factory(actors.admin).deploy(registryAddress));
  await ledger.waitForDeployment();
  const ledgerAddress = await ledger.getAddress();
  const { chainId } = await provider.getNetwork();

  const store = await ContentStore.open(options.storeDir);
  const genesisBytes = options.genesisBytes ?? randomModel(layout, prng, 0.2);
  const genesisHash = await store.put(genesisBytes);
  const taskId = (await ledger.taskCount()) + 1n;
  if (options.spec) await store.put(Buffer.from(canonicalSpecJson(options.spec), "utf8"));
  await mined(
    ledger.createTask(
      options.spec ? specHash(options.spec) : hashModelBytes(Buffer.from("audit test task spec")),
      genesisHash,
      options.recordedRule ?? rule.id,
      1,
      3_600,
      rounds,
    ),
  );

  const asAggregator = ledger.connect(actors.aggregator);
  const history: HistoryRound[] = [];
  const joined = actors.sites.map(() => 0);
  let parentHash = genesisHash;
  for (let round = 1; round <= rounds; round++) {
    await mined(asAggregator.openRound(taskId, parentHash));
    if (round === options.abortRound) {
      joined[0] += 1;
      const bytes = randomModel(layout, prng, 0.02);
      const zero = `0x${"00".repeat(32)}`;
      await mined(
        ledger.connect(actors.sites[0]).commitUpdate(taskId, round, hashModelBytes(bytes), 10n, zero),
      );
      await (provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> }).send(
        "evm_increaseTime",
        [3_601],
      );
      await mined(asAggregator.abortRound(taskId, round, 2));
      continue;
    }
    const excluded = new Set(options.excluded?.(round) ?? []);
    const updates: HistoryUpdate[] = [];
    const records: UploadRecord[] = [];
    const parent = (await store.get(parentHash)) as Buffer;
    for (const [i, signer] of actors.sites.entries()) {
      const honest = randomModel(layout, prng, 0.02, options.zeroShare);
      const bytes = options.updateBytes?.(round, i, honest, parent) ?? honest;
      const update: HistoryUpdate = {
        site: siteAddresses[i],
        updateHash: hashModelBytes(bytes),
        numSamples: BigInt(50 + prng.nextInt(450)),
        metrics: { loss: round4(prng.next()), macroF1: round4(prng.next()), numValidation: 100 + i },
        bytes,
      };
      joined[i] += 1;
      if (options.siteMetrics) update.metrics = options.siteMetrics(round, i, joined[i]);
      updates.push(update);
      const mHash = metricsHash(update.metrics);
      await mined(
        ledger.connect(signer).commitUpdate(taskId, round, update.updateHash, update.numSamples, mHash),
      );
      if (excluded.has(i) && !options.excludedUploaded) continue;
      // The aggregator's view of the upload; a tampered sample count enters here.
      const claimed =
        options.tamper?.round === round && options.tamper.samples?.site === i
          ? options.tamper.samples.numSamples
          : update.numSamples;
      const signature = await signUpdate(
        signer,
        { chainId, ledger: ledgerAddress },
        { taskId, round, updateHash: update.updateHash, numSamples: update.numSamples, metricsHash: mHash },
      );
      await store.put(bytes);
      const { record } = await store.putUpload({
        task: taskId.toString(),
        round,
        site: update.site,
        updateHash: update.updateHash,
        numSamples: claimed.toString(),
        metrics: update.metrics,
        metricsHash: mHash,
        signature,
        receivedAt: new Date().toISOString(),
      });
      if (!excluded.has(i)) records.push(record);
    }

    await options.beforeAggregation?.(round, registry);
    const averaged =
      options.tamper?.round === round && options.tamper.averagedSites
        ? records.filter((r) =>
            options.tamper?.averagedSites?.some(
              (i) => siteAddresses[i].toLowerCase() === r.site.toLowerCase(),
            ),
          )
        : records;
    const started = process.hrtime.bigint();
    const modelBytes = await rule.aggregate(
      parent,
      averaged.map((r) => ({
        site: r.site,
        numSamples: BigInt(r.numSamples),
        bytes: async () => (await store.get(r.updateHash)) as Buffer,
      })),
    );
    const aggregationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const modelHash = await store.put(modelBytes);
    const rootRecords =
      options.tamper?.round === round && options.tamper.rootSites
        ? records.filter((r) =>
            options.tamper?.rootSites?.some((i) => siteAddresses[i].toLowerCase() === r.site.toLowerCase()),
          )
        : records;
    const tree = buildUpdateTree(
      rootRecords.map((r) => ({ site: r.site, updateHash: r.updateHash, numSamples: BigInt(r.numSamples) })),
    );
    const info = await getRoundInfo(ledger, taskId, round);
    const mHash = await store.put(
      Buffer.from(roundMetricsDocument(taskId, info, modelHash, tree.root, records), "utf8"),
    );
    const includedCount =
      options.tamper?.round === round && options.tamper.includedCount !== undefined
        ? options.tamper.includedCount
        : records.length;
    await mined(asAggregator.finalizeRound(taskId, round, modelHash, tree.root, includedCount, mHash));
    history.push({
      round,
      parentHash,
      modelHash,
      modelBytes,
      updatesRoot: tree.root,
      includedCount,
      updates,
      included: records.map((r) => r.site),
      aggregationSeconds,
    });
    parentHash = modelHash;
  }
  const last = history[history.length - 1];
  return {
    registry,
    ledger,
    registryAddress,
    ledgerAddress,
    deployBlock,
    chainId,
    taskId,
    storeDir: store.dir,
    store,
    siteAddresses,
    genesis: { hash: genesisHash, bytes: genesisBytes },
    rounds: history,
    finalModel: { hash: last.modelHash, bytes: last.modelBytes },
  };
}
