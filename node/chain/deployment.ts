import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { UsageError } from "../errors";
import { readJsonFile } from "../jsonFile";

/** Environment variable naming the deployment file. */
export const DEPLOYMENT_ENV = "FEDLEDGER_DEPLOYMENT";

/** Deployment file used when neither --deployment nor FEDLEDGER_DEPLOYMENT is given (relative to the cwd). */
export const DEFAULT_DEPLOYMENT_PATH = path.join(".fedledger", "deployment.json");

const address = z
  .string()
  .refine((value) => isAddress(value), { message: "not an address" })
  .transform((value) => getAddress(value));

/** Schema of the deployment file written by `fedledger deploy`. */
export const deploymentSchema = z.object({
  chainId: z.number().int().positive(),
  rpc: z.string().min(1),
  registry: address,
  ledger: address,
  deployBlock: z.number().int().nonnegative(),
  /**
   * Hash of block `deployBlock`, which identifies the chain the deployment was made on. Files written before
   * fedledger recorded it lack it; they are still read, with a warning (see checkDeployment).
   */
  deployBlockHash: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, "not a 32-byte block hash")
    .optional(),
  deployer: address,
  quorum: z.number().int().min(1).max(255),
  admins: z.array(address).min(1),
  deployedAt: z.string().min(1),
});

/** Where the consortium's contracts live on which chain: the contents of the deployment file. */
export type Deployment = z.infer<typeof deploymentSchema>;

/**
 * The deployment file to use: `given` (the --deployment flag) when set, else FEDLEDGER_DEPLOYMENT, else
 * `.fedledger/deployment.json` in the current directory.
 */
export function deploymentPath(given?: string): string {
  return given ?? process.env[DEPLOYMENT_ENV] ?? DEFAULT_DEPLOYMENT_PATH;
}

function missingHint(): string {
  return "Run `fedledger deploy` first or pass --deployment";
}

/**
 * Reads and validates a deployment file. Throws a UsageError with a one-line message when the file is
 * missing or malformed.
 *
 * @example
 * const deployment = await loadDeployment(deploymentPath());
 * console.log(deployment.registry);
 */
export async function loadDeployment(file: string): Promise<Deployment> {
  const json = await readJsonFile(file, "the deployment file", {
    missingMessage: `no deployment found at ${file}`,
    missing: missingHint(),
    invalid: missingHint(),
  });
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new UsageError(
      `the deployment file ${file} is malformed: ${where}: ${issue.message}`,
      missingHint(),
    );
  }
  return parsed.data;
}

/**
 * Writes a deployment file (pretty JSON), creating its folder. The write goes through a temporary file and a
 * rename, so readers never see half a file.
 */
export async function saveDeployment(file: string, deployment: Deployment): Promise<void> {
  const checked = deploymentSchema.parse(deployment);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(checked, null, 2)}\n`);
  await rename(temporary, file);
}
