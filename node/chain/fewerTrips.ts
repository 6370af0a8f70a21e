/**
 * Sending a contract transaction in fewer JSON-RPC round trips. Left to itself, an ethers signer asks the node
 * for the nonce, then the gas estimate, then the fee data, one after the other, before it sends. Here the three
 * questions go out together (one JSON-RPC batch), so a transaction costs three round trips (those answers, the
 * send, the receipt) instead of five. On a node that shares its cores with training, each round trip saved is
 * worth 10–20 ms on a round's critical path.
 */
import type { ContractTransactionResponse, Signer } from "ethers";

/** The transaction fields {@link sendInFewerTrips} fills in for the send. */
export interface PreparedFields {
  nonce: number;
  gasLimit: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  gasPrice?: bigint;
}

/**
 * Asks for the nonce, the gas estimate and the fee data together, then sends with those fields. `estimate`
 * must estimate exactly what `send` sends (same method and arguments); a transaction that would revert throws
 * from `estimate`, with the revert data, as it would from a plain send.
 *
 * @example
 * const tx = await sendInFewerTrips(
 *   signer,
 *   () => ledger.openRound.estimateGas(taskId, base),
 *   (fields) => ledger.openRound(taskId, base, fields),
 * );
 */
export async function sendInFewerTrips(
  signer: Signer,
  estimate: () => Promise<bigint>,
  send: (fields: PreparedFields) => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionResponse> {
  const provider = signer.provider;
  if (!provider) throw new Error("the signer has no provider to send transactions through");
  const [nonce, gasLimit, fees] = await Promise.all([
    signer.getNonce("pending"),
    estimate(),
    provider.getFeeData(),
  ]);
  const fields: PreparedFields = { nonce, gasLimit };
  if (fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null) {
    fields.maxFeePerGas = fees.maxFeePerGas;
    fields.maxPriorityFeePerGas = fees.maxPriorityFeePerGas;
  } else if (fees.gasPrice !== null) fields.gasPrice = fees.gasPrice;
  return send(fields);
}
