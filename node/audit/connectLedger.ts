/**
 * Opens the ledger an audit reads: a TrainingLedger address (given, or from the deployment file) on a chain
 * reached over JSON-RPC, through the shared start-up (node/chain/openLedger.ts), read-only. Anything that makes the chain or the ledger unusable is an AuditSourceError (exit
 * code 2), so that exit code 1 always means a broken link.
 */
import { getAddress, isAddress, type JsonRpcProvider } from "ethers";
import type { TrainingLedger } from "../../typechain-types";
import { DEFAULT_RPC_URL, deploymentPath, loadDeployment, type Deployment, openLedger } from "../chain";
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
  // A --ledger address overrides the deployment's, which is then not cross-checked (only its RPC URL is used).
  const source =
    address === undefined
      ? { rpc: params.rpc, chainId: params.chainId, deployment: file }
      : { rpc: params.rpc ?? deployment?.rpc ?? DEFAULT_RPC_URL, chainId: params.chainId, ledger: address };
  let opened;
  try {
    opened = await openLedger({ source, onWarning: params.onWarning });
  } catch (err) {
    // Anything that makes the chain or the ledger unusable is a source error (exit code 2), never a verdict.
    if (err instanceof FedledgerError && !(err instanceof AuditSourceError))
      throw new AuditSourceError(err.message, err.hint, err);
    throw err;
  }
  const registry = await opened.registry.getAddress();
  const ledgerAddress = await opened.ledger.getAddress();
  const matches = deployment && deployment.ledger === ledgerAddress && deployment.registry === registry;
  return {
    url: opened.connection.url,
    chainId: opened.chainId,
    provider: opened.provider,
    ledger: opened.ledger,
    registryFromBlock: matches ? (deployment as Deployment).deployBlock : 0,
    close: opened.close,
  };
}
