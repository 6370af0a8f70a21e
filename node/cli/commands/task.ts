import type { Command } from "commander";
import { FedledgerError, UsageError } from "../../errors";
import { roleHolders } from "../../chain/roles";
import {
  approveTask,
  getTaskProposal,
  getTaskWithRounds,
  proposeTask,
  type TaskVoteResult,
} from "../../chain/tasks";
import { AGGREGATION_RULES, aggregationRuleName } from "../../chain/vocabulary";
import {
  addChainOptions,
  addSignerOptions,
  withSession,
  withSigningSession,
  type ChainFlags,
  type SignerFlags,
  type SigningSession,
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

/** Prints what a vote on a task proposal led to: the new task, or the approvals still missing. */
async function reportTaskVote(
  session: SigningSession,
  vote: TaskVoteResult,
  json: boolean | undefined,
): Promise<void> {
  const { proposalId, approvals, quorum, transaction, block } = vote;
  if (vote.taskId === undefined) {
    if (json) return printJson({ proposalId, approvals, quorum, taskId: null, transaction, block });
    return printLines(
      `approval recorded (${approvals} of ${quorum}) for task proposal ${proposalId}; the task is created when ` +
        `${quorum - approvals} more admin(s) approve it with \`fedledger task approve ${proposalId}\``,
    );
  }
  if (json) {
    const info = await getTaskWithRounds(session.ledger, vote.taskId);
    return printJson({ ...info, proposalId, approvals, quorum, transaction });
  }
  printLines(`task ${vote.taskId} created (block ${block})`);
}

/** Registers `fedledger task create|approve|proposal|show`. */
export function registerTaskCommands(program: Command): void {
  const task = program.command("task").description("define training tasks and inspect their rounds");

  const create = task
    .command("create")
    .description(
      "propose a training task (admins only), counting your approval; at the quorum it is created and its id printed",
    )
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
    .option("--json", "print the task (or the pending proposal) as JSON")
    .addHelpText(
      "after",
      "\nAt quorum 1 the task is created at once. Otherwise the command prints the proposal id, and the other" +
        "\nadmins approve it with `fedledger task approve <proposal>`; an admin who runs the same `task create`" +
        "\napproves the same proposal.\n" +
        "\nExample:\n  fedledger task create --spec-hash 0x… --genesis 0x… --min-sites 3 --window 600 --rounds 10 --dev-account admin1",
    );
  addSignerOptions(addChainOptions(create)).action(async (opts: CreateOptions) => {
    const specHash = parseBytes32(opts.specHash, "--spec-hash");
    const genesis = parseBytes32(opts.genesis, "--genesis");
    const rule = parseRule(opts.rule);
    const minSites = parseInteger(opts.minSites, "--min-sites", 1, UINT16_MAX);
    const window = parseInteger(opts.window, "--window", 1, UINT32_MAX);
    const rounds = parseInteger(opts.rounds, "--rounds", 1, UINT16_MAX);
    await withSigningSession(opts, async (session) => {
      const vote = await proposeTask(session.ledger, {
        specHash,
        genesisModelHash: genesis,
        aggregationRule: rule,
        minSitesPerRound: minSites,
        commitWindowSeconds: window,
        roundsPlanned: rounds,
      });
      await reportTaskVote(session, vote, opts.json);
    });
  });

  const approve = task
    .command("approve <proposal>")
    .description(
      "approve a pending task proposal (admins only); the approval that reaches the quorum creates it",
    )
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExample:\n  fedledger task approve 0x5f2c… --dev-account admin2");
  addSignerOptions(addChainOptions(approve)).action(
    async (proposalArg: string, opts: ChainFlags & SignerFlags & { json?: boolean }) => {
      const proposalId = parseBytes32(proposalArg, "the proposal id");
      await withSigningSession(opts, async (session) => {
        await reportTaskVote(session, await approveTask(session.ledger, proposalId), opts.json);
      });
    },
  );

  const proposal = task
    .command("proposal <proposal>")
    .description("show a pending task proposal: its parameters and who approved it")
    .option("--json", "print as JSON")
    .addHelpText("after", "\nExample:\n  fedledger task proposal 0x5f2c… --json");
  addChainOptions(proposal).action(async (proposalArg: string, opts: ChainFlags & { json?: boolean }) => {
    const proposalId = parseBytes32(proposalArg, "the proposal id");
    await withSession(opts, async ({ ledger, registry, deployment }) => {
      const [info, quorum, holders] = await Promise.all([
        getTaskProposal(ledger, proposalId),
        registry.quorum(),
        roleHolders(registry, deployment.deployBlock),
      ]);
      if (!info)
        throw new FedledgerError(
          `no task proposal ${proposalId} is pending: it was never made, or its task was already created`,
          { hint: "List the tasks with `fedledger task show <id>`" },
        );
      const approved = await Promise.all(
        holders.admin.map((admin) => ledger.hasApprovedTask(proposalId, admin)),
      );
      const approvedBy = holders.admin.filter((_, i) => approved[i]);
      const result = { ...info, quorum: Number(quorum), approvedBy };
      if (opts.json) return printJson(result);
      printFields([
        ["proposal", proposalId],
        ["status", info.current ? "pending" : "stale (the admins or the quorum changed; propose it again)"],
        ["proposer", info.proposer],
        ["approvals", `${info.approvals} of ${result.quorum} (${approvedBy.join(", ") || "none"})`],
        ["rule", `${aggregationRuleName(info.aggregationRule)} (${info.aggregationRule})`],
        ["min sites/round", info.minSitesPerRound],
        ["commit window", `${info.commitWindowSeconds} s`],
        ["rounds", info.roundsPlanned],
        ["spec hash", info.specHash],
        ["genesis model", info.genesisModelHash],
      ]);
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
