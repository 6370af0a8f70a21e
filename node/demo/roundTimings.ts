/**
 * Per-round wall times from the services' JSON logs, for the ledger-overhead benchmark (scripts/bench-round.ts).
 *
 * A round's span runs from the aggregator finishing the previous round (for round 1: from sending the open of
 * round 1) to the aggregator finishing this round, so consecutive spans add up to the whole run. The ledger's
 * share of a span is what the critical path spent in ledger writes: opening the round, the slowest site's
 * commit, and finalising (or aborting) the round.
 */
import type { LogEvent } from "./processes";

/** One round's figures. */
export interface RoundTiming {
  round: number;
  /** Seconds of the round's span (see the module comment). */
  seconds: number;
  /** Seconds in ledger writes on the critical path: open + slowest commit + finalise. */
  ledgerSeconds: number;
}

function time(e: LogEvent): number {
  return Date.parse(String(e.time));
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/**
 * Round timings from the aggregator's events (round_opened, round_finalized, round_aborted with their
 * `ledgerSeconds`) and the sites' `committed` events (with `ms`).
 *
 * @example
 * const rounds = roundTimings(aggregatorEvents, siteEvents);
 */
export function roundTimings(aggregator: readonly LogEvent[], sites: readonly LogEvent[]): RoundTiming[] {
  const opened = new Map<number, LogEvent>();
  const closed = new Map<number, LogEvent>();
  for (const e of aggregator) {
    const round = num(e.round);
    if (e.event === "round_opened") opened.set(round, e);
    if (e.event === "round_finalized" || e.event === "round_aborted") closed.set(round, e);
  }
  const slowestCommit = new Map<number, number>();
  for (const e of sites)
    if (e.event === "committed")
      slowestCommit.set(num(e.round), Math.max(slowestCommit.get(num(e.round)) ?? 0, num(e.ms) / 1000));

  const out: RoundTiming[] = [];
  const rounds = [...closed.keys()].sort((a, b) => a - b);
  for (const round of rounds) {
    const open = opened.get(round);
    const end = closed.get(round) as LogEvent;
    if (!open) continue;
    const previous = closed.get(round - 1);
    const start = previous ? time(previous) : time(open) - num(open.ledgerSeconds) * 1000;
    out.push({
      round,
      seconds: (time(end) - start) / 1000,
      ledgerSeconds: num(open.ledgerSeconds) + (slowestCommit.get(round) ?? 0) + num(end.ledgerSeconds),
    });
  }
  return out;
}
