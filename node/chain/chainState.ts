/**
 * Keeping an anvil node's chain on disk. Anvil can write its state itself (`--state`), but it writes the file
 * in place (open with truncate, then write), so a node killed during a write leaves half a file and the chain
 * is gone. Here the process that started the node asks it for its state (`anvil_dumpState`) whenever the
 * chain's head changed, at most once per interval, and writes it durably: a temporary file, fsync, rename,
 * fsync of the folder. The file on disk is always a whole state, at most one interval (plus one dump) behind
 * the node. A node started again with `--load-state` on that file resumes from it: blocks, transactions,
 * receipts, event logs, contracts and balances.
 *
 * The file is the JSON that anvil's `--load-state` reads (the answer of `anvil_dumpState` is that JSON,
 * gzipped and hex-encoded).
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { writeFileDurably } from "../store/durableWrite";
import { rawRpc } from "./rawRpc";

/** How often the keeper looks at the chain's head, in milliseconds. */
export const STATE_SAVE_INTERVAL_MS = 1_000;

/** What a saved chain state says about itself. */
export interface SavedChainState {
  /** Number of the newest block in the file. */
  block: number;
  /** Size of the file in bytes. */
  bytes: number;
}

/** A chain state file that cannot be loaded (damaged, or not a state file at all). */
export class ChainStateFileError extends Error {}

/**
 * Reads and checks a saved chain state without loading it into a node. Resolves undefined when there is no file;
 * throws a ChainStateFileError saying what is wrong when the file is not a whole anvil state.
 */
export async function readSavedChainState(file: string): Promise<SavedChainState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ChainStateFileError(`cannot read it (${(err as NodeJS.ErrnoException).code ?? "read error"})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ChainStateFileError("it is not valid JSON (cut short or damaged)");
  }
  const state = parsed as { best_block_number?: unknown; blocks?: unknown; accounts?: unknown } | null;
  if (
    state === null ||
    typeof state !== "object" ||
    !Array.isArray(state.blocks) ||
    typeof state.accounts !== "object" ||
    state.best_block_number === undefined
  )
    throw new ChainStateFileError(
      "it is not an anvil chain state (no blocks, accounts or best block number)",
    );
  const block = Number(state.best_block_number);
  if (!Number.isSafeInteger(block) || block < 0)
    throw new ChainStateFileError("its best block number is not a block number");
  return { block, bytes: Buffer.byteLength(text) };
}

/** A running keeper; see the module comment. */
export interface ChainStateKeeper {
  /** Saves the state now when the head moved since the last save; resolves true when it wrote the file. */
  saveNow(): Promise<boolean>;
  /** Stops the periodic saves (after a last save when `final` is true and the node still answers). */
  stop(final?: boolean): Promise<void>;
}

/**
 * Starts saving the anvil node at `url` to `file`, every `intervalMs` when its head moved. Errors (the node
 * restarting or gone) are passed to `onError` and the next interval tries again.
 *
 * @example
 * const keeper = keepChainState("http://127.0.0.1:8545", ".fedledger/chain/chain-state.json");
 * …
 * await keeper.stop(true);
 */
export function keepChainState(
  url: string,
  file: string,
  options: { intervalMs?: number; onError?: (err: Error) => void } = {},
): ChainStateKeeper {
  let savedHead: string | undefined;
  let running: Promise<boolean> | undefined;
  let stopped = false;

  const save = async (): Promise<boolean> => {
    const head = (await rawRpc(url, "eth_getBlockByNumber", ["latest", false])) as { hash?: string } | null;
    const headHash = head?.hash;
    if (typeof headHash !== "string" || headHash === savedHead) return false;
    const dump = await rawRpc(url, "anvil_dumpState");
    if (typeof dump !== "string" || !dump.startsWith("0x")) throw new Error("anvil_dumpState gave no state");
    const json = gunzipSync(Buffer.from(dump.slice(2), "hex"));
    await writeFileDurably(file, json);
    savedHead = headHash;
    return true;
  };
  // One save at a time: a slow disk never stacks writes up.
  const saveNow = (): Promise<boolean> => {
    running ??= save().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    if (stopped || running) return;
    saveNow().catch((err: Error) => options.onError?.(err));
  }, options.intervalMs ?? STATE_SAVE_INTERVAL_MS);
  timer.unref();

  return {
    saveNow,
    async stop(final = false) {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => false);
      if (final) await saveNow().catch((err: Error) => options.onError?.(err));
    },
  };
}

/** The name of the lock file, inside a data folder, held by the process that keeps the chain. */
export const CHAIN_LOCK_FILE = "chain.lock";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data folder for this process: two nodes saving into one folder would overwrite each other's chain.
 * Writes this process's id to `chain.lock` (created exclusively); a lock left by a process that no longer
 * runs is taken over. Throws a ChainStateFileError naming the process that holds it. Returns the release.
 */
export function lockDataFolder(dataDir: string, shownAs: string): () => void {
  const file = path.join(dataDir, CHAIN_LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && alive(holder))
        throw new ChainStateFileError(
          `the chain folder ${shownAs} is in use by process ${holder}; stop that chain first, or pass another --data`,
        );
      rmSync(file, { force: true });
    }
  }
  throw new ChainStateFileError(`cannot take the chain folder ${shownAs}`);
}
