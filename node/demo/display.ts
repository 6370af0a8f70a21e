/**
 * How the demo shows progress. On a terminal: a live table with one row per round, redrawn in place. Anywhere
 * else (a pipe, a CI log): one line per change, each with the seconds since the start.
 */
import { ABORT_REASONS } from "../chain";
import type { RoundProgress, TrackerSnapshot } from "./roundTracker";

/** Where progress goes. */
export interface ProgressDisplay {
  /** A line about the run itself (set-up steps, results). */
  note(line: string): void;
  /** The rounds after a poll, with the changes that poll found. */
  update(snapshot: TrackerSnapshot, changes: readonly string[]): void;
  /** Leaves the last table on screen and stops redrawing. */
  close(): void;
}

/** Options of {@link createProgressDisplay}. */
export interface ProgressDisplayParameters {
  /** The output stream; a TTY gets the live table. */
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Number of sites expected to take part in each round. */
  sites: number;
  roundsPlanned: number;
  /** Start time (ms) for the elapsed-time prefix; now by default. */
  startedAt?: number;
}

const HEADERS = ["Round", "Status", "Commits", "Uploads", "Verified", "Aggregation", "Model", "Time"];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function aggregation(r: RoundProgress): string {
  if (r.status === "Finalized") return `done (${r.includedCount})`;
  if (r.status === "Aborted") return ABORT_REASONS[r.abortReason ?? 0] ?? "aborted";
  return r.sealed ? "aggregating" : "collecting";
}

/**
 * The table's rows as text lines (header, rule, one row per planned round).
 *
 * @example
 * renderRoundTable(tracker.snapshot(), 5, 5, Date.now()).join("\n");
 */
export function renderRoundTable(
  snapshot: TrackerSnapshot,
  sites: number,
  roundsPlanned: number,
  now: number,
): string[] {
  const byRound = new Map(snapshot.rounds.map((r) => [r.round, r]));
  const rows: string[][] = [];
  const last = Math.max(roundsPlanned, ...snapshot.rounds.map((r) => r.round));
  for (let round = 1; round <= last; round++) {
    const r = byRound.get(round);
    if (!r) {
      rows.push([String(round), "waiting", "", "", "", "", "", ""]);
      continue;
    }
    rows.push([
      String(round),
      r.status === "Finalized" ? "finalised" : r.status === "Aborted" ? "aborted" : "open",
      `${r.commits.size}/${sites}`,
      `${r.uploads.size}/${r.commits.size}`,
      `${r.verified}/${r.uploads.size}`,
      aggregation(r),
      r.modelHash ? `${r.modelHash.slice(0, 18)}…` : "",
      seconds((r.closedAt ?? now) - r.openedAt),
    ]);
  }
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(HEADERS), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)];
}

/**
 * Picks the live table for a terminal and line-per-change output otherwise.
 *
 * @example
 * const display = createProgressDisplay({ stream: process.stdout, sites: 5, roundsPlanned: 5 });
 */
export function createProgressDisplay(params: ProgressDisplayParameters): ProgressDisplay {
  const { stream, sites, roundsPlanned } = params;
  const startedAt = params.startedAt ?? Date.now();
  const stamp = () => `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s]`;

  if (!stream.isTTY) {
    return {
      note: (line) => stream.write(`${stamp()} ${line}\n`),
      update: (_snapshot, changes) => {
        for (const change of changes) stream.write(`${stamp()} ${change}\n`);
      },
      close: () => undefined,
    };
  }

  let drawn = 0;
  let last: TrackerSnapshot | undefined;
  let closed = false;
  const erase = () => {
    // Move to the start of the table and clear to the end of the screen.
    if (drawn > 0) stream.write(`\x1b[${drawn}F\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!last || closed) return;
    const lines = renderRoundTable(last, sites, roundsPlanned, Date.now());
    stream.write(`${lines.join("\n")}\n`);
    drawn = lines.length;
  };
  return {
    note(line) {
      erase();
      stream.write(`${stamp()} ${line}\n`);
      draw();
    },
    update(snapshot) {
      erase();
      last = snapshot;
      draw();
    },
    close() {
      closed = true;
      drawn = 0;
    },
  };
}
