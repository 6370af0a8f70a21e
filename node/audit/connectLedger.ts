/**
 * Opens the ledger an audit reads: a TrainingLedger address (given, or from the deployment file) on a chain
 * reached over JSON-RPC. Anything that makes the chain or the ledger unusable is an AuditSourceError (exit
 * code 2), so that exit code 1 always means a broken link.
 */
import { getAddress, isAddress, type JsonRpcProvider } from "ethers";
import { TrainingLedger__factory, type TrainingLedger } from "../../typechain-types";
import { checkDeployment } from "../chain/checkDeployment";
import { connectChain, DEFAULT_RPC_URL } from "../chain/connection";
import { deploymentPath, loadDeployment, type Deployment } from "../chain/deployment";
import { describeChainError } from "../chain/describeChainError";
import { FedledgerError, UsageError } from "../errors";
import { AuditSourceError } from "./errors";

/** Options of {@link connectLedger}. */
export interface ConnectLedgerParameters {
  /** JSON-RPC URL; default: the deployment's, else http://127.0.0.1:8545. */
  rpc?: string;
  /** Expected chain id. */
  chainId?: number;
  /** Deployment file; read when given, or when `ledger` is not. */
  deployment?: string;
  /** TrainingLedger address; overrides the deployment's (the deployment file is then not cross-checked). */
  ledger?: string;
  /** Receives warnings about an old deployment file (see checkDeployment); default: stderr. */
  onWarning?: (message: string) => void;
}

/** A connected, read-only ledger. Call `close()` when done. */
export interface ConnectedLedger {
  url: string;
  chainId: number;
  provider: JsonRpcProvider;
  ledger: TrainingLedger;
  /** First block worth reading registry events from: the deployment block when the deployment matches. */
  registryFromBlock: number;
  close(): void;
}

/**
 * Connects to the ledger named by the options and checks that a TrainingLedger answers there.
 *
 * @example
 * const target = await connectLedger({ rpc: "http://127.0.0.1:8545", ledger: "0x…" });
 * try { … target.ledger … } finally { target.close(); }
 */
export async function connectLedger(params: ConnectLedgerParameters): Promise<ConnectedLedger> {
  let address: string | undefined;
  if (params.ledger !== undefined) {
    if (!isAddress(params.ledger))
      throw new UsageError(
        `invalid --ledger address "${params.ledger}"`,
        "Pass the TrainingLedger's 0x address",
      );
    address = getAddress(params.ledger);
  }
  let deployment: Deployment | undefined;
  const file = deploymentPath(params.deployment);
  if (params.deployment !== undefined || address === undefined) deployment = await loadDeployment(file);
  const ledgerAddress = address ?? (deployment as Deployment).ledger;
  const rpc = params.rpc ?? deployment?.rpc ?? DEFAULT_RPC_URL;

  let connection;
  try {
    connection = await connectChain({ rpc, chainId: params.chainId });
  } catch (err) {
    if (err instanceof FedledgerError && !(err instanceof UsageError))
      throw new AuditSourceError(err.message, err.hint, err);
    throw err;
  }
  const { provider } = connection;
  try {
    if (deployment && address === undefined) {
      // The same cross-checks as every other command: the chain is the deployment's (id and deployment block
      // hash) and the file's ledger belongs to the file's registry. Any failure is a source error (exit 2).
      try {
        await checkDeployment({
          deployment,
          connection,
          where: `the deployment at ${file}`,
          onWarning: params.onWarning,
        });
      } catch (err) {
        if (err instanceof FedledgerError) throw new AuditSourceError(err.message, err.hint, err);
        throw err;
      }
    }
    const ledger = TrainingLedger__factory.connect(ledgerAddress, provider);
    let registry: string;
    try {
      if ((await provider.getCode(ledgerAddress)) === "0x")
        throw new AuditSourceError(
          `no contract at the ledger address ${ledgerAddress} on ${connection.url}`,
          "Pass the TrainingLedger address with --ledger, or the right --deployment",
        );
      registry = await ledger.registry();
    } catch (err) {
      if (err instanceof FedledgerError) throw err;
      throw new AuditSourceError(
        `the contract at ${ledgerAddress} does not answer as a TrainingLedger (${describeChainError(err)})`,
        "Pass the TrainingLedger address with --ledger",
        err,
      );
    }
    const matches =
      deployment && deployment.ledger === ledgerAddress && deployment.registry === getAddress(registry);
    return {
      url: connection.url,
      chainId: connection.chainId,
      provider,
      ledger,
      registryFromBlock: matches ? (deployment as Deployment).deployBlock : 0,
      close: () => provider.destroy(),
    };
  } catch (err) {
    provider.destroy();
    throw err;
  }
}
