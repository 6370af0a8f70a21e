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
import { describeChainError } from "./describeChainError";
import { CONFIG_SIGNER_NAMES, resolveSigner, type SignerFieldNames } from "./signer";

/** Parameters of {@link openLedger}: a config's ledger fields and its signer section (paths absolute). */
export interface OpenLedgerParameters {
  /**
   * Where the ledger is. With a deployment file, the file is checked against the chain (checkDeployment); with
   * addresses, each must hold code, and a ledger given without its registry names the registry itself.
   */
  source: LedgerSourceConfig;
  /** The signing key; without it the contracts are read-only. */
  signer?: SignerConfig;
  /** How messages name the signer's fields (config fields by default; CLI flags for commands). */
  signerNames?: SignerFieldNames;
  /** Receives warnings about an old deployment file (see checkDeployment); default: stderr. */
  onWarning?: (message: string) => void;
}

/** What {@link openLedger} returns. Call `close()` when done. */
export interface OpenLedgerReturnType {
  connection: ChainConnection;
  provider: JsonRpcProvider;
  chainId: number;
  /** The deployment file's contents, when the config names one. */
  deployment?: Deployment;
  /** The unlocked signer, connected to the provider (when one was asked for). */
  signer?: BaseWallet;
  /** The TrainingLedger, connected to the signer (read-only without one). */
  ledger: TrainingLedger;
  /** The ConsortiumRegistry (connected to the signer when a deployment file names it, else read-only). */
  registry: ConsortiumRegistry;
  close(): void;
}

/** {@link OpenLedgerReturnType} when a signer was given. */
export type OpenSigningLedgerReturnType = OpenLedgerReturnType & { signer: BaseWallet };

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
export async function openLedger(
  params: OpenLedgerParameters & { signer: SignerConfig },
): Promise<OpenSigningLedgerReturnType>;
export async function openLedger(params: OpenLedgerParameters): Promise<OpenLedgerReturnType>;
export async function openLedger(params: OpenLedgerParameters): Promise<OpenLedgerReturnType> {
  const { source } = params;
  const deployment = source.deployment ? await loadDeployment(source.deployment) : undefined;
  // Only a chain id the caller names is checked here; a deployment's own is checked by checkDeployment, whose
  // message says which file is stale.
  const connection = await connectChain({
    rpc: source.rpc ?? deployment?.rpc ?? DEFAULT_RPC_URL,
    chainId: source.chainId,
  });
  const { provider, chainId } = connection;
  try {
    const signer = params.signer
      ? await resolveSigner(params.signer, provider, chainId, params.signerNames ?? CONFIG_SIGNER_NAMES)
      : undefined;
    let ledger: TrainingLedger;
    let registry: ConsortiumRegistry;
    if (deployment) {
      const c = await connectContracts({
        deployment,
        connection,
        signer,
        deploymentFile: source.deployment,
        onWarning: params.onWarning,
      });
      ledger = c.ledger;
      registry = c.registry;
    } else {
      ledger = TrainingLedger__factory.connect(
        await hasCode(connection, "ledger", source.ledger),
        signer ?? provider,
      );
      const registryAddress = source.registry ?? (await registryOf(ledger));
      registry = ConsortiumRegistry__factory.connect(
        await hasCode(connection, "registry", registryAddress),
        provider,
      );
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

async function hasCode(
  connection: ChainConnection,
  name: string,
  address: string | undefined,
): Promise<string> {
  if (address === undefined)
    throw new UsageError(`no ${name} address is given`, 'Give "ledger" and "registry", or a deployment file');
  if ((await connection.provider.getCode(address)) === "0x")
    throw new UsageError(
      `no contract at the ${name} address ${address} on ${connection.url}`,
      'Check "ledger" and "registry" in the config (or --ledger), or use a deployment file',
    );
  return address;
}

/** The registry a TrainingLedger names; a contract that cannot say is not a TrainingLedger. */
async function registryOf(ledger: TrainingLedger): Promise<string> {
  try {
    return await ledger.registry();
  } catch (err) {
    throw new UsageError(
      `the contract at ${String(ledger.target)} does not answer as a TrainingLedger (${describeChainError(err)})`,
      "Pass the TrainingLedger's address",
    );
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
