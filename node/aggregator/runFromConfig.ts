/**
 * Starts an aggregator from a config: connects to the chain and the contracts, unlocks the signer, reads the
 * spec and genesis model, opens the store.
 */
import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { connectChain } from "../chain/connection";
import { connectContracts } from "../chain/contracts";
import { loadDeployment } from "../chain/deployment";
import { readKeystore } from "../chain/keystore";
import { resolvePassword } from "../chain/password";
import { resolveSigner } from "../chain/signer";
import { FedledgerError, UsageError } from "../errors";
import { readModelBytes, readSpecFile } from "../model/files";
import { ContentStore } from "../store";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import { serviceSettings, type AggregatorConfig } from "./config";
import type { Logger } from "./log";
import { runAggregatorOffLedger } from "./runOffLedger";
import { startAggregatorService, type AggregatorService } from "./service";

async function signerFor(
  config: AggregatorConfig,
  provider: Parameters<typeof resolveSigner>[1],
  chainId: number,
) {
  const s = config.signer;
  if ("devAccount" in s) return resolveSigner({ devAccount: s.devAccount }, provider, chainId);
  if (s.passwordEnv !== undefined) {
    const password = process.env[s.passwordEnv];
    if (!password)
      throw new UsageError(`environment variable ${s.passwordEnv} (signer.passwordEnv) is empty or unset`);
    return (await readKeystore(s.keystore, password)).connect(provider);
  }
  const password = await resolvePassword({ passwordFile: s.passwordFile });
  return (await readKeystore(s.keystore, password)).connect(provider);
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
  if (config.offLedger) return runAggregatorOffLedger(config, log);
  const deployment = config.deployment ? await loadDeployment(config.deployment) : undefined;
  const checked = await connectChain({ rpc: config.rpc ?? deployment?.rpc ?? "", chainId: config.chainId });
  checked.provider.destroy();
  // ethers caches identical requests for 250 ms by default; the driver must see the chain as it is right after
  // its own transactions (nonces, round status), so this provider does not cache. Requests made together still
  // go out as one JSON-RPC batch.
  const request = new FetchRequest(checked.url);
  request.timeout = 30_000;
  const network = Network.from(checked.chainId);
  // batchStallTime 0: same-tick requests still share a batch, but no request waits 10 ms (ethers' default) for
  // company; each round makes a few dozen requests in sequence, so the default stall adds up.
  const provider = new JsonRpcProvider(request, network, {
    staticNetwork: network,
    cacheTimeout: -1,
    batchStallTime: 0,
  });
  const connection = { ...checked, provider };
  const signer = await signerFor(config, connection.provider, connection.chainId);
  let ledger, registry;
  if (deployment) {
    const contracts = await connectContracts({
      deployment,
      connection,
      signer,
      deploymentFile: config.deployment,
    });
    ledger = contracts.ledger;
    registry = contracts.registry;
  } else {
    for (const [name, address] of [
      ["ledger", config.ledger as string],
      ["registry", config.registry as string],
    ] as const) {
      if ((await connection.provider.getCode(address)) === "0x")
        throw new FedledgerError(`no contract at the ${name} address ${address} on ${connection.url}`, {
          hint: "Check the addresses in the config, or use a deployment file",
        });
    }
    ledger = TrainingLedger__factory.connect(config.ledger as string, signer);
    registry = ConsortiumRegistry__factory.connect(config.registry as string, connection.provider);
  }
  const [spec, genesis, store] = await Promise.all([
    readSpecFile(config.modelSpec),
    readModelBytes(config.genesisModel),
    ContentStore.open(config.storeDir),
  ]);
  return startAggregatorService({
    ledger,
    registry,
    provider: connection.provider,
    chainId: connection.chainId,
    taskId: config.taskId,
    spec,
    genesis,
    store,
    ...serviceSettings(config),
    log,
  });
}
