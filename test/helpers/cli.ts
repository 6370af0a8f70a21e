import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CHAIN_NODE_ENV } from "../../node/chain/embeddedChain";

/** Path of the real `fedledger` executable script. */
export const CLI_PATH = path.resolve(__dirname, "..", "..", "bin", "fedledger.js");

/** What a CLI run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /**
   * Extra environment variables. FEDLEDGER_* variables of the test process itself are not passed on, except
   * FEDLEDGER_CHAIN_NODE (which node the whole run tests on).
   */
  env?: Record<string, string | undefined>;
  /** Text written to the CLI's stdin (stdin is empty otherwise). */
  input?: string;
  /** Working directory (the test process's by default). */
  cwd?: string;
  /** Kill the CLI after this long (60 s by default). */
  timeoutMs?: number;
}

/**
 * Runs the real CLI (`node bin/fedledger.js …`) as a child process and collects its output. Never throws for a
 * non-zero exit code: tests assert on `code`, `stdout` and `stderr`.
 *
 * @example
 * const res = await runCli(["site", "list", "--json"], { env: { FEDLEDGER_DEPLOYMENT: file } });
 * expect(res.code).to.equal(0);
 */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if ((!key.startsWith("FEDLEDGER_") || key === CHAIN_NODE_ENV) && value !== undefined) env[key] = value;
  for (const [key, value] of Object.entries(options.env ?? {})) if (value !== undefined) env[key] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd,
      env,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Creates a fresh temporary directory; remove it with {@link removeTempDir}. */
export function makeTempDir(prefix = "fedledger-test-"): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Removes a directory made by {@link makeTempDir}. */
export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
