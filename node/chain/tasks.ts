import { ZeroAddress, type ContractTransactionReceipt } from "ethers";
import { FedledgerError } from "../errors";
import type { TrainingLedger } from "../../typechain-types";
import { confirmTransaction, receiptEvents } from "./transactions";
import { aggregationRuleName, roundStatusName, type RoundStatusName } from "./vocabulary";

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
  status: RoundStatusName;
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

/** What a task is created from: the arguments of `TrainingLedger.createTask`. */
export interface TaskParameters {
  specHash: string;
  genesisModelHash: string;
  /** Aggregation rule id (1 = fedavg). */
  aggregationRule: number;
  minSitesPerRound: number;
  commitWindowSeconds: number;
  roundsPlanned: number;
}

/** What one admin's vote on a task proposal led to, read from the transaction's events. */
export interface TaskVoteResult {
  proposalId: string;
  /** Approvals counted with this vote, and the quorum they count toward. */
  approvals: number;
  quorum: number;
  /** The task this vote created (it reached the quorum), else undefined: the proposal is pending. */
  taskId?: bigint;
  transaction: string;
  block: number;
}

/** A pending task proposal as the ledger stores it. */
export interface TaskProposalInfo extends TaskParameters {
  proposalId: string;
  proposer: string;
  approvals: number;
  /**
   * False when the admins or the quorum changed since the proposal: its approvals lapsed and it can no longer be
   * approved (propose it again).
   */
  current: boolean;
}

function voteResult(ledger: TrainingLedger, receipt: ContractTransactionReceipt): TaskVoteResult {
  const [vote] = receiptEvents(receipt, ledger, "TaskApproved");
  if (!vote) throw new FedledgerError(`transaction ${receipt.hash} recorded no TaskApproved event`);
  const taskId = vote.args.taskId as bigint;
  return {
    proposalId: vote.args.proposalId as string,
    approvals: Number(vote.args.approvals),
    quorum: Number(vote.args.quorum),
    taskId: taskId === 0n ? undefined : taskId,
    transaction: receipt.hash,
    block: receipt.blockNumber,
  };
}

/** The task's fields in the order createTask and taskProposalId take them. */
function taskArguments(p: TaskParameters) {
  return [
    p.specHash,
    p.genesisModelHash,
    p.aggregationRule,
    p.minSitesPerRound,
    p.commitWindowSeconds,
    p.roundsPlanned,
  ] as const;
}

/**
 * Proposes a task with the signer of `ledger` and counts that admin's approval (`TrainingLedger.createTask`).
 * At quorum 1, or when this approval completes a pending proposal of the same parameters, the task is created
 * and `taskId` is set; otherwise other admins approve `proposalId` with {@link approveTask}.
 *
 * @example
 * const vote = await proposeTask(ledger.connect(admin1), params);
 * if (vote.taskId === undefined) await approveTask(ledger.connect(admin2), vote.proposalId);
 */
export async function proposeTask(ledger: TrainingLedger, params: TaskParameters): Promise<TaskVoteResult> {
  const receipt = await confirmTransaction(ledger.createTask(...taskArguments(params)));
  return voteResult(ledger, receipt);
}

/**
 * Approves pending task proposal `proposalId` with the signer of `ledger`; the approval that reaches the quorum
 * creates the task (`taskId` is then set).
 *
 * @example
 * const { taskId } = await approveTask(ledger.connect(admin2), proposalId);
 */
export async function approveTask(ledger: TrainingLedger, proposalId: string): Promise<TaskVoteResult> {
  return voteResult(ledger, await confirmTransaction(ledger.approveTask(proposalId)));
}

/**
 * Reads a pending task proposal; undefined when none with this id is pending (never made, or already carried
 * out).
 *
 * @example
 * const proposal = await getTaskProposal(ledger, proposalId);
 */
export async function getTaskProposal(
  ledger: TrainingLedger,
  proposalId: string,
): Promise<TaskProposalInfo | undefined> {
  const p = await ledger.getTaskProposal(proposalId);
  if (p.proposer === ZeroAddress) return undefined;
  const params: TaskParameters = {
    specHash: p.specHash,
    genesisModelHash: p.genesisModelHash,
    aggregationRule: Number(p.aggregationRule),
    minSitesPerRound: Number(p.minSitesPerRound),
    commitWindowSeconds: Number(p.commitWindowSeconds),
    roundsPlanned: Number(p.roundsPlanned),
  };
  const currentId = await ledger.taskProposalId(...taskArguments(params));
  return {
    proposalId,
    proposer: p.proposer,
    approvals: Number(p.ballot.approvals),
    current: currentId === proposalId,
    ...params,
  };
}
