import { getAddress, isError, type JsonRpcProvider } from "ethers";
import { FedledgerError, UsageError } from "../errors";
import { TrainingLedger__factory } from "../../typechain-types";
import type { ChainConnection } from "./connection";
import type { Deployment } from "./deployment";

/** Options of {@link checkDeployment}. */
export interface CheckDeploymentParameters {
  /** The deployment file's contents. */
  deployment: Deployment;
  /** An open connection to the chain the deployment should be on. */
  connection: ChainConnection;
  /** Names the deployment in messages, e.g. "the deployment at .fedledger/deployment.json". */
  where?: string;
  /**
   * Receives a warning for a deployment file written before deployment block hashes were recorded (it is still
   * used). By default the warning goes to stderr as `warning: …`.
   */
  onWarning?: (message: string) => void;
}

const REDEPLOY_HINT = "Run `fedledger deploy` again or pass the right --deployment";

/**
 * Checks that a deployment file describes contracts that are live on this chain and belong together:
 *
 * - the chain id is the deployment's;
 * - both addresses hold code (else the file is stale: the chain was restarted);
 * - the block the deployment was made in has the hash the file recorded (`deployBlockHash`), so the chain is the
 *   one the deployment was made on and not a restarted or different chain that happens to hold code at the same
 *   addresses; a file without the hash (written by an older fedledger) passes with a warning;
 * - the ledger's `registry()` is the registry the file names (a file with the two addresses swapped, or naming
 *   a contract that is not a TrainingLedger, is refused).
 *
 * The reads go out together, in one JSON-RPC batch. Throws a one-line FedledgerError (exit code 1) when the
 * chain is not the deployment's, and a UsageError (exit code 2) when the file's addresses do not belong
 * together.
 *
 * @example
 * await checkDeployment({ deployment: await loadDeployment(file), connection });
 */
export async function checkDeployment(params: CheckDeploymentParameters): Promise<void> {
  const { deployment, connection } = params;
  const { provider, url } = connection;
  const where = params.where ?? "the deployment";
  if (connection.chainId !== deployment.chainId)
    throw new FedledgerError(
      `${where} is for chain id ${deployment.chainId}, but the chain at ${url} has chain id ${connection.chainId}`,
      { hint: "Point --rpc at the chain it was deployed on, or run `fedledger deploy` for this chain" },
    );

  const [registryCode, ledgerCode, boundRegistry, block] = await Promise.all([
    provider.getCode(deployment.registry),
    provider.getCode(deployment.ledger),
    registryOf(provider, deployment.ledger),
    deployment.deployBlockHash === undefined ? undefined : provider.getBlock(deployment.deployBlock),
  ]);
  for (const [name, address, code] of [
    ["registry", deployment.registry, registryCode],
    ["ledger", deployment.ledger, ledgerCode],
  ] as const) {
    if (code === "0x")
      throw new FedledgerError(
        `no ${name} contract at ${address} on ${url} (${where} is stale; was the chain restarted?)`,
        { hint: REDEPLOY_HINT },
      );
  }

  if (deployment.deployBlockHash === undefined) {
    const warn = params.onWarning ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
    warn(
      `${where} records no deployment block hash (written by an older fedledger), so it cannot be checked to be ` +
        `on the chain it was made on; run \`fedledger deploy\` again to record one`,
    );
  } else if (block?.hash?.toLowerCase() !== deployment.deployBlockHash.toLowerCase()) {
    const found = block?.hash
      ? `block ${deployment.deployBlock} there is ${block.hash}`
      : `it has no block ${deployment.deployBlock}`;
    throw new FedledgerError(
      `the chain at ${url} is not the chain ${where} was made on: ${found}, but the deployment was made in block ` +
        `${deployment.deployBlock} ${deployment.deployBlockHash}`,
      {
        hint: "Point --rpc at the chain it was deployed on; after a chain restart, run `fedledger deploy` again",
      },
    );
  }

  if (boundRegistry === deployment.registry) return;
  if (boundRegistry !== undefined)
    throw new UsageError(
      `${where} does not hold together: the ledger ${deployment.ledger} belongs to the registry ${boundRegistry}, ` +
        `not to the registry ${deployment.registry} the file names`,
      "Check the file's registry and ledger addresses, or run `fedledger deploy` again",
    );
  if ((await registryOf(provider, deployment.registry)) === deployment.ledger)
    throw new UsageError(
      `${where} has the registry and ledger addresses swapped: ${deployment.ledger} is the registry and ` +
        `${deployment.registry} the ledger`,
      "Swap the two addresses back in the file, or run `fedledger deploy` again",
    );
  throw new UsageError(
    `${where} names ${deployment.ledger} as the ledger, but the contract there is not a TrainingLedger (it has ` +
      `no registry())`,
    "Check the file's ledger address, or run `fedledger deploy` again",
  );
}

/**
 * The `registry()` of the contract at `address`, or undefined when it does not answer like a TrainingLedger (the
 * call reverts or returns something else). Other failures, such as a lost connection, are thrown.
 */
async function registryOf(provider: JsonRpcProvider, address: string): Promise<string | undefined> {
  try {
    return getAddress(await TrainingLedger__factory.connect(address, provider).registry());
  } catch (err) {
    if (isError(err, "CALL_EXCEPTION") || isError(err, "BAD_DATA")) return undefined;
    throw err;
  }
}
