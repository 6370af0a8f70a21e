/**
 * The aggregator's log: one JSON object per line and event (`{"time":…,"level":…,"event":…, …fields}`).
 * Fields carry identifiers, hashes and counts only: never note text, never update bytes.
 */

/** Writes one log event. */
export type Logger = (
  level: "info" | "warn" | "error",
  event: string,
  fields?: Record<string, unknown>,
) => void;

function plain(value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * A logger writing JSON lines to a stream (stdout by default).
 *
 * @example
 * const log = jsonLineLogger();
 * log("info", "round_opened", { task: 1n, round: 2 });
 */
export function jsonLineLogger(stream: NodeJS.WritableStream = process.stdout): Logger {
  return (level, event, fields = {}) => {
    const entry = { time: new Date().toISOString(), level, event, ...fields };
    stream.write(`${JSON.stringify(entry, (_k, v: unknown) => plain(v))}\n`);
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = () => undefined;
