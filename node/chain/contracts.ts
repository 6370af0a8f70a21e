import type { AbstractSigner, JsonRpcProvider } from "ethers";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../../typechain-types";
import { checkDeployment } from "./checkDeployment";
import { connectChain, type ChainConnection } from "./connection";
import type { Deployment } from "./deployment";

/** Options of {@link connectContracts}. */
export interface ConnectContractsParameters {
  /** The deployment to connect to (from {@link loadDeployment}). */
  deployment: Deployment;
  /** An open connection; when absent one is opened to `rpc` (default: the deployment's RPC URL). */
  connection?: ChainConnection;
  /** JSON-RPC URL, used when `connection` is absent. */
  rpc?: string;
  /** Expected chain id of `rpc` (see connectChain). */
  chainId?: number;
  /** Signs transactions; without it the contracts are read-only. Connected to the provider if it is not. */
  signer?: AbstractSigner;
  /** The deployment file's path, named in error messages. */
  deploymentFile?: string;
  /** Receives warnings about the deployment (see {@link checkDeployment}); default: stderr. */
  onWarning?: (message: string) => void;
}

/** Typed handles on the deployed contracts. */
export interface FedledgerContracts {
  url: string;
  chainId: number;
  provider: JsonRpcProvider;
  deployment: Deployment;
  /** The signer the contracts use, when one was given. */
  signer?: AbstractSigner;
  /** The signer's address, when one was given. */
  signerAddress?: string;
  registry: ConsortiumRegistry;
  ledger: TrainingLedger;
}

/**
 * Connects TypeChain contract instances to a deployment after checking it with {@link checkDeployment}: the
 * chain is the one the deployment was made on (chain id and deployment block hash), both contracts have code
 * there, and the ledger's registry is the file's registry. A stale deployment (for example, after the embedded
 * chain restarted) or a file whose addresses do not belong together gives a one-line error.
 *
 * @example
 * const { registry, ledger } = await connectContracts({ deployment: await loadDeployment(file) });
 * console.log(await registry.quorum());
 */
export async function connectContracts(params: ConnectContractsParameters): Promise<FedledgerContracts> {
  const { deployment } = params;
  const connection =
    params.connection ?? (await connectChain({ rpc: params.rpc ?? deployment.rpc, chainId: params.chainId }));
  await checkDeployment({
    deployment,
    connection,
    where: params.deploymentFile ? `the deployment at ${params.deploymentFile}` : "the deployment",
    onWarning: params.onWarning,
  });
  const signer =
    params.signer === undefined || params.signer.provider
      ? params.signer
      : params.signer.connect(connection.provider);
  const runner = signer ?? connection.provider;
  return {
    url: connection.url,
    chainId: connection.chainId,
    provider: connection.provider,
    deployment,
    signer,
    signerAddress: signer ? await signer.getAddress() : undefined,
    registry: ConsortiumRegistry__factory.connect(deployment.registry, runner),
    ledger: TrainingLedger__factory.connect(deployment.ledger, runner),
  };
}
