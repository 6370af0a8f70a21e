import type { TrainingLedger } from "../../typechain-types";
import { aggregationRuleName, roundStatusName } from "./vocabulary";

/** A training task as the ledger stores it, with names for coded fields. */
export interface TaskInfo {
  taskId: number;
  creator: string;
  /** Aggregation rule id and its name (1 = fedavg). */
  aggregationRule: number;
  aggregationRuleName: string;
  minSitesPerRound: number;
  commitWindowSeconds: number;
  roundsPlanned: number;
  /** The newest round opened so far (0 before the first). */
  currentRound: number;
  createdAtBlock: number;
  specHash: string;
  genesisModelHash: string;
  /** The model of the newest finalised round, or the genesis model. */
  latestModelHash: string;
}

/** One round of a task. */
export interface RoundInfo {
  round: number;
  /** None, Open, Finalized or Aborted. */
  status: string;
  minSitesPerRound: number;
  commitCount: number;
  includedCount: number;
  /** Unix time (seconds) when the commit window closes. */
  deadline: number;
  openedAtBlock: number;
  baseModelHash: string;
  updatesRoot: string;
  /** The finalised model (zero hash unless Finalized). */
  modelHash: string;
}

/**
 * Reads a task. Reverts (LedgerUnknownTask) for an unknown id.
 *
 * @example
 * const task = await getTaskInfo(ledger, 1n);
 */
export async function getTaskInfo(ledger: TrainingLedger, taskId: bigint): Promise<TaskInfo> {
  const task = await ledger.getTask(taskId);
  return {
    taskId: Number(taskId),
    creator: task.creator,
    aggregationRule: Number(task.aggregationRule),
    aggregationRuleName: aggregationRuleName(task.aggregationRule),
    minSitesPerRound: Number(task.minSitesPerRound),
    commitWindowSeconds: Number(task.commitWindowSeconds),
    roundsPlanned: Number(task.roundsPlanned),
    currentRound: Number(task.currentRound),
    createdAtBlock: Number(task.createdAtBlock),
    specHash: task.specHash,
    genesisModelHash: task.genesisModelHash,
    latestModelHash: task.latestModelHash,
  };
}

/** Reads round `round` of a task (status None when not opened yet). */
export async function getRoundInfo(
  ledger: TrainingLedger,
  taskId: bigint,
  round: number,
): Promise<RoundInfo> {
  const r = await ledger.getRound(taskId, round);
  return {
    round,
    status: roundStatusName(r.status),
    minSitesPerRound: Number(r.minSitesPerRound),
    commitCount: Number(r.commitCount),
    includedCount: Number(r.includedCount),
    deadline: Number(r.deadline),
    openedAtBlock: Number(r.openedAtBlock),
    baseModelHash: r.baseModelHash,
    updatesRoot: r.updatesRoot,
    modelHash: r.modelHash,
  };
}

/** A task with every round opened so far (1 … currentRound). */
export async function getTaskWithRounds(
  ledger: TrainingLedger,
  taskId: bigint,
): Promise<TaskInfo & { rounds: RoundInfo[] }> {
  const task = await getTaskInfo(ledger, taskId);
  const rounds = await Promise.all(
    Array.from({ length: task.currentRound }, (_, i) => getRoundInfo(ledger, taskId, i + 1)),
  );
  return { ...task, rounds };
}
