import type { Command } from "commander";
import { UsageError } from "../../errors";
import { getTaskWithRounds } from "../../chain/tasks";
import { confirmTransaction, receiptEvents } from "../../chain/transactions";
import { AGGREGATION_RULES } from "../../chain/vocabulary";
import {
  addChainOptions,
  addSignerOptions,
  withSession,
  withSigningSession,
  type ChainFlags,
  type SignerFlags,
} from "./chainOptions";
import { parseBytes32, parseInteger } from "./inputs";
import { printFields, printJson, printLines } from "./output";

interface CreateOptions extends ChainFlags, SignerFlags {
  specHash: string;
  genesis: string;
  rule: string;
  minSites: string;
  window: string;
  rounds: string;
  json?: boolean;
}

const UINT16_MAX = 0xffff;
const UINT32_MAX = 0xffffffff;

function parseRule(value: string): number {
  const name = value.toLowerCase();
  if (Object.hasOwn(AGGREGATION_RULES, name))
    return AGGREGATION_RULES[name as keyof typeof AGGREGATION_RULES];
  if (/^[0-9]+$/.test(value)) return parseInteger(value, "--rule", 1, UINT16_MAX);
  throw new UsageError(
    `unknown aggregation rule "${value}"`,
    `Use ${Object.keys(AGGREGATION_RULES).join(", ")} or a rule id from 1 to ${UINT16_MAX}`,
  );
}

function formatTime(unixSeconds: number): string {
  return unixSeconds === 0 ? "-" : new Date(unixSeconds * 1000).toISOString();
}

/** Registers `fedledger task create|show`. */
export function registerTaskCommands(program: Command): void {
  const task = program.command("task").description("define training tasks and inspect their rounds");

  const create = task
    .command("create")
    .description("define a training task (admins only); prints its id")
    .requiredOption("--spec-hash <0x…>", "hash of the task specification document (model, data, labels)")
    .requiredOption("--genesis <0x…>", "SHA-256 of the genesis model bytes")
    .option(
      "--rule <rule>",
      "aggregation rule: fedavg, fedavg-sparse (see docs/aggregation.md) or a rule id",
      "fedavg",
    )
    .requiredOption("--min-sites <n>", "fewest site updates a round may aggregate")
    .requiredOption("--window <seconds>", "commit window of each round, in seconds")
    .requiredOption("--rounds <n>", "number of rounds planned")
    .option("--json", "print the task as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  fedledger task create --spec-hash 0x… --genesis 0x… --min-sites 3 --window 600 --rounds 10 --dev-account admin1",
    );
  addSignerOptions(addChainOptions(create)).action(async (opts: CreateOptions) => {
    const specHash = parseBytes32(opts.specHash, "--spec-hash");
    const genesis = parseBytes32(opts.genesis, "--genesis");
    const rule = parseRule(opts.rule);
    const minSites = parseInteger(opts.minSites, "--min-sites", 1, UINT16_MAX);
    const window = parseInteger(opts.window, "--window", 1, UINT32_MAX);
    const rounds = parseInteger(opts.rounds, "--rounds", 1, UINT16_MAX);
    await withSigningSession(opts, async ({ ledger }) => {
      const receipt = await confirmTransaction(
        ledger.createTask(specHash, genesis, rule, minSites, window, rounds),
      );
      const [created] = receiptEvents(receipt, ledger, "TaskCreated");
      const taskId = created.args.taskId as bigint;
      if (opts.json) {
        const info = await getTaskWithRounds(ledger, taskId);
        return printJson({ ...info, transaction: receipt.hash });
      }
      printLines(`task ${taskId} created (block ${receipt.blockNumber})`);
    });
  });

  const show = task
    .command("show <id>")
    .description("show a task and every round opened so far")
    .option("--json", "print as JSON")
    .addHelpText("after", "\nExample:\n  fedledger task show 1 --json");
  addChainOptions(show).action(async (idArg: string, opts: ChainFlags & { json?: boolean }) => {
    const taskId = BigInt(parseInteger(idArg, "task id", 1, Number.MAX_SAFE_INTEGER));
    await withSession(opts, async ({ ledger }) => {
      const info = await getTaskWithRounds(ledger, taskId);
      if (opts.json) return printJson(info);
      printFields([
        ["task", info.taskId],
        ["creator", info.creator],
        ["rule", `${info.aggregationRuleName} (${info.aggregationRule})`],
        ["min sites/round", info.minSitesPerRound],
        ["commit window", `${info.commitWindowSeconds} s`],
        ["rounds", `${info.currentRound} of ${info.roundsPlanned} opened`],
        ["spec hash", info.specHash],
        ["genesis model", info.genesisModelHash],
        ["latest model", info.latestModelHash],
        ["created at block", info.createdAtBlock],
      ]);
      for (const round of info.rounds)
        printLines(
          `round ${round.round}: ${round.status}, ${round.commitCount} commit(s), ${round.includedCount} included, ` +
            `deadline ${formatTime(round.deadline)}, base ${round.baseModelHash}` +
            (round.status === "Finalized"
              ? `, model ${round.modelHash}, updates root ${round.updatesRoot}`
              : ""),
        );
    });
  });
}
