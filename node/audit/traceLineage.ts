/**
 * Follows a model back to its genesis on the chain: the model's provenance record names its task and round,
 * each round's RoundFinalized event names its parent model, and the walk ends at the task's genesis model. A
 * genesis model that is itself the result of another task's round continues the walk in that task. No model
 * bytes are read here.
 */
import type { Provider } from "ethers";
import type { TrainingLedger } from "../../typechain-types";
import { blockTimes } from "./blockTimes";
import { LineageBreak, type BrokenLink } from "./brokenLink";
import { findModelElsewhere } from "./findModelElsewhere";
import {
  readTaskEvents,
  type AbortedRecord,
  type CommitRecord,
  type FinalizedRecord,
  type OpenedRecord,
  type TaskEvents,
  type TaskRecord,
} from "./taskEvents";

/** One round on the path from the genesis to the model. */
export interface LineageRound {
  taskId: bigint;
  round: number;
  opened: OpenedRecord;
  finalized: FinalizedRecord;
  /** Every commit of the round (included or not), in mining order. */
  commits: CommitRecord[];
}

/** The part of a lineage that one task produced. */
export interface LineageTask {
  task: TaskRecord;
  /** The task's rounds on the path, oldest first. */
  rounds: LineageRound[];
  /** Rounds of the task that were aborted before the last path round (they produced no model). */
  aborted: AbortedRecord[];
  events: TaskEvents;
}

/** Where a model comes from, from its genesis to itself. */
export interface Lineage {
  modelHash: string;
  /** The model's provenance record: task, round (0 for a genesis model) and block. */
  provenance: { taskId: bigint; round: number; recordedAtBlock: number };
  /** The first model of the line: a genesis model recorded as round 0. */
  genesis: { modelHash: string; taskId: bigint; recordedAtBlock: number };
  /** The tasks on the path, oldest first. */
  tasks: LineageTask[];
  /** Every round on the path, oldest first. */
  rounds: LineageRound[];
  /** Unix time of every block the lineage mentions. */
  blockTimes: Map<number, number>;
  chainId: bigint;
  ledger: string;
}

/** Options of {@link traceLineage}. */
export interface TraceLineageParameters {
  ledger: TrainingLedger;
  provider: Provider;
  modelHash: string;
  /** Which block times to read: every block the lineage mentions (default), or only the genesis, task and
   * finalisation blocks. */
  times?: "all" | "finalized";
}

function inconsistent(message: string, extra: Partial<BrokenLink> = {}): LineageBreak {
  return new LineageBreak({ code: "chain_inconsistent", message, ...extra });
}

async function unknownModel(
  provider: Provider,
  ledger: string,
  modelHash: string,
  chainId: bigint,
): Promise<LineageBreak> {
  const others = await findModelElsewhere(provider, ledger, modelHash);
  if (others.length > 0) {
    const o = others[0];
    return new LineageBreak({
      code: "model_other_ledger",
      message:
        `model ${modelHash} is not recorded on the ledger ${ledger} (chain ${chainId}); it was recorded by ` +
        `another contract, ${o.ledger} (task ${o.taskId}, round ${o.round}, block ${o.blockNumber})`,
      expected: ledger,
      found: o.ledger,
    });
  }
  return new LineageBreak({
    code: "model_unknown",
    message:
      `model ${modelHash} is not recorded on the ledger ${ledger} (chain ${chainId}), nor as a round's ` +
      `result by any other contract on this chain`,
    found: modelHash,
  });
}

/** Walks task `taskId` back from `target` (the result of round `round`) to the task's genesis model. */
function walkTask(events: TaskEvents, taskId: bigint, target: string, round: number): LineageRound[] {
  const task = events.created;
  if (!task)
    throw inconsistent(`the TaskCreated event of task ${taskId} was not found`, { task: `${taskId}` });
  const byModel = new Map<string, FinalizedRecord>();
  for (const f of events.finalized.values()) byModel.set(f.modelHash.toLowerCase(), f);
  const last = events.finalized.get(round);
  if (!last || last.modelHash.toLowerCase() !== target.toLowerCase())
    throw inconsistent(
      `the provenance record puts model ${target} at round ${round} of task ${taskId}, but no RoundFinalized ` +
        `event of that round records it`,
      { task: `${taskId}`, round, expected: target, found: last?.modelHash ?? "no event" },
    );
  const rounds: LineageRound[] = [];
  let current = last;
  for (;;) {
    const opened = events.opened.get(current.round);
    if (!opened || opened.baseModelHash.toLowerCase() !== current.parentModelHash.toLowerCase())
      throw inconsistent(
        `round ${current.round} of task ${taskId} was finalised from parent ${current.parentModelHash}, but ` +
          `it was opened from ${opened?.baseModelHash ?? "nothing (no RoundOpened event)"}`,
        { task: `${taskId}`, round: current.round },
      );
    rounds.unshift({
      taskId,
      round: current.round,
      opened,
      finalized: current,
      commits: events.commits.get(current.round) ?? [],
    });
    const parent = current.parentModelHash.toLowerCase();
    if (parent === task.genesisModelHash.toLowerCase()) break;
    const previous = byModel.get(parent);
    if (!previous || previous.round >= current.round || rounds.length > events.finalized.size)
      throw inconsistent(
        `the parent ${current.parentModelHash} of round ${current.round} of task ${taskId} is neither the ` +
          `task's genesis model nor the result of an earlier round`,
        { task: `${taskId}`, round: current.round, found: current.parentModelHash },
      );
    current = previous;
  }
  return rounds;
}

/**
 * Traces `modelHash` back to its genesis. Throws a {@link LineageBreak} when the model is not recorded on the
 * ledger (naming another ledger that recorded it, if any) or when the ledger's events do not form a path.
 * Reads: one provenance call per task on the path, one getTask per task, five event queries per task, and the
 * block timestamps in one batch.
 *
 * @example
 * const lineage = await traceLineage({ ledger, provider, modelHash: hashModelBytes(bytes) });
 * lineage.rounds.map((r) => r.round); // [1, 2, 3]
 */
export async function traceLineage(params: TraceLineageParameters): Promise<Lineage> {
  const { ledger, provider } = params;
  const modelHash = params.modelHash.toLowerCase();
  const ledgerAddress = await ledger.getAddress();
  const { chainId } = await provider.getNetwork();
  if (!(await ledger.isRecorded(modelHash)))
    throw await unknownModel(provider, ledgerAddress, modelHash, chainId);

  const tasks: LineageTask[] = [];
  let target = modelHash;
  let provenance = await ledger.getProvenance(target);
  const first = {
    taskId: provenance.taskId,
    round: Number(provenance.round),
    recordedAtBlock: Number(provenance.recordedAtBlock),
  };
  const visited = new Set<string>();
  for (;;) {
    const round = Number(provenance.round);
    if (round === 0) break;
    const taskId = provenance.taskId;
    if (visited.has(taskId.toString()))
      throw inconsistent(`the lineage of ${modelHash} passes through task ${taskId} twice`);
    visited.add(taskId.toString());
    const task = await ledger.getTask(taskId);
    const events = await readTaskEvents(
      ledger,
      taskId,
      Number(task.createdAtBlock),
      Number(provenance.recordedAtBlock),
    );
    const rounds = walkTask(events, taskId, target, round);
    const lastRound = rounds[rounds.length - 1];
    if (
      lastRound.finalized.parentModelHash.toLowerCase() !== provenance.parentModelHash.toLowerCase() ||
      lastRound.finalized.updatesRoot.toLowerCase() !== provenance.updatesRoot.toLowerCase()
    )
      throw inconsistent(
        `the provenance of ${target} (parent ${provenance.parentModelHash}, root ${provenance.updatesRoot}) ` +
          `differs from its RoundFinalized event (parent ${lastRound.finalized.parentModelHash}, root ` +
          `${lastRound.finalized.updatesRoot})`,
        { task: `${taskId}`, round },
      );
    const created = events.created as TaskRecord;
    const aborted = [...events.aborted.values()]
      .filter((a) => a.round < round)
      .sort((a, b) => a.round - b.round);
    tasks.unshift({ task: created, rounds, aborted, events });
    target = created.genesisModelHash.toLowerCase();
    provenance = await ledger.getProvenance(target);
  }
  const genesis = {
    modelHash: target,
    taskId: provenance.taskId,
    recordedAtBlock: Number(provenance.recordedAtBlock),
  };
  const rounds = tasks.flatMap((t) => t.rounds);
  const blocks = [genesis.recordedAtBlock, ...tasks.map((t) => t.task.blockNumber)];
  for (const r of rounds) {
    blocks.push(r.finalized.blockNumber);
    if (params.times !== "finalized")
      blocks.push(r.opened.blockNumber, ...r.commits.map((c) => c.blockNumber));
  }
  return {
    modelHash,
    provenance: first,
    genesis,
    tasks,
    rounds,
    blockTimes: await blockTimes(provider, blocks),
    chainId,
    ledger: ledgerAddress,
  };
}
