import { ZeroAddress, getAddress, isAddress, type AbstractSigner } from "ethers";
import { UsageError } from "../errors";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { Deployment } from "./deployment";
import { waitForReceipt } from "./transactions";

/** Options of {@link deployFedledger}. */
export interface DeployFedledgerParameters {
  /** Pays for and sends both deployments; must be connected to a provider. */
  signer: AbstractSigner;
  /** The consortium's admins (at least `quorum` of them, no duplicates, no zero address). */
  admins: string[];
  /** Number of admin approvals a registry change needs. */
  quorum: number;
  /** RPC URL recorded in the deployment file. */
  rpc: string;
  /** Confirmations to wait for per deployment (1 by default). */
  confirmations?: number;
}

/**
 * Checks an admin list and quorum the way the ConsortiumRegistry constructor will, so mistakes surface as a
 * UsageError before any gas is spent. Returns the admins checksummed.
 */
export function checkAdminsAndQuorum(admins: string[], quorum: number): string[] {
  if (admins.length === 0) throw new UsageError("the admin list is empty", "Pass --admins 0x…,0x…");
  const checked = admins.map((admin) => {
    if (!isAddress(admin))
      throw new UsageError(`invalid admin address "${admin}"`, "Pass 0x-prefixed addresses");
    const address = getAddress(admin);
    if (address === ZeroAddress) throw new UsageError("the zero address cannot be an admin");
    return address;
  });
  const duplicate = checked.find((address, i) => checked.indexOf(address) !== i);
  if (duplicate) throw new UsageError(`admin ${duplicate} is listed twice`);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > checked.length || quorum > 255)
    throw new UsageError(
      `quorum ${quorum} is invalid for ${checked.length} admin(s)`,
      `Pass --quorum between 1 and ${Math.min(checked.length, 255)}, or more --admins`,
    );
  return checked;
}

/**
 * Deploys ConsortiumRegistry (with the admins and quorum) and TrainingLedger (bound to that registry), waits
 * for both receipts, and returns the record to save as the deployment file, with the number and hash of the
 * registry's deployment block (which later commands compare to tell whether they are on the same chain).
 *
 * @example
 * const deployment = await deployFedledger({ signer, admins: [a1, a2, a3], quorum: 2, rpc });
 * await saveDeployment(deploymentPath(), deployment);
 */
export async function deployFedledger(params: DeployFedledgerParameters): Promise<Deployment> {
  const admins = checkAdminsAndQuorum(params.admins, params.quorum);
  const provider = params.signer.provider;
  if (!provider) throw new Error("deployFedledger needs a signer connected to a provider");
  const confirmations = params.confirmations ?? 1;
  const deployer = await params.signer.getAddress();

  const registry = await new ConsortiumRegistry__factory(params.signer).deploy(admins, params.quorum);
  const registryTx = registry.deploymentTransaction();
  const registryReceipt = registryTx ? await waitForReceipt(registryTx, confirmations) : null;
  const registryAddress = await registry.getAddress();

  const ledger = await new TrainingLedger__factory(params.signer).deploy(registryAddress);
  const ledgerTx = ledger.deploymentTransaction();
  if (ledgerTx) await waitForReceipt(ledgerTx, confirmations);

  const { chainId } = await provider.getNetwork();
  const deployBlock = registryReceipt?.blockNumber ?? (await provider.getBlockNumber());
  const deployBlockHash = registryReceipt?.blockHash ?? (await provider.getBlock(deployBlock))?.hash;
  if (!deployBlockHash) throw new Error(`the chain returned no hash for the deployment block ${deployBlock}`);
  return {
    chainId: Number(chainId),
    rpc: params.rpc,
    registry: registryAddress,
    ledger: await ledger.getAddress(),
    deployBlock,
    deployBlockHash,
    deployer,
    quorum: params.quorum,
    admins,
    deployedAt: new Date().toISOString(),
  };
}
