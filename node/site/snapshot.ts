/**
 * One look at the chain for one task: the task, its current round, this site's status and the chain time.
 * The calls go out together, so ethers sends them as one JSON-RPC batch; a second call follows only when the
 * current round moved away from the one the caller expected.
 */
import {
  type SiteStatusName,
  getRoundInfo,
  getTaskInfo,
  type RoundInfo,
  type TaskInfo,
  siteStatusName,
} from "../chain";
import type { Provider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";

/** What the site decides on. */
export interface TaskSnapshot {
  task: TaskInfo;
  /** The task's current round; undefined before round 1 is opened. */
  round?: RoundInfo;
  /** This site's status name in the registry (Active, Suspended, …). */
  siteStatus: SiteStatusName;
  /** Unix time of the latest block, in seconds. */
  chainTime: number;
  /**
   * Whether this site has a commit in the current round; read (in the same batch) only when the current round
   * is the expected one, else undefined.
   */
  siteCommitted?: boolean;
  /**
   * The round the caller expected, as the chain has it now, when the current round moved past it (it closed
   * and the next one opened between two looks); undefined otherwise.
   */
  previous?: RoundInfo;
}

/**
 * Reads a task snapshot. `expectedRound` is the round the caller saw last (0 for none); when it is still the
 * current round, everything comes back in one batch.
 *
 * @example
 * const snap = await readTaskSnapshot({ ledger, registry, provider }, 1n, site, 0);
 */
export async function readTaskSnapshot(
  chain: { ledger: TrainingLedger; registry: ConsortiumRegistry; provider: Provider },
  taskId: bigint,
  site: string,
  expectedRound: number,
): Promise<TaskSnapshot> {
  const [task, expected, status, block, committed] = await Promise.all([
    getTaskInfo(chain.ledger, taskId),
    expectedRound > 0 ? getRoundInfo(chain.ledger, taskId, expectedRound) : undefined,
    chain.registry.siteStatus(site),
    chain.provider.getBlock("latest"),
    expectedRound > 0 ? chain.ledger.hasCommitted(taskId, expectedRound, site) : undefined,
  ]);
  let round: RoundInfo | undefined;
  const same = task.currentRound === expectedRound && expected !== undefined;
  if (task.currentRound > 0)
    round = same ? expected : await getRoundInfo(chain.ledger, taskId, task.currentRound);
  return {
    task,
    round,
    siteStatus: siteStatusName(status),
    chainTime: block?.timestamp ?? 0,
    siteCommitted: same ? committed : undefined,
    previous: !same && expected && expected.round !== task.currentRound ? expected : undefined,
  };
}
