import { InvalidArgumentError, Option, type Command } from "commander";
import type { BaseWallet } from "ethers";
import { FedledgerError } from "../../errors";
import {
  connectChain,
  DEFAULT_RPC_URL,
  type ChainConnection,
  type FedledgerContracts,
  deploymentPath,
  type Deployment,
  toFedledgerError,
  openLedger,
  FLAG_SIGNER_NAMES,
} from "../../chain";

/*
 * The flags every chain-facing command shares, and the session they open. Other command modules (site
 * service, aggregator, auditor) can reuse addChainOptions/addSignerOptions and withSession.
 */

/** Values of the connection flags (see {@link addChainOptions}). */
export interface ChainFlags {
  rpc?: string;
  chainId?: number;
  deployment?: string;
}

/** Values of the signer flags (see {@link addSignerOptions}). */
export interface SignerFlags {
  keystore?: string;
  passwordFile?: string;
  devAccount?: string;
}

function parseChainId(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError("expected a positive integer chain id, e.g. 31337.");
  return Number(value);
}

/**
 * Adds --rpc, --chain-id and --deployment (with their environment variables) to a command. Commands that write
 * the deployment file rather than read it (deploy) pass `readsDeployment: false`.
 */
export function addChainOptions(command: Command, { readsDeployment = true } = {}): Command {
  const rpcDefault = readsDeployment ? `the deployment's, else ${DEFAULT_RPC_URL}` : DEFAULT_RPC_URL;
  command
    .addOption(
      new Option("--rpc <url>", `JSON-RPC URL of the chain (default: ${rpcDefault})`).env("FEDLEDGER_RPC"),
    )
    .addOption(
      new Option("--chain-id <id>", "expected chain id; the command stops if the node reports another")
        .env("FEDLEDGER_CHAIN_ID")
        .argParser(parseChainId),
    )
    .addOption(
      new Option(
        "--deployment <file>",
        `deployment file to ${readsDeployment ? "read" : "write"} (default: .fedledger/deployment.json)`,
      ).env("FEDLEDGER_DEPLOYMENT"),
    );
  return command;
}

/** Adds --keystore, --password-file and --dev-account to a command that sends transactions. */
export function addSignerOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--keystore <file>", "encrypted JSON keystore that signs").env("FEDLEDGER_KEYSTORE"),
    )
    .addOption(
      new Option("--password-file <file>", "file holding the keystore password (else FEDLEDGER_PASSWORD)"),
    )
    .addOption(
      new Option(
        "--dev-account <name>",
        "public development account (admin1-3, aggregator, auditor, site1-35); chain id 31337 only",
      ).env("FEDLEDGER_DEV_ACCOUNT"),
    );
}

/** An open connection to the deployed contracts, with the signer when the command needs one. */
export interface Session extends FedledgerContracts {
  /** The deployment file in use. */
  deploymentFile: string;
}

/** A session whose contracts are connected to a signer. */
export interface SigningSession extends Session {
  signer: BaseWallet;
}

/** Opens a read-only session (no signer) and runs `action`; see {@link withSigningSession}. */
export function withSession<T>(flags: ChainFlags, action: (session: Session) => Promise<T>): Promise<T> {
  return openSession(flags, false, action);
}

/**
 * Opens the chain named by the flags, loads and checks the deployment, resolves the signer, runs `action`,
 * and always closes the provider. Errors from ethers become one-line FedledgerErrors with decoded custom
 * errors.
 */
export function withSigningSession<T>(
  flags: ChainFlags & SignerFlags,
  action: (session: SigningSession) => Promise<T>,
): Promise<T> {
  return openSession(flags, true, (session) => action(session as SigningSession));
}

async function openSession<T>(
  flags: ChainFlags & SignerFlags,
  needsSigner: boolean,
  action: (session: Session) => Promise<T>,
): Promise<T> {
  const deploymentFile = deploymentPath(flags.deployment);
  const opened = await openLedger({
    source: { rpc: flags.rpc, chainId: flags.chainId, deployment: deploymentFile },
    signer: needsSigner ? flags : undefined,
    signerNames: FLAG_SIGNER_NAMES,
  }).catch((err: unknown) => {
    throw err instanceof FedledgerError ? err : toFedledgerError(err);
  });
  const session: Session = {
    url: opened.connection.url,
    chainId: opened.chainId,
    provider: opened.provider,
    deployment: opened.deployment as Deployment,
    signer: opened.signer,
    signerAddress: opened.signer?.address,
    registry: opened.registry,
    ledger: opened.ledger,
    deploymentFile,
  };
  try {
    return await action(session);
  } catch (err) {
    if (err instanceof FedledgerError) throw err;
    throw toFedledgerError(err, session);
  } finally {
    opened.close();
  }
}

/**
 * Opens just a chain connection (no deployment), for commands such as `deploy`. Closes it afterwards and turns
 * ethers errors into FedledgerErrors.
 */
export async function withConnection<T>(
  flags: ChainFlags,
  action: (connection: ChainConnection) => Promise<T>,
): Promise<T> {
  const connection = await connectChain({ rpc: flags.rpc ?? DEFAULT_RPC_URL, chainId: flags.chainId });
  try {
    return await action(connection);
  } catch (err) {
    if (err instanceof FedledgerError) throw err;
    throw toFedledgerError(err);
  } finally {
    connection.provider.destroy();
  }
}
