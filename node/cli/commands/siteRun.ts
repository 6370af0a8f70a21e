import type { Command } from "commander";
import { toFedledgerError } from "../../chain";
import { FedledgerError } from "../../errors";
import { eventLogLine, loadSiteConfig, runSite, type SiteConfig, type SiteLedgerOpener } from "../../site";

interface SiteRunOptions {
  config: string;
  keepRunning?: boolean;
}

/**
 * Registers `fedledger site run --config <file> [--keep-running]` under the `site` command group: runs the site
 * service until its tasks are finished, or until SIGINT or SIGTERM. One JSON line per event on stdout.
 */
export function registerSiteRunCommand(site: Command): void {
  site
    .command("run")
    .description("run this hospital's site service: join rounds, train locally, commit and upload updates")
    .requiredOption("--config <file>", "site config file (JSON, see docs/site.md)")
    .option("--keep-running", "keep running after every task has finished (overrides keepRunning)")
    .addHelpText(
      "after",
      "\nLogs one JSON line per event on stdout (hashes, counts and timings; never note text).\n" +
        "Stops when the tasks' planned rounds are over, or cleanly on Ctrl-C or SIGTERM.\n" +
        "Example:\n  fedledger site run --config site.json",
    )
    .action(async (opts: SiteRunOptions) => {
      const config = await loadSiteConfig(opts.config);
      if (opts.keepRunning) config.keepRunning = true;
      await runSiteUntilSignal(config);
    });
}

/**
 * Runs the site service of `config` until its tasks are finished or SIGINT/SIGTERM arrives, writing one JSON
 * line per event on stdout. `openLedger` replaces the on-chain ledger port (the off-ledger benchmark).
 *
 * @example
 * await runSiteUntilSignal(await loadSiteConfig("site.json"));
 */
export async function runSiteUntilSignal(config: SiteConfig, openLedger?: SiteLedgerOpener): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await runSite(config, {
      signal: controller.signal,
      onEvent: (event) => process.stdout.write(eventLogLine(event)),
      openLedger,
    });
  } catch (err) {
    throw err instanceof FedledgerError ? err : toFedledgerError(err);
  } finally {
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
  }
}
