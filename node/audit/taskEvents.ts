/**
 * A task's history as the ledger's events tell it, read in one query per event type (TaskCreated,
 * RoundOpened, UpdateCommitted, RoundFinalized, RoundAborted, RoundUnmasked), each filtered by the task id topic over one
 * block range.
 */
import type { TrainingLedger } from "../../typechain-types";
import type { TaskParameters } from "../chain";
import { queryRange } from "./queryRange";

/** Where an event was emitted. */
export interface EventPosition {
  blockNumber: number;
  /** The log's index in its block. */
  logIndex: number;
  transactionHash: string;
}

/** TaskCreated. */
export interface TaskRecord extends EventPosition, TaskParameters {
  taskId: bigint;
  creator: string;
}

/** RoundOpened. */
export interface OpenedRecord extends EventPosition {
  round: number;
  baseModelHash: string;
  deadline: number;
}

/** UpdateCommitted. */
export interface CommitRecord extends EventPosition {
  round: number;
  site: string;
  updateHash: string;
  numSamples: bigint;
  metricsHash: string;
}

/** RoundFinalized. */
export interface FinalizedRecord extends EventPosition {
  round: number;
  modelHash: string;
  parentModelHash: string;
  updatesRoot: string;
  includedCount: number;
  metricsHash: string;
}

/** RoundAborted. */
export interface AbortedRecord extends EventPosition {
  round: number;
  commitCount: number;
  reason: number;
}

/** Every event of one task in a block range, by round. */
export interface TaskEvents {
  /** The TaskCreated event, or undefined when the range does not hold it. */
  created: TaskRecord | undefined;
  opened: Map<number, OpenedRecord>;
  /** Commits per round, in the order they were mined. */
  commits: Map<number, CommitRecord[]>;
  finalized: Map<number, FinalizedRecord>;
  aborted: Map<number, AbortedRecord>;
  /** Secure aggregation: the unmasking material's hash of each round finalised from masked updates. */
  unmasked: Map<number, string>;
}

function position(log: { blockNumber: number; index: number; transactionHash: string }): EventPosition {
  return { blockNumber: log.blockNumber, logIndex: log.index, transactionHash: log.transactionHash };
}

/**
 * Reads the events of task `taskId` from `fromBlock` to `toBlock` (inclusive): six filtered queries, run
 * together, each split only if the node refuses its range.
 *
 * @example
 * const events = await readTaskEvents(ledger, 1n, task.createdAtBlock, provenance.recordedAtBlock);
 * events.finalized.get(3)?.modelHash;
 */
export async function readTaskEvents(
  ledger: TrainingLedger,
  taskId: bigint,
  fromBlock: number,
  toBlock: number,
): Promise<TaskEvents> {
  const f = ledger.filters;
  const [created, opened, committed, finalized, aborted, unmasked] = await Promise.all([
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.TaskCreated(taskId), a, b)),
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.RoundOpened(taskId), a, b)),
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.UpdateCommitted(taskId), a, b)),
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.RoundFinalized(taskId), a, b)),
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.RoundAborted(taskId), a, b)),
    queryRange(fromBlock, toBlock, (a, b) => ledger.queryFilter(f.RoundUnmasked(taskId), a, b)),
  ]);
  const events: TaskEvents = {
    created: undefined,
    opened: new Map(),
    commits: new Map(),
    finalized: new Map(),
    aborted: new Map(),
    unmasked: new Map(),
  };
  const first = created[0];
  if (first) {
    const a = first.args;
    events.created = {
      ...position(first),
      taskId: a.taskId,
      creator: a.creator,
      specHash: a.specHash,
      genesisModelHash: a.genesisModelHash,
      aggregationRule: Number(a.aggregationRule),
      minSitesPerRound: Number(a.minSitesPerRound),
      commitWindowSeconds: Number(a.commitWindowSeconds),
      roundsPlanned: Number(a.roundsPlanned),
    };
  }
  for (const log of opened) {
    const a = log.args;
    events.opened.set(Number(a.round), {
      ...position(log),
      round: Number(a.round),
      baseModelHash: a.baseModelHash,
      deadline: Number(a.deadline),
    });
  }
  const sorted = [...committed].sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index);
  for (const log of sorted) {
    const a = log.args;
    const round = Number(a.round);
    const list = events.commits.get(round) ?? [];
    list.push({
      ...position(log),
      round,
      site: a.site,
      updateHash: a.updateHash,
      numSamples: a.numSamples,
      metricsHash: a.metricsHash,
    });
    events.commits.set(round, list);
  }
  for (const log of finalized) {
    const a = log.args;
    events.finalized.set(Number(a.round), {
      ...position(log),
      round: Number(a.round),
      modelHash: a.modelHash,
      parentModelHash: a.parentModelHash,
      updatesRoot: a.updatesRoot,
      includedCount: Number(a.includedCount),
      metricsHash: a.metricsHash,
    });
  }
  for (const log of aborted) {
    const a = log.args;
    events.aborted.set(Number(a.round), {
      ...position(log),
      round: Number(a.round),
      commitCount: Number(a.commitCount),
      reason: Number(a.reason),
    });
  }
  for (const log of unmasked) events.unmasked.set(Number(log.args.round), log.args.unmaskingHash);
  return events;
}
