import { existsSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../../errors";
import {
  connectContracts,
  deployFedledger,
  deploymentPath,
  loadDeployment,
  saveDeployment,
  devAccountAddress,
  isDevChain,
  resolveSigner,
  type ChainConnection,
} from "../../chain";
import {
  addChainOptions,
  addSignerOptions,
  withConnection,
  type ChainFlags,
  type SignerFlags,
} from "./chainOptions";
import { parseAddressList, parseInteger } from "./inputs";
import { printFields, printJson } from "./output";

interface DeployOptions extends ChainFlags, SignerFlags {
  quorum: string;
  admins?: string;
  force?: boolean;
  json?: boolean;
}

/**
 * Whether `file` already describes a deployment that is live on this chain (same chain id and deployment block,
 * code at both addresses, the ledger bound to the registry). A stale file (after a chain restart) may be
 * replaced without --force.
 */
async function isLiveDeployment(file: string, connection: ChainConnection): Promise<boolean> {
  if (!existsSync(file)) return false;
  try {
    const deployment = await loadDeployment(file);
    await connectContracts({ deployment, connection, onWarning: () => undefined });
    return true;
  } catch {
    return false;
  }
}

/** Registers `fedledger deploy`. */
export function registerDeployCommand(program: Command): void {
  const deploy = program
    .command("deploy")
    .description("deploy ConsortiumRegistry and TrainingLedger and write the deployment file")
    .option("--quorum <k>", "admin approvals a registry change needs", "2")
    .option(
      "--admins <addresses>",
      "comma-separated admin addresses (default: the deployer, plus admin2 and admin3 on the embedded chain)",
    )
    .option("--force", "replace a deployment file that still points at live contracts")
    .option("--json", "print the deployment record as JSON")
    .addHelpText("after", "\nExample:\n  fedledger deploy --dev-account admin1 --quorum 2");
  addSignerOptions(addChainOptions(deploy, { readsDeployment: false })).action(
    async (opts: DeployOptions) => {
      const file = deploymentPath(opts.deployment);
      const explicitAdmins =
        opts.admins === undefined ? undefined : parseAddressList(opts.admins, "--admins");
      const quorum = parseInteger(opts.quorum, "--quorum", 1, 255);
      await withConnection(opts, async (connection) => {
        if (!opts.force && (await isLiveDeployment(file, connection)))
          throw new UsageError(
            `${file} already holds a deployment whose contracts are live on this chain`,
            "Pass --force to replace it, or --deployment <other file>",
          );
        const signer = await resolveSigner(opts, connection.provider, connection.chainId);
        const deployer = await signer.getAddress();
        const admins =
          explicitAdmins ??
          [
            deployer,
            ...(isDevChain(connection.chainId)
              ? [devAccountAddress("admin2"), devAccountAddress("admin3")]
              : []),
          ].filter((address, i, list) => list.indexOf(address) === i);
        const deployment = await deployFedledger({ signer, admins, quorum, rpc: connection.url });
        await saveDeployment(file, deployment);
        if (opts.json) {
          printJson({ ...deployment, deploymentFile: file });
          return;
        }
        printFields([
          ["registry", deployment.registry],
          ["ledger", deployment.ledger],
          ["chain id", deployment.chainId],
          ["block", deployment.deployBlock],
          ["deployer", deployment.deployer],
          ["admins", deployment.admins.join(", ")],
          ["quorum", deployment.quorum],
          ["written to", file],
        ]);
      });
    },
  );
}
