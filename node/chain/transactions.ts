import type {
  BaseContract,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  LogDescription,
  TransactionReceipt,
  TransactionResponse,
} from "ethers";
import { FedledgerError } from "../errors";
import { sleep } from "../sleep";

/** How often {@link waitForReceipt} asks the node for a receipt, in milliseconds. */
export const RECEIPT_POLL_MS = 100;

/** How long {@link waitForReceipt} waits for a transaction to be mined before giving up (10 minutes). */
export const RECEIPT_TIMEOUT_MS = 600_000;

/** Polls between the checks that the node still knows a transaction it has not mined yet. */
const PRESENCE_CHECK_EVERY = 20;

/**
 * A sent transaction the chain node no longer knows and never mined. A node restarted from saved state forgets
 * the transactions it had not mined yet; sending the same call again is safe.
 */
export class TransactionDroppedError extends FedledgerError {
  constructor(readonly transactionHash: string) {
    super(`transaction ${transactionHash} was dropped by the chain node before it was mined`, {
      hint: "Send it again; a node restarted from saved state forgets the transactions it had not mined",
    });
  }
}

/** Options of {@link waitForReceipt}. */
export interface WaitForReceiptOptions {
  /** Milliseconds between receipt polls ({@link RECEIPT_POLL_MS} by default). */
  pollMs?: number;
  /** Milliseconds before giving up ({@link RECEIPT_TIMEOUT_MS} by default). */
  timeoutMs?: number;
}

/**
 * Waits until a sent transaction is mined, asking the node for its receipt directly every `pollMs`.
 *
 * ethers' own `wait()` learns of new blocks by polling the block number once a second and asks for the
 * receipt only after it has seen a block past the one that holds the transaction, so on a chain with 2-second
 * blocks each write costs about two block times. Asking for the receipt directly costs one block plus at most
 * one poll interval. Once the receipt is there, `tx.wait` is called for it, so a reverted transaction throws
 * the same error as before and a contract transaction gets its decoded receipt.
 *
 * The wait rides out a node that stops answering for a while (a restart): failed polls are retried until the
 * timeout. A transaction the node no longer knows (a node restarted from saved state loses its pending
 * transactions) throws a {@link TransactionDroppedError}, so the caller can send it again.
 *
 * @example
 * const receipt = await waitForReceipt(await ledger.openRound(taskId, base));
 */
export async function waitForReceipt<T extends TransactionResponse>(
  tx: T,
  confirmations = 1,
  options: WaitForReceiptOptions = {},
): Promise<Awaited<ReturnType<T["wait"]>>> {
  const pollMs = options.pollMs ?? RECEIPT_POLL_MS;
  const deadline = Date.now() + (options.timeoutMs ?? RECEIPT_TIMEOUT_MS);
  let missing = 0;
  for (let poll = 1; ; poll++) {
    let receipt: TransactionReceipt | null = null;
    try {
      receipt = await tx.provider.getTransactionReceipt(tx.hash);
      if (receipt === null && poll % PRESENCE_CHECK_EVERY === 0) {
        const known = await tx.provider.getTransaction(tx.hash);
        missing = known === null ? missing + 1 : 0;
        // Asked twice, a few seconds apart: a receipt may land between the two questions of one poll.
        if (missing >= 2 && (await tx.provider.getTransactionReceipt(tx.hash)) === null)
          throw new TransactionDroppedError(tx.hash);
      }
    } catch (err) {
      if (err instanceof FedledgerError) throw err;
      // The node did not answer (restarting, overloaded): poll again until the deadline.
    }
    if (receipt !== null) return (await tx.wait(confirmations)) as Awaited<ReturnType<T["wait"]>>;
    if (Date.now() >= deadline)
      throw new FedledgerError(
        `transaction ${tx.hash} was not mined within ${Math.round((options.timeoutMs ?? RECEIPT_TIMEOUT_MS) / 1000)} s`,
        { hint: "Check that the chain node is running and mining blocks" },
      );
    await sleep(pollMs);
  }
}

/**
 * Waits for a sent contract transaction to be mined and returns its receipt; throws a FedledgerError when the
 * transaction reverted on the chain or was dropped. See {@link waitForReceipt}.
 *
 * @example
 * const receipt = await confirmTransaction(registry.approveSite(operator));
 */
export async function confirmTransaction(
  sent: Promise<ContractTransactionResponse> | ContractTransactionResponse,
  confirmations = 1,
): Promise<ContractTransactionReceipt> {
  const tx = await sent;
  const receipt = await waitForReceipt(tx, confirmations);
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
