/**
 * The demo's child processes: each aggregator and site runs as its own OS process through the real CLI
 * (`node bin/fedledger.js …`). Output goes to a log file per process; the last lines stay in memory so a
 * failure can show them. A group stops all its processes (SIGTERM, then SIGKILL after a grace period), and
 * kills any still alive when the parent exits, whatever the reason.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";
import { packageRoot } from "../chain";

/** How many output lines each process keeps in memory. */
const TAIL_LINES = 40;

/** What to start. */
export interface ProcessSpec {
  /** Short name shown in messages, e.g. "aggregator" or "site-02-sv". */
  name: string;
  /** Arguments of the `fedledger` CLI, e.g. ["site", "run", "--config", file] (or of `script`). */
  args: string[];
  /** A TypeScript entry point to run (with tsx) instead of the `fedledger` CLI, e.g. a benchmark's. */
  script?: string;
  /** File receiving the process's stdout and stderr. */
  logFile: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started process. */
export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<ProcessExit>;
  /** Whether it is still running. */
  running(): boolean;
  /** The last output lines (at most 40). */
  tail(lines?: number): string[];
  /** Calls `listener` with every later output line; returns a function that removes it. */
  onLine(listener: (line: string) => void): () => void;
  /** Sends a signal at once (SIGKILL in tests that simulate a crash). Marks the exit as expected. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Absolute path of the CLI entry point. */
export function cliPath(): string {
  return path.join(packageRoot(), "bin", "fedledger.js");
}

/** Describes an exit in words: "exited with code 1" or "was killed by SIGKILL". */
export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** A set of child processes that are stopped together. */
export class ProcessGroup {
  private readonly members = new Set<ManagedProcess>();
  private readonly children = new Set<ChildProcess>();
  private unexpected: ((proc: ManagedProcess, exit: ProcessExit) => void) | undefined;
  private readonly killAll = () => {
    for (const child of this.children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };

  private hooked = false;

  /** Registers the one listener told when a process exits without being asked to. */
  onUnexpectedExit(listener: (proc: ManagedProcess, exit: ProcessExit) => void): void {
    this.unexpected = listener;
  }

  /** The processes started and not yet exited. */
  list(): ManagedProcess[] {
    return [...this.members];
  }

  /**
   * Starts `fedledger <args>` (or `spec.script <args>`) as a child process.
   *
   * @example
   * const agg = group.start({ name: "aggregator", args: ["aggregator", "run", "--config", file], logFile });
   */
  start(spec: ProcessSpec): ManagedProcess {
    if (!this.hooked) {
      process.on("exit", this.killAll);
      this.hooked = true;
    }
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const log: WriteStream = createWriteStream(spec.logFile, { flags: "a" });
    const entry = spec.script ? ["--require", "tsx/cjs", spec.script] : [cliPath()];
    const child = spawn(process.execPath, [...entry, ...spec.args], {
      cwd: packageRoot(),
      env: { ...process.env, FEDLEDGER_QUIET: "1", ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.children.add(child);
    const lines: string[] = [];
    const listeners = new Set<(line: string) => void>();
    let partial = "";
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      const text = partial + chunk.toString("utf8");
      const parts = text.split(/\r?\n/);
      partial = parts.pop() ?? "";
      for (const line of parts) {
        if (line === "") continue;
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        for (const listener of listeners) listener(line);
      }
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);

    let expected = false;
    let done = false;
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once("error", (err) => {
        lines.push(`could not start: ${err.message}`);
        done = true;
        resolve({ code: null, signal: null });
      });
      child.once("close", (code, signal) => {
        done = true;
        if (partial) lines.push(partial);
        log.end();
        resolve({ code, signal });
      });
    });

    let stopping: Promise<void> | undefined;
    const managed: ManagedProcess = {
      name: spec.name,
      pid: child.pid ?? -1,
      logFile: spec.logFile,
      exited,
      running: () => !done,
      tail: (n = TAIL_LINES) => lines.slice(-n),
      onLine(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      kill(signal) {
        expected = true;
        if (!done) child.kill(signal);
      },
      stop(graceMs = 5_000) {
        expected = true;
        stopping ??= (async () => {
          if (done) return;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
    this.members.add(managed);
    void exited.then((exit) => {
      this.members.delete(managed);
      this.children.delete(child);
      if (!expected) this.unexpected?.(managed, exit);
    });
    return managed;
  }

  /** Stops every process of the group in parallel and removes the exit hook. */
  async stopAll(graceMs = 5_000): Promise<void> {
    await Promise.all([...this.members].map((p) => p.stop(graceMs)));
    process.removeListener("exit", this.killAll);
    this.hooked = false;
  }
}

/** One parsed JSON log line of a service (the aggregator and the sites log one JSON object per event). */
export type LogEvent = Record<string, unknown> & { event?: string; time?: string };

/** Parses a log line as a JSON object, or undefined when it is not one. */
export function parseLogEvent(line: string): LogEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" ? (value as LogEvent) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves with the first JSON log line of `proc` from now on for which `match` holds; rejects after
 * `timeoutMs`, or when the process exits first.
 *
 * @example
 * await waitForLogEvent(aggregator, (e) => e.event === "task_done", 120_000);
 */
export function waitForLogEvent(
  proc: ManagedProcess,
  match: (event: LogEvent) => boolean,
  timeoutMs = 60_000,
): Promise<LogEvent> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      off();
      fn();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new Error(
              `${proc.name}: no matching log line within ${timeoutMs} ms; last lines:\n${proc.tail(5).join("\n")}`,
            ),
          ),
        ),
      timeoutMs,
    );
    off = proc.onLine((line) => {
      const event = parseLogEvent(line);
      if (event && match(event)) settle(() => resolve(event));
    });
    void proc.exited.then((exit) =>
      settle(() => reject(new Error(`${proc.name} ${describeExit(exit)} before the awaited log line`))),
    );
  });
}
