/**
 * The off-ledger services of `npm run bench:round`: the real aggregator and site services, given the in-memory
 * ledger (ledger.ts, served to the sites by routes.ts) instead of the contracts, so the same rounds run with no
 * chain. Each runs as its own process, like `fedledger aggregator run` and `fedledger site run`, and reads the
 * same config files; the aggregator also reads the task the in-memory ledger runs (`--task`), which on a chain
 * would come from the ledger.
 *
 *   tsx scripts/offLedger/main.ts aggregator --config aggregator.json --task off-ledger-task.json
 *   tsx scripts/offLedger/main.ts site --config site.json
 *
 * Benchmarks and tests only: nothing here records anything durable.
 */
import { Command } from "commander";
import { z } from "zod";
import { loadAggregatorConfig, serviceSettings } from "../../node/aggregator/config";
import { loadAggregatorInputs } from "../../node/aggregator/runFromConfig";
import { startAggregatorService } from "../../node/aggregator/service";
import { addressSchema, ledgerDomain, CONFIG_SIGNER_NAMES, resolveSigner } from "../../node/chain";
import { serveUntilSignal } from "../../node/cli/commands/aggregator";
import { runSiteUntilSignal } from "../../node/cli/commands/siteRun";
import { main } from "../../node/cli/main";
import { UsageError } from "../../node/errors";
import { readJsonFile } from "../../node/jsonFile";
import { hashModelBytes } from "../../node/model/format";
import { specHash } from "../../node/model/spec";
import { loadSiteConfig } from "../../node/site/config";
import { OffChainLedger } from "./ledger";
import { offChainLedgerRoutes } from "./routes";
import { openOffChainSiteLedger } from "./siteLedger";

/** The task file of the in-memory ledger: what `fedledger task create` would have put on the chain. */
export const offLedgerTaskSchema = z
  .object({
    /** The sites that count as Active. */
    sites: z.array(addressSchema).min(1),
    minSitesPerRound: z.number().int().min(1).max(65_535),
    commitWindowSeconds: z
      .number()
      .int()
      .min(1)
      .max(2 ** 32 - 1),
    roundsPlanned: z.number().int().min(1).max(65_535),
    /** The task's aggregation rule id (AGGREGATION_RULE_IDS); FedAvg when not given. */
    aggregationRule: z.number().int().min(1).max(255).optional(),
  })
  .strict();

/** A task file as written (see writeOffLedgerRun). */
export type OffLedgerTaskFile = z.input<typeof offLedgerTaskSchema>;

async function loadTaskFile(file: string) {
  const parsed = offLedgerTaskSchema.safeParse(await readJsonFile(file, "the off-ledger task file"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `the off-ledger task file ${file} is invalid: ${issue.path.join(".") || "(top level)"}: ${issue.message}`,
      "Write it with writeOffLedgerRun (scripts/offLedger/run.ts)",
    );
  }
  return parsed.data;
}

async function runAggregator(opts: { config: string; task: string }): Promise<void> {
  const config = await loadAggregatorConfig(opts.config);
  const task = await loadTaskFile(opts.task);
  const { chainId, ledgerAddress } = await ledgerDomain(config);
  const signer = await resolveSigner(config.signer, undefined, chainId, CONFIG_SIGNER_NAMES);
  await serveUntilSignal(async () => {
    const inputs = await loadAggregatorInputs(config);
    const ledger = new OffChainLedger({
      task: {
        taskId: config.taskId,
        specHash: specHash(inputs.spec),
        genesisModelHash: hashModelBytes(inputs.genesis),
        ...task,
      },
      sites: task.sites,
      aggregator: signer.address,
      ledgerAddress,
    });
    return startAggregatorService({
      ledger,
      ledgerRoutes: offChainLedgerRoutes(ledger, BigInt(chainId)),
      chainId,
      taskId: config.taskId,
      ...inputs,
      ...serviceSettings(config),
    });
  });
}

/** The commands of this entry point. */
export function buildOffLedgerProgram(): Command {
  const program = new Command("off-ledger")
    .description("the aggregator and site services on an in-memory ledger (bench:round only)")
    .exitOverride();
  program
    .command("aggregator")
    .description("run the aggregator service on the in-memory ledger until SIGINT or SIGTERM")
    .requiredOption("--config <file>", "aggregator config file (as for `fedledger aggregator run`)")
    .requiredOption("--task <file>", "the in-memory ledger's task (written by writeOffLedgerRun)")
    .action(runAggregator);
  program
    .command("site")
    .description("run the site service against the aggregator's in-memory ledger")
    .requiredOption("--config <file>", "site config file (as for `fedledger site run`)")
    .action(async (opts: { config: string }) =>
      runSiteUntilSignal(await loadSiteConfig(opts.config), openOffChainSiteLedger),
    );
  return program;
}

if (require.main === module) void main(process.argv, buildOffLedgerProgram());
