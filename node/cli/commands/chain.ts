import path from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { FedledgerError, UsageError } from "../../errors";
import {
  CHAIN_NODE_KINDS,
  chainNodeKind,
  DEFAULT_DEV_ACCOUNTS,
  DEV_ACCOUNT_NAMES,
  DEV_SITE_ACCOUNTS,
  devAccountAddress,
  startEmbeddedChain,
  type ChainNodeKind,
  type EmbeddedChain,
} from "../../chain";
import { ChainStateFileError } from "../../chain/chainState";
import { printLines } from "./output";

/** Where `chain up` keeps the chain when --data is not given (relative to the working directory). */
export const DEFAULT_CHAIN_DATA_DIR = path.join(".fedledger", "chain");

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535)
    throw new InvalidArgumentError("expected a TCP port from 0 to 65535 (0 picks a free port).");
  return port;
}

function parseAccountCount(value: string): number {
  const count = Number(value);
  if (!/^[0-9]+$/.test(value) || count < 5 || count > 1000)
    throw new InvalidArgumentError("expected a whole number from 5 to 1000.");
  return count;
}

function parseBlockTime(value: string): number {
  const seconds = Number(value);
  if (!/^[0-9]+$/.test(value) || seconds < 1 || seconds > 3600)
    throw new InvalidArgumentError("expected a whole number of seconds from 1 to 3600.");
  return seconds;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

interface ChainUpOptions {
  port: number;
  host: string;
  accounts: number;
  node?: ChainNodeKind;
  data?: string;
  inMemory?: boolean;
  blockTime?: number;
}

/** The data folder `chain up` uses, or undefined for a chain in memory; refuses combinations that cannot work. */
function dataFolder(node: ChainNodeKind, opts: ChainUpOptions): string | undefined {
  if (opts.inMemory && opts.data !== undefined)
    throw new UsageError("both --data and --in-memory are given", "Pass only one of them");
  if (node === "hardhat") {
    if (opts.data !== undefined)
      throw new UsageError(
        "--data needs the anvil node: a Hardhat node keeps its chain in memory only",
        "Drop --node hardhat (anvil is the default), or drop --data",
      );
    return undefined;
  }
  return opts.inMemory ? undefined : (opts.data ?? DEFAULT_CHAIN_DATA_DIR);
}

function stateLines(node: EmbeddedChain): string[] {
  if (node.stateFile === undefined)
    return [
      "chain kept in memory only: everything on it is lost when it stops (use anvil with --data to keep it)",
    ];
  const relative = path.relative(process.cwd(), node.stateFile);
  const where = relative.startsWith("..") || path.isAbsolute(relative) ? node.stateFile : relative;
  return [
    node.resumedFromBlock === undefined
      ? `new chain; its state is saved to ${where} every second and when it stops`
      : `resumed the chain saved in ${where} at block ${node.resumedFromBlock}`,
  ];
}

/** Registers `fedledger chain up`: runs the embedded development chain in the foreground. */
export function registerChainCommands(program: Command): void {
  const chain = program
    .command("chain")
    .description("run the embedded development chain (anvil, or a Hardhat node)");
  chain
    .command("up")
    .description(
      "start a development chain node on loopback and keep it running until Ctrl-C or SIGTERM; with anvil " +
        "(the default) the chain is kept in a data folder and resumed when started again",
    )
    .addOption(
      new Option("--port <port>", "TCP port (0 picks a free one)").default(8545).argParser(parsePort),
    )
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .addOption(
      new Option("--accounts <count>", "number of funded development accounts")
        .default(DEFAULT_DEV_ACCOUNTS)
        .argParser(parseAccountCount),
    )
    .addOption(
      new Option(
        "--node <kind>",
        "which node runs the chain (default: FEDLEDGER_CHAIN_NODE, else anvil)",
      ).choices(CHAIN_NODE_KINDS),
    )
    .option("--data <dir>", `folder that keeps the chain (anvil; default ${DEFAULT_CHAIN_DATA_DIR})`)
    .option("--in-memory", "keep nothing: the chain is lost when the node stops")
    .addOption(
      new Option(
        "--block-time <seconds>",
        "mine a block every N seconds (default: one per transaction)",
      ).argParser(parseBlockTime),
    )
    .addHelpText(
      "after",
      "\nThe node's accounts are PUBLIC development keys (the default 'test … junk' mnemonic). Use them only here.\n" +
        "Example:\n  fedledger chain up --port 8545\n  fedledger chain up --data .fedledger/chain --block-time 2",
    )
    .action(async (opts: ChainUpOptions) => {
      const kind = chainNodeKind(opts.node);
      const dataDir = dataFolder(kind, opts);
      let node: EmbeddedChain;
      try {
        node = await startEmbeddedChain({
          node: kind,
          port: opts.port,
          host: opts.host,
          accounts: opts.accounts,
          dataDir,
          blockTime: opts.blockTime,
          onStateError: (err) =>
            process.stderr.write(`warning: the chain state was not saved: ${err.message}\n`),
        });
      } catch (err) {
        if (err instanceof ChainStateFileError) throw new UsageError(err.message);
        const message = (err as Error).message;
        if (/EADDRINUSE/.test(message))
          throw new FedledgerError(`port ${opts.port} on ${opts.host} is already in use`, {
            hint: "Stop the other process, or pass --port <other> (0 picks a free port)",
          });
        throw new FedledgerError(`the embedded chain did not start: ${message}`);
      }
      const roles = DEV_ACCOUNT_NAMES.slice(0, 6).map(
        (name) => `  ${name.padEnd(10)} ${devAccountAddress(name)}`,
      );
      printLines(
        `embedded chain (${node.node}) running at ${node.url} (chain id ${node.chainId}, pid ${node.pid})`,
        ...stateLines(node),
        ...(opts.blockTime ? [`a block every ${opts.blockTime} s`] : []),
        `dev accounts (--dev-account <name>): PUBLIC development keys from the default development mnemonic;`,
        `anyone can sign with them, never use them on a real network:`,
        ...roles,
        `  … and site2 to site${Math.min(DEV_SITE_ACCOUNTS, opts.accounts - 5)}`,
        ...(LOOPBACK.has(opts.host) ? [] : [`warning: bound to ${opts.host}, which is not loopback`]),
        "press Ctrl-C to stop",
      );
      let stopping = false;
      const stop = () => {
        stopping = true;
        void node.stop();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const code = await node.exited;
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      if (!stopping && code !== 0)
        throw new FedledgerError(`the embedded chain stopped unexpectedly with exit code ${code}`);
      printLines("embedded chain stopped");
    });
}
