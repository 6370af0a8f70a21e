import type { AbstractSigner, JsonRpcProvider } from "ethers";
import { FedledgerError } from "../errors";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../../typechain-types";
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
 * Connects TypeChain contract instances to a deployment after checking that the chain is the one the
 * deployment was made on and that both contracts have code there. A stale deployment (for example, after the
 * embedded chain restarted) gives a one-line FedledgerError that says to deploy again.
 *
 * @example
 * const { registry, ledger } = await connectContracts({ deployment: await loadDeployment(file) });
 * console.log(await registry.quorum());
 */
export async function connectContracts(params: ConnectContractsParameters): Promise<FedledgerContracts> {
  const { deployment } = params;
  const connection =
    params.connection ?? (await connectChain({ rpc: params.rpc ?? deployment.rpc, chainId: params.chainId }));
  const where = params.deploymentFile ? `the deployment at ${params.deploymentFile}` : "the deployment";
  if (connection.chainId !== deployment.chainId)
    throw new FedledgerError(
      `${where} is for chain id ${deployment.chainId}, but the chain at ${connection.url} has chain id ${connection.chainId}`,
      { hint: "Point --rpc at the chain it was deployed on, or run `fedledger deploy` for this chain" },
    );
  for (const [name, address] of [
    ["registry", deployment.registry],
    ["ledger", deployment.ledger],
  ] as const) {
    const code = await connection.provider.getCode(address);
    if (code === "0x")
      throw new FedledgerError(
        `no ${name} contract at ${address} on ${connection.url} (${where} is stale; was the chain restarted?)`,
        { hint: "Run `fedledger deploy` again or pass the right --deployment" },
      );
  }
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
