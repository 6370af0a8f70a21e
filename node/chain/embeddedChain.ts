import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import { freePort, isPortFree } from "./freePort";
import { packageRoot } from "./packageRoot";

/** Options of {@link startEmbeddedChain}. */
export interface StartEmbeddedChainParameters {
  /** TCP port; 0 or undefined picks a free one. */
  port?: number;
  /** Interface to bind; loopback by default. */
  host?: string;
  /** Number of funded development accounts (Hardhat's default mnemonic); 40 by default. */
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

/** A running Hardhat node started by {@link startEmbeddedChain}. */
export interface EmbeddedChain {
  /** JSON-RPC URL, e.g. http://127.0.0.1:8545 */
  url: string;
  /** Chain id the node reports (31337). */
  chainId: number;
  /** Process id of the node. */
  pid: number;
  /** The node's nice value once started (0 when its priority could not be changed). */
  niceness: number;
  /** Resolves when the node process exits, with its exit code (null when killed by a signal). */
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
 * Starts a Hardhat node as a child process on loopback and resolves once it answers `eth_chainId`.
 * The node's accounts come from Hardhat's public development mnemonic: never use them for anything real.
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
      return await startOnPort(host, port, params);
    } catch (err) {
      lastError = err as Error;
      // A port picked by us may have been taken in between; try another one.
      if (fixedPort || !/EADDRINUSE/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error("the embedded chain did not start");
}

async function startOnPort(host: string, port: number, params: StartEmbeddedChainParameters) {
  const root = packageRoot();
  const hardhatCli = require.resolve("hardhat/internal/cli/cli.js", { paths: [root] });
  const env: NodeJS.ProcessEnv = { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" };
  if (params.accounts !== undefined) env.FEDLEDGER_DEV_ACCOUNTS = String(params.accounts);
  if (params.chainId !== undefined) env.FEDLEDGER_EMBEDDED_CHAIN_ID = String(params.chainId);
  const child = spawn(process.execPath, [hardhatCli, "node", "--hostname", host, "--port", String(port)], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
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
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (hasExited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const chainId = await waitForRpc(url, child, () => hasExited, params.readyTimeoutMs ?? 60_000);
    const setRequestLog = async (enabled: boolean) => {
      await rpcCall(url, "hardhat_setLoggingEnabled", [enabled]);
    };
    return { url, chainId, pid: child.pid as number, niceness, exited, setRequestLog, stop };
  } catch (err) {
    await stop();
    const detail = tail.slice(-8).join(" | ");
    throw new Error(`${(err as Error).message}${detail ? `; node output: ${detail}` : ""}`);
  }
}

/** One JSON-RPC call to the node; throws with the node's message when it answers with an error. */
async function rpcCall(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method} failed: ${body.error.message ?? "unknown error"}`);
  return body.result;
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
  child: ChildProcess,
  hasExited: () => boolean,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error(`the Hardhat node exited with code ${child.exitCode} before answering`);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1_000),
      });
      const body = (await res.json()) as { result?: string };
      if (typeof body.result === "string") return Number(BigInt(body.result));
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Hardhat node did not answer at ${url} within ${timeoutMs} ms`);
}
