import type { Command } from "commander";
import { loadAggregatorConfig } from "../../aggregator/config";
import { runAggregatorFromConfig } from "../../aggregator/runFromConfig";
import type { AggregatorService } from "../../aggregator/service";
import { toFedledgerError } from "../../chain";

/** Registers `fedledger aggregator run --config <file>`. */
export function registerAggregatorCommands(program: Command): void {
  const aggregator = program
    .command("aggregator")
    .description("collect signed site updates, aggregate them and record each round on the ledger");
  aggregator
    .command("run")
    .description("run the aggregator service (HTTP API and round driver) until Ctrl-C or SIGTERM")
    .requiredOption("--config <file>", "aggregator config file (JSON, see docs/protocol.md)")
    .addHelpText(
      "after",
      "\nLogs one JSON line per event on stdout. The service keeps serving models after the task's last round.\n" +
        "Example:\n  fedledger aggregator run --config aggregator.json",
    )
    .action(async (opts: { config: string }) => {
      const config = await loadAggregatorConfig(opts.config);
      await serveUntilSignal(() => runAggregatorFromConfig(config));
    });
}

/**
 * Starts an aggregator service and keeps it running until SIGINT or SIGTERM, then stops it cleanly. Start-up
 * errors from ethers become one-line FedledgerErrors.
 *
 * @example
 * await serveUntilSignal(() => runAggregatorFromConfig(config));
 */
export async function serveUntilSignal(start: () => Promise<AggregatorService>): Promise<void> {
  let service;
  try {
    service = await start();
  } catch (err) {
    throw toFedledgerError(err);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await service.stop();
}
