import type {
  BaseContract,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  LogDescription,
} from "ethers";
import { FedledgerError } from "../errors";

/**
 * Waits for a sent contract transaction to be mined and returns its receipt; throws a FedledgerError when the
 * transaction reverted on the chain or was dropped.
 *
 * @example
 * const receipt = await confirmTransaction(registry.approveSite(operator));
 */
export async function confirmTransaction(
  sent: Promise<ContractTransactionResponse> | ContractTransactionResponse,
  confirmations = 1,
): Promise<ContractTransactionReceipt> {
  const tx = await sent;
  const receipt = await tx.wait(confirmations);
  if (receipt === null) throw new FedledgerError(`transaction ${tx.hash} was not mined`);
  return receipt;
}

/**
 * The events named `name` that `contract` emitted in a receipt, decoded with its ABI (logs of other contracts
 * are skipped).
 *
 * @example
 * const [event] = receiptEvents(receipt, ledger, "TaskCreated");
 * const taskId = event.args.taskId as bigint;
 */
export function receiptEvents(
  receipt: ContractTransactionReceipt,
  contract: BaseContract,
  name: string,
): LogDescription[] {
  const address = String(contract.target).toLowerCase();
  const events: LogDescription[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = contract.interface.parseLog(log);
    if (parsed?.name === name) events.push(parsed);
  }
  return events;
}
