/**
 * The start-up every service shares: the ledger section of a config (ledgerConfig.ts) becomes a checked chain
 * connection, an unlocked signer connected to it, and the two contracts. The aggregator and the site call it;
 * the audit and the CLI commands, which take flags and open read-only sessions, build on the same parts
 * (connectChain, checkDeployment, resolveSigner).
 */
import type { BaseWallet, JsonRpcProvider } from "ethers";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../../typechain-types";
import { UsageError } from "../errors";
import { connectChain, DEFAULT_RPC_URL, type ChainConnection } from "./connection";
import { connectContracts } from "./contracts";
import { loadDeployment, type Deployment } from "./deployment";
import type { LedgerSourceConfig, SignerConfig } from "./ledgerConfig";
import { CONFIG_SIGNER_NAMES, resolveSigner } from "./signer";

/** Parameters of {@link openLedger}: a config's ledger fields and its signer section (paths absolute). */
export interface OpenLedgerParameters {
  source: LedgerSourceConfig;
  signer: SignerConfig;
}

/** What {@link openLedger} returns. Call `close()` when done. */
export interface OpenLedgerReturnType {
  connection: ChainConnection;
  provider: JsonRpcProvider;
  chainId: number;
  /** The deployment file's contents, when the config names one. */
  deployment?: Deployment;
  /** The unlocked signer, connected to the provider. */
  signer: BaseWallet;
  /** The TrainingLedger, connected to the signer. */
  ledger: TrainingLedger;
  /** The ConsortiumRegistry (connected to the signer when a deployment file names it, else read-only). */
  registry: ConsortiumRegistry;
  close(): void;
}

/**
 * Connects what a config's ledger and signer sections name: the chain (reachable, with the expected chain id),
 * the deployment (checked against the chain, see checkDeployment) or the two addresses (each must hold code),
 * and the signer (keystore or dev account). Each failure is one FedledgerError naming the field to fix; the
 * provider is closed on failure.
 *
 * @example
 * const opened = await openLedger({ source: config, signer: config.signer });
 * try { console.log(await opened.ledger.taskCount()); } finally { opened.close(); }
 */
export async function openLedger(params: OpenLedgerParameters): Promise<OpenLedgerReturnType> {
  const { source } = params;
  const deployment = source.deployment ? await loadDeployment(source.deployment) : undefined;
  const connection = await connectChain({
    rpc: source.rpc ?? deployment?.rpc ?? DEFAULT_RPC_URL,
    chainId: source.chainId ?? deployment?.chainId,
  });
  const { provider, chainId } = connection;
  try {
    const signer = await resolveSigner(params.signer, provider, chainId, CONFIG_SIGNER_NAMES);
    let ledger: TrainingLedger;
    let registry: ConsortiumRegistry;
    if (deployment) {
      const c = await connectContracts({ deployment, connection, signer, deploymentFile: source.deployment });
      ledger = c.ledger;
      registry = c.registry;
    } else {
      const addresses = { ledger: source.ledger as string, registry: source.registry as string };
      for (const [name, address] of Object.entries(addresses))
        if ((await provider.getCode(address)) === "0x")
          throw new UsageError(
            `no contract at the ${name} address ${address} on ${connection.url}`,
            'Check "ledger" and "registry" in the config, or use a deployment file',
          );
      ledger = TrainingLedger__factory.connect(addresses.ledger, signer);
      registry = ConsortiumRegistry__factory.connect(addresses.registry, provider);
    }
    return {
      connection,
      provider,
      chainId,
      deployment,
      signer,
      ledger,
      registry,
      close: () => provider.destroy(),
    };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}

/**
 * The signature domain a config names (chain id and TrainingLedger address) without reaching a chain: from the
 * config's own fields, else its deployment file. Used where the rounds run without a chain (the off-ledger
 * benchmark), since signatures still name a ledger.
 *
 * @example
 * const { chainId, ledgerAddress } = await ledgerDomain(config);
 */
export async function ledgerDomain(
  source: LedgerSourceConfig,
): Promise<{ chainId: number; ledgerAddress: string }> {
  const deployment = source.deployment ? await loadDeployment(source.deployment) : undefined;
  const chainId = source.chainId ?? deployment?.chainId;
  const ledgerAddress = source.ledger ?? deployment?.ledger;
  if (chainId === undefined || ledgerAddress === undefined)
    throw new UsageError(
      "the config names no signature domain",
      "Give a deployment file, or chainId and the ledger address",
    );
  return { chainId, ledgerAddress };
}
