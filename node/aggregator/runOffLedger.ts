/**
 * Starts an aggregator from a config with `offLedger` set: the task runs in memory (OffChainLedger) and nothing
 * talks to a chain. Benchmarks use it to measure what the ledger costs (`npm run bench:round`).
 */
import { loadDeployment } from "../chain/deployment";
import { devAccountAddress, isDevChain } from "../chain/devAccounts";
import { readKeystore } from "../chain/keystore";
import { resolvePassword } from "../chain/password";
import { UsageError } from "../errors";
import { readModelBytes, readSpecFile } from "../model/files";
import { hashModelBytes } from "../model/format";
import { specHash } from "../model/spec";
import { ContentStore } from "../store";
import { serviceSettings, type AggregatorConfig } from "./config";
import type { Logger } from "./log";
import { OffChainLedger } from "./offChainLedger";
import { startAggregatorService, type AggregatorService } from "./service";

async function aggregatorAddress(config: AggregatorConfig, chainId: number): Promise<string> {
  const s = config.signer;
  if ("devAccount" in s) {
    if (!isDevChain(chainId))
      throw new UsageError(`dev account ${s.devAccount} is refused on chain id ${chainId}`, "Use a keystore");
    return devAccountAddress(s.devAccount);
  }
  const password =
    s.passwordEnv !== undefined
      ? (process.env[s.passwordEnv] ?? "")
      : await resolvePassword({ passwordFile: s.passwordFile });
  return (await readKeystore(s.keystore, password)).address;
}

/**
 * Runs the aggregator of `config` (which must have `offLedger`) without a chain.
 *
 * @example
 * const service = await runAggregatorOffLedger(await loadAggregatorConfig("bench-aggregator.json"));
 */
export async function runAggregatorOffLedger(
  config: AggregatorConfig,
  log?: Logger,
): Promise<AggregatorService> {
  const off = config.offLedger;
  if (!off) throw new UsageError("the config has no offLedger section");
  const deployment = config.deployment ? await loadDeployment(config.deployment) : undefined;
  const chainId = config.chainId ?? deployment?.chainId;
  const ledgerAddress = config.ledger ?? deployment?.ledger;
  if (chainId === undefined || ledgerAddress === undefined)
    throw new UsageError("offLedger needs a deployment file, or chainId and the ledger address");
  const [spec, genesis, store, aggregator] = await Promise.all([
    readSpecFile(config.modelSpec),
    readModelBytes(config.genesisModel),
    ContentStore.open(config.storeDir),
    aggregatorAddress(config, chainId),
  ]);
  const ledgerPort = new OffChainLedger({
    task: {
      taskId: config.taskId,
      specHash: specHash(spec),
      genesisModelHash: hashModelBytes(genesis),
      minSitesPerRound: off.minSitesPerRound,
      commitWindowSeconds: off.commitWindowSeconds,
      roundsPlanned: off.roundsPlanned,
      aggregationRule: off.aggregationRule,
    },
    sites: off.sites,
    aggregator,
    ledgerAddress,
  });
  return startAggregatorService({
    ledgerPort,
    chainId,
    taskId: config.taskId,
    spec,
    genesis,
    store,
    ...serviceSettings(config),
    log,
  });
}
