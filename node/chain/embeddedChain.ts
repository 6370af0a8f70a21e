import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ChainStateFileError,
  keepChainState,
  lockDataFolder,
  readSavedChainState,
  type ChainStateKeeper,
} from "./chainState";
import { freePort, isPortFree } from "./freePort";
import { packageRoot } from "./packageRoot";
import { rawRpc } from "./rawRpc";

/**
 * Which program runs the embedded chain. `anvil` (Foundry's node, shipped as a binary in the npm package
 * `@foundry-rs/anvil`) can keep its state in a file and resume it after a restart; it is the default.
 * `hardhat` (a Hardhat node) keeps everything in memory and starts again at block 0 after a restart.
 */
export type ChainNodeKind = "anvil" | "hardhat";

/** The node kinds, in the order help texts list them. */
export const CHAIN_NODE_KINDS: readonly ChainNodeKind[] = ["anvil", "hardhat"];

/** Environment variable that picks the embedded chain's node kind when a caller does not (tests, the demo). */
export const CHAIN_NODE_ENV = "FEDLEDGER_CHAIN_NODE";

/**
 * The node kind to use: `given` when set, else FEDLEDGER_CHAIN_NODE, else anvil. Throws a RangeError naming
 * the variable when it holds something else.
 */
export function chainNodeKind(given?: ChainNodeKind): ChainNodeKind {
  if (given !== undefined) return given;
  const fromEnv = process.env[CHAIN_NODE_ENV];
  if (fromEnv === undefined || fromEnv === "") return "anvil";
  if (fromEnv === "anvil" || fromEnv === "hardhat") return fromEnv;
  throw new RangeError(`${CHAIN_NODE_ENV} must be "anvil" or "hardhat", got "${fromEnv}"`);
}

/** Chain id of the embedded chain unless told otherwise (the one dev accounts are allowed on). */
const DEV_CHAIN_ID_DEFAULT = 31337;

/** The name of the file, inside a data folder, where an anvil node keeps its state. */
export const CHAIN_STATE_FILE = "chain-state.json";

/** Options of {@link startEmbeddedChain}. */
export interface StartEmbeddedChainParameters {
  /** Which node to run; {@link chainNodeKind} decides when not given (anvil unless FEDLEDGER_CHAIN_NODE says). */
  node?: ChainNodeKind;
  /**
   * Folder where the node keeps its state (anvil only): the chain is saved to `chain-state.json` in it every
   * second while it grows and when the node stops (chainState.ts), and a node started on the same folder
   * resumes from it. Without it the chain lives in memory only.
   */
  dataDir?: string;
  /** Receives the errors of the periodic state saves (the node restarting or gone); dropped when not given. */
  onStateError?: (err: Error) => void;
  /** Seconds between blocks; undefined mines one block per transaction as it arrives. */
  blockTime?: number;
  /** TCP port; 0 or undefined picks a free one. */
  port?: number;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Number of funded development accounts (the public development mnemonic); 40 by default. */
  accounts?: number;
  /**
   * Chain id the node reports; 31337 by default. Dev accounts are refused on any other id, so another id is
   * only useful for testing chain-id checks.
   */
  chainId?: number;
  /** How long to wait for the node to answer JSON-RPC, in milliseconds (60 s by default). */
  readyTimeoutMs?: number;
  /** Receives every line the Hardhat node prints (its request log). Dropped when not given. */
  onOutput?: (line: string) => void;
  /**
   * Scheduling priority (nice value, -20 to 19) to give the node; {@link CHAIN_NICENESS} by default. Every
   * party waits on the node while it answers, and it uses little CPU, so on a machine that also trains it
   * should not wait behind the training processes for a core. Raising the priority (a negative value) needs
   * the right to (root or CAP_SYS_NICE); without it the node keeps the default priority.
   */
  niceness?: number;
}

/** The node's default scheduling priority: ahead of the training processes that share its cores. */
export const CHAIN_NICENESS = -5;

/** A running node started by {@link startEmbeddedChain}. */
export interface EmbeddedChain {
  /** Which program runs it. */
  node: ChainNodeKind;
  /** The file holding its state, when it has one (anvil with a data folder). */
  stateFile?: string;
  /** The newest block of the saved state it resumed, or undefined when it started a new chain. */
  resumedFromBlock?: number;
  /** JSON-RPC URL, e.g. http://127.0.0.1:8545 */
  url: string;
  /** Chain id the node reports (31337). */
  chainId: number;
  /** Process id of the node. */
  pid: number;
  /** The node's nice value once started (0 when its priority could not be changed). */
  niceness: number;
  /**
   * Resolves when the node process exits, with its exit code (null when killed by a signal). Its data folder is
   * free for another node once stop() has resolved (after an exit, call stop() too before starting again).
   */
  exited: Promise<number | null>;
  /**
   * Turns the node's request log on or off (on at start). With the log on, the node describes every call and
   * transaction (contract, method, sender), which costs it CPU time on each request.
   */
  setRequestLog(enabled: boolean): Promise<void>;
  /** Stops the node (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

const OUTPUT_TAIL_LINES = 40;
const PORT_ATTEMPTS = 3;

/**
 * Starts a development chain node (anvil or Hardhat) as a child process on loopback and resolves once it
 * answers `eth_chainId`. The node's accounts come from the public development mnemonic ("test test … junk",
 * the same for both nodes): never use them for anything real.
 *
 * @example
 * const chain = await startEmbeddedChain();          // free port on 127.0.0.1
 * console.log(chain.url, chain.chainId);             // http://127.0.0.1:40123 31337
 * await chain.stop();
 */
export async function startEmbeddedChain(params: StartEmbeddedChainParameters = {}): Promise<EmbeddedChain> {
  const host = params.host ?? "127.0.0.1";
  const fixedPort = params.port !== undefined && params.port !== 0;
  if (params.port !== undefined && (!Number.isInteger(params.port) || params.port < 0 || params.port > 65535))
    throw new RangeError(`port must be an integer between 0 and 65535, got ${params.port}`);
  if (params.accounts !== undefined && (!Number.isInteger(params.accounts) || params.accounts < 1))
    throw new RangeError(`accounts must be a positive integer, got ${params.accounts}`);
  if (params.chainId !== undefined && (!Number.isSafeInteger(params.chainId) || params.chainId < 1))
    throw new RangeError(`chainId must be a positive integer, got ${params.chainId}`);
  if (params.blockTime !== undefined && (!Number.isInteger(params.blockTime) || params.blockTime < 1))
    throw new RangeError(`blockTime must be a whole number of seconds from 1, got ${params.blockTime}`);
  const node = chainNodeKind(params.node);
  if (params.dataDir !== undefined && node !== "anvil")
    throw new RangeError("a data folder needs the anvil node: a Hardhat node cannot keep its state");
  if (
    params.niceness !== undefined &&
    (!Number.isInteger(params.niceness) || params.niceness < -20 || params.niceness > 19)
  )
    throw new RangeError(`niceness must be an integer between -20 and 19, got ${params.niceness}`);

  let lastError: Error | undefined;
  for (let attempt = 0; attempt < (fixedPort ? 1 : PORT_ATTEMPTS); attempt++) {
    const port = fixedPort ? (params.port as number) : await freePort(host);
    // Without this check, a node already listening on a fixed port would answer the readiness probe.
    if (!(await isPortFree(host, port))) {
      lastError = new Error(`listen EADDRINUSE: port ${port} on ${host} is already in use`);
      if (fixedPort) throw lastError;
      continue;
    }
    try {
      return await startOnPort(node, host, port, params);
    } catch (err) {
      lastError = err as Error;
      // A port picked by us may have been taken in between; try another one.
      if (fixedPort || !/EADDRINUSE/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error("the embedded chain did not start");
}

/** The default number of funded development accounts (admin1-3, aggregator, auditor, site1-35). */
export const DEFAULT_DEV_ACCOUNTS = 40;

interface NodeCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  stateFile?: string;
  resumedFromBlock?: number;
  /** Gives the data folder back (its lock file); called once the node has exited. */
  release?: () => void;
  /** JSON-RPC method that turns the request log on or off. */
  logMethod: string;
  label: string;
}

/** Path of the anvil binary for this platform, from the `@foundry-rs/anvil-<os>-<arch>` npm package. */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const binary = process.platform === "win32" ? "anvil.exe" : "anvil";
  try {
    return require.resolve(`${pkg}/bin/${binary}`, { paths: [packageRoot()] });
  } catch {
    throw new Error(
      `the anvil binary for ${process.platform}-${process.arch} is not installed (npm package ${pkg}); ` +
        "run npm ci again, or pick the Hardhat node (FEDLEDGER_CHAIN_NODE=hardhat)",
    );
  }
}

async function nodeCommand(
  node: ChainNodeKind,
  host: string,
  port: number,
  params: StartEmbeddedChainParameters,
): Promise<NodeCommand> {
  const accounts = params.accounts ?? DEFAULT_DEV_ACCOUNTS;
  if (node === "hardhat") {
    const root = packageRoot();
    const hardhatCli = require.resolve("hardhat/internal/cli/cli.js", { paths: [root] });
    const env: NodeJS.ProcessEnv = { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" };
    env.FEDLEDGER_DEV_ACCOUNTS = String(accounts);
    if (params.chainId !== undefined) env.FEDLEDGER_EMBEDDED_CHAIN_ID = String(params.chainId);
    if (params.blockTime !== undefined) env.FEDLEDGER_BLOCK_TIME = String(params.blockTime);
    return {
      file: process.execPath,
      args: [hardhatCli, "node", "--hostname", host, "--port", String(port)],
      env,
      logMethod: "hardhat_setLoggingEnabled",
      label: "Hardhat node",
    };
  }
  const args = ["--host", host, "--port", String(port), "--accounts", String(accounts)];
  args.push("--chain-id", String(params.chainId ?? DEV_CHAIN_ID_DEFAULT));
  if (params.blockTime !== undefined) args.push("--block-time", String(params.blockTime));
  let stateFile: string | undefined;
  let resumedFromBlock: number | undefined;
  let release: (() => void) | undefined;
  if (params.dataDir !== undefined) {
    mkdirSync(params.dataDir, { recursive: true });
    // Absolute: the node runs in the package folder, not in the caller's working directory.
    stateFile = path.resolve(params.dataDir, CHAIN_STATE_FILE);
    let saved;
    try {
      saved = await readSavedChainState(stateFile);
    } catch (err) {
      throw new ChainStateFileError(
        `the chain state ${path.join(params.dataDir, CHAIN_STATE_FILE)} cannot be loaded: ${(err as Error).message}; ` +
          "move it away to start a new chain in that folder",
      );
    }
    release = lockDataFolder(path.resolve(params.dataDir), params.dataDir);
    if (saved) {
      args.push("--load-state", stateFile);
      resumedFromBlock = saved.block;
    }
  }
  return {
    file: anvilBinary(),
    args,
    env: { ...process.env },
    stateFile,
    resumedFromBlock,
    release,
    logMethod: "anvil_setLoggingEnabled",
    label: "anvil node",
  };
}

/**
 * The program and arguments that run `file` so that it is killed when this process dies, however it dies
 * (Linux's parent-death signal, set by util-linux's setpriv before it runs the node). Elsewhere, or without
 * setpriv, the node is run directly and stopped on a normal exit only.
 */
function dyingWithParent(file: string, args: string[]): { file: string; args: string[] } {
  if (process.platform === "linux" && existsSync(SETPRIV))
    return { file: SETPRIV, args: ["--pdeathsig", "KILL", "--", file, ...args] };
  return { file, args };
}

const SETPRIV = "/usr/bin/setpriv";

async function startOnPort(
  node: ChainNodeKind,
  host: string,
  port: number,
  params: StartEmbeddedChainParameters,
) {
  const command = await nodeCommand(node, host, port, params);
  const run = dyingWithParent(command.file, command.args);
  // In its own process group, so a Ctrl-C at the terminal reaches this process only: the node is stopped by
  // stop(), after its last blocks are saved, and not killed by the same keystroke before that.
  const child = spawn(run.file, run.args, {
    cwd: packageRoot(),
    env: command.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });

  const niceness = setNiceness(child.pid, params.niceness ?? CHAIN_NICENESS);

  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split(/\r?\n/)) {
      if (line === "") continue;
      params.onOutput?.(line);
      tail.push(line);
      if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
    }
  };
  // The node logs every request; its pipes must always be drained or it blocks.
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const killOnExit = () => {
    if (!hasExited) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let keeper: ChainStateKeeper | undefined;
  // Once the node has exited, however: no more saves, and the data folder is free for the next node.
  const settled = exited.then(async () => {
    await keeper?.stop(false);
    command.release?.();
  });
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (!hasExited) {
      // The last blocks are saved before the node is asked to stop.
      await keeper?.stop(true);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await settled;
  };

  try {
    const chainId = await waitForRpc(
      url,
      command.label,
      child,
      () => hasExited,
      params.readyTimeoutMs ?? 60_000,
    );
    const setRequestLog = async (enabled: boolean) => {
      await rawRpc(url, command.logMethod, [enabled], 10_000);
    };
    if (command.stateFile !== undefined) {
      keeper = keepChainState(url, command.stateFile, { onError: params.onStateError });
      // A new chain is on disk from its first block, so a data folder always holds a chain to resume.
      await keeper.saveNow();
    }
    return {
      node,
      stateFile: command.stateFile,
      resumedFromBlock: command.resumedFromBlock,
      url,
      chainId,
      pid: child.pid as number,
      niceness,
      exited,
      setRequestLog,
      stop,
    };
  } catch (err) {
    await stop();
    const detail = tail.slice(-8).join(" | ");
    throw new Error(`${(err as Error).message}${detail ? `; node output: ${detail}` : ""}`);
  }
}

/** Sets a process's nice value when allowed; returns the value it has afterwards. */
function setNiceness(pid: number | undefined, niceness: number): number {
  if (pid === undefined) return 0;
  try {
    os.setPriority(pid, niceness);
  } catch {
    // Not permitted (raising a priority needs root or CAP_SYS_NICE): the node runs at the default priority.
  }
  try {
    return os.getPriority(pid);
  } catch {
    return 0;
  }
}

async function waitForRpc(
  url: string,
  label: string,
  child: ChildProcess,
  hasExited: () => boolean,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`the ${label} exited with code ${child.exitCode} before answering`);
    try {
      const result = await rawRpc(url, "eth_chainId", [], 1_000);
      if (typeof result === "string") return Number(BigInt(result));
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the ${label} did not answer at ${url} within ${timeoutMs} ms`);
}
