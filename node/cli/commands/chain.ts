import { InvalidArgumentError, Option, type Command } from "commander";
import { FedledgerError } from "../../errors";
import { DEV_ACCOUNT_NAMES, DEV_SITE_ACCOUNTS, devAccountAddress, startEmbeddedChain } from "../../chain";
import { printLines } from "./output";

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

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** Registers `fedledger chain up`: runs the embedded development chain in the foreground. */
export function registerChainCommands(program: Command): void {
  const chain = program.command("chain").description("run the embedded development chain (a Hardhat node)");
  chain
    .command("up")
    .description("start a Hardhat node on loopback and keep it running until Ctrl-C or SIGTERM")
    .addOption(
      new Option("--port <port>", "TCP port (0 picks a free one)").default(8545).argParser(parsePort),
    )
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .addOption(
      new Option("--accounts <count>", "number of funded development accounts")
        .default(40)
        .argParser(parseAccountCount),
    )
    .addHelpText(
      "after",
      "\nThe node's accounts are PUBLIC development keys (Hardhat's default mnemonic). Use them only here.\n" +
        "Example:\n  fedledger chain up --port 8545",
    )
    .action(async (opts: { port: number; host: string; accounts: number }) => {
      let node;
      try {
        node = await startEmbeddedChain({ port: opts.port, host: opts.host, accounts: opts.accounts });
      } catch (err) {
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
        `embedded chain running at ${node.url} (chain id ${node.chainId}, pid ${node.pid})`,
        `dev accounts (--dev-account <name>): PUBLIC development keys from Hardhat's default mnemonic;`,
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
