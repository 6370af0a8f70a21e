/**
 * When a model is not recorded on the ledger being audited, looks for it on every other contract of the same
 * chain: RoundFinalized has the model hash as an indexed topic, so one eth_getLogs without an address finds
 * any TrainingLedger (of any deployment) that recorded the model as a round's result. Genesis models cannot be
 * found this way (TaskCreated does not index the genesis hash).
 */
import type { Provider } from "ethers";
import { TrainingLedger__factory } from "../../typechain-types";
import { queryRange } from "./queryRange";

/** A RoundFinalized record of the model by another contract. */
export interface RecordElsewhere {
  /** The contract that emitted it. */
  ledger: string;
  taskId: bigint;
  round: number;
  blockNumber: number;
}

/**
 * Finds RoundFinalized events for `modelHash` emitted by contracts other than `ledger`, from `fromBlock`
 * (0 by default) to the latest block.
 *
 * @example
 * const others = await findModelElsewhere(provider, ledgerAddress, modelHash);
 * others[0]?.ledger; // "0x…" when another ledger recorded the model
 */
export async function findModelElsewhere(
  provider: Provider,
  ledger: string,
  modelHash: string,
  fromBlock = 0,
): Promise<RecordElsewhere[]> {
  const iface = TrainingLedger__factory.createInterface();
  const event = iface.getEvent("RoundFinalized");
  const latest = await provider.getBlockNumber();
  const logs = await queryRange(fromBlock, latest, (from, to) =>
    provider.getLogs({ fromBlock: from, toBlock: to, topics: [event.topicHash, null, null, modelHash] }),
  );
  const found: RecordElsewhere[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() === ledger.toLowerCase()) continue;
    let parsed;
    try {
      parsed = iface.parseLog(log);
    } catch {
      parsed = null;
    }
    if (!parsed) continue;
    found.push({
      ledger: log.address,
      taskId: parsed.args.taskId as bigint,
      round: Number(parsed.args.round),
      blockNumber: log.blockNumber,
    });
  }
  return found;
}
