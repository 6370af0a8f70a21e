/**
 * Starts an aggregator from a config: opens the ledger the config names (node/chain/openLedger.ts: chain,
 * deployment or addresses, signer), reads the spec and genesis model, opens the store, and starts the service
 * on the on-chain ledger port.
 */
import { openLedger } from "../chain";
import { readModelBytes, readSpecFile } from "../model/files";
import type { ModelSpec } from "../model/spec";
import { ContentStore } from "../store";
import { serviceSettings, type AggregatorConfig } from "./config";
import type { Logger } from "./log";
import { OnChainAggregatorLedger } from "./onChainLedger";
import { startAggregatorService, type AggregatorService } from "./service";

/** What a config names besides the ledger: the task's spec and genesis model, and the store. */
export interface AggregatorInputs {
  spec: ModelSpec;
  genesis: Uint8Array;
  store: ContentStore;
}

/**
 * Reads the model spec and genesis model a config names and opens its content store.
 *
 * @example
 * const { spec, genesis, store } = await loadAggregatorInputs(config);
 */
export async function loadAggregatorInputs(config: AggregatorConfig): Promise<AggregatorInputs> {
  const [spec, genesis, store] = await Promise.all([
    readSpecFile(config.modelSpec),
    readModelBytes(config.genesisModel),
    ContentStore.open(config.storeDir),
  ]);
  return { spec, genesis, store };
}

/**
 * Connects everything a config names and starts the service.
 *
 * @example
 * const service = await runAggregatorFromConfig(await loadAggregatorConfig("aggregator.json"));
 */
export async function runAggregatorFromConfig(
  config: AggregatorConfig,
  log?: Logger,
): Promise<AggregatorService> {
  const opened = await openLedger({ source: config, signer: config.signer });
  try {
    const inputs = await loadAggregatorInputs(config);
    return await startAggregatorService({
      ledger: new OnChainAggregatorLedger(opened.ledger, opened.registry, opened.provider),
      chainId: opened.chainId,
      taskId: config.taskId,
      ...inputs,
      ...serviceSettings(config),
      log,
    });
  } catch (err) {
    opened.close();
    throw err;
  }
}
