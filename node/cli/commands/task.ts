import { writeFile } from "node:fs/promises";
import { InvalidArgumentError, Option, type Command } from "commander";
import { FedledgerError, UsageError } from "../../errors";
import { readSpecFile } from "../../model/files";
import { parseSpec, specHash as hashSpec, type DpConfig, type ModelSpec } from "../../model/spec";
import {
  DEFAULT_DP_CLIP_NORM,
  DEFAULT_DP_SAMPLE_RATE,
  planTaskDp,
  type TaskDpPlan,
} from "../../privacy/budget";
import {
  roleHolders,
  approveTask,
  getTaskProposal,
  getTaskWithRounds,
  proposeTask,
  type TaskVoteResult,
  AGGREGATION_RULE_IDS,
  aggregationRuleName,
} from "../../chain";
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
  specHash?: string;
  spec?: string;
  specOut?: string;
  dpEpsilon?: number;
  dpDelta?: number;
  dpClip?: number;
  dpSampleRate?: number;
  dpSigma?: number;
  dpNoise?: DpConfig["noise"];
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
  if (Object.hasOwn(AGGREGATION_RULE_IDS, name))
    return AGGREGATION_RULE_IDS[name as keyof typeof AGGREGATION_RULE_IDS];
  if (/^[0-9]+$/.test(value)) return parseInteger(value, "--rule", 1, UINT16_MAX);
  throw new UsageError(
    `unknown aggregation rule "${value}"`,
    `Use ${Object.keys(AGGREGATION_RULE_IDS).join(", ")} or a rule id from 1 to ${UINT16_MAX}`,
  );
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A commander parser for a decimal number in (0, max] (or (0, max) with `open`). */
function positiveNumber(max: number, open = false): (value: string) => number {
  return (value) => {
    const x = Number(value);
    if (!DECIMAL.test(value.trim()) || !Number.isFinite(x) || x <= 0 || (open ? x >= max : x > max))
      throw new InvalidArgumentError(
        `expected a number above 0 and ${open ? "below" : "at most"} ${max}, such as 0.25 or 1e-5.`,
      );
    return x;
  };
}

/** What `task create` learned about the spec: its hash, and with DP flags the written spec and DP plan. */
interface SpecChoice {
  specHash: string;
  specFile?: string;
  dp?: TaskDpPlan;
}

/**
 * The task's spec hash: `--spec-hash`, or the hash of `--spec <file>`; with `--dp-epsilon`, the spec with the
 * DP settings (σ derived or checked for the planned rounds) is written to `--spec-out` and its hash is used.
 */
async function chooseSpec(opts: CreateOptions, rounds: number): Promise<SpecChoice> {
  const dpFlags = (
    [
      ["--dp-delta", opts.dpDelta],
      ["--dp-clip", opts.dpClip],
      ["--dp-sample-rate", opts.dpSampleRate],
      ["--dp-sigma", opts.dpSigma],
      ["--dp-noise", opts.dpNoise],
    ] as const
  ).filter(([, v]) => v !== undefined);
  const wantsDp = opts.dpEpsilon !== undefined;
  if (!wantsDp && dpFlags.length > 0)
    throw new UsageError(
      `${dpFlags[0][0]} needs --dp-epsilon`,
      "Give the task's ε budget with --dp-epsilon (and --dp-delta) to train it with differential privacy",
    );
  if (opts.specHash !== undefined && opts.spec !== undefined)
    throw new UsageError("give --spec-hash or --spec, not both", "--spec <file> computes the hash itself");
  if (opts.specHash === undefined && opts.spec === undefined)
    throw new UsageError(
      "give the task's model spec with --spec <file>, or its hash with --spec-hash <0x…>",
      "`fedledger train` writes a spec next to every model file (<model>.spec.json)",
    );
  if (opts.specOut !== undefined && !wantsDp)
    throw new UsageError("--spec-out is written only with --dp-epsilon", "Leave --spec-out out");
  if (opts.specHash !== undefined) {
    if (wantsDp)
      throw new UsageError(
        "--dp-epsilon needs the model spec itself: pass --spec <file> instead of --spec-hash",
        "The DP settings go into the spec, so the task's spec hash covers them",
      );
    return { specHash: parseBytes32(opts.specHash, "--spec-hash") };
  }
  const spec = await readSpecFile(opts.spec as string);
  if (!wantsDp) return { specHash: hashSpec(spec), specFile: opts.spec };
  if (opts.dpDelta === undefined)
    throw new UsageError("--dp-epsilon needs --dp-delta", "Pick δ well below 1/(notes per site), e.g. 1e-5");
  if (opts.specOut === undefined)
    throw new UsageError(
      "--dp-epsilon needs --spec-out <file>: the spec with the DP settings is written there",
      "Give every site and the aggregator that file as the task's modelSpec",
    );
  if (spec.training.dp)
    throw new UsageError(
      `the spec ${opts.spec} already has training.dp settings`,
      "Start from a spec without training.dp, or pass it with --spec alone",
    );
  const plan = planTaskDp({
    epsilon: opts.dpEpsilon as number,
    delta: opts.dpDelta,
    rounds,
    epochs: spec.training.epochs,
    clipNorm: opts.dpClip,
    sampleRate: opts.dpSampleRate,
    noiseMultiplier: opts.dpSigma,
    noise: opts.dpNoise,
    names: {
      epsilon: "--dp-epsilon",
      delta: "--dp-delta",
      clipNorm: "--dp-clip",
      sampleRate: "--dp-sample-rate",
      noiseMultiplier: "--dp-sigma",
    },
  });
  const withDp: ModelSpec = parseSpec(
    { ...spec, training: { ...spec.training, dp: plan.dp } },
    "the spec with --dp-* settings",
  );
  await writeFile(opts.specOut, `${JSON.stringify(withDp, null, 2)}\n`);
  return { specHash: hashSpec(withDp), specFile: opts.specOut, dp: plan };
}

/** The spec fields of `task create --json`. */
function specFields(choice: SpecChoice): Record<string, unknown> {
  if (!choice.specFile) return {};
  const out: Record<string, unknown> = { specFile: choice.specFile };
  if (choice.dp)
    out.dp = {
      ...choice.dp.dp,
      stepsPerRound: choice.dp.stepsPerRound,
      epsilonPlanned: choice.dp.epsilonPlanned,
      sigmaDerived: choice.dp.sigmaDerived,
    };
  return out;
}

function formatTime(unixSeconds: number): string {
  return unixSeconds === 0 ? "-" : new Date(unixSeconds * 1000).toISOString();
}

/** Prints what a vote on a task proposal led to: the new task, or the approvals still missing. */
async function reportTaskVote(
  session: SigningSession,
  vote: TaskVoteResult,
  json: boolean | undefined,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { proposalId, approvals, quorum, transaction, block } = vote;
  if (vote.taskId === undefined) {
    if (json) return printJson({ proposalId, approvals, quorum, taskId: null, transaction, block, ...extra });
    return printLines(
      `approval recorded (${approvals} of ${quorum}) for task proposal ${proposalId}; the task is created when ` +
        `${quorum - approvals} more admin(s) approve it with \`fedledger task approve ${proposalId}\``,
    );
  }
  if (json) {
    const info = await getTaskWithRounds(session.ledger, vote.taskId);
    return printJson({ ...info, proposalId, approvals, quorum, transaction, ...extra });
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
    .option("--spec-hash <0x…>", "hash of the task's model spec (or give the spec itself with --spec)")
    .option("--spec <file>", "the task's model spec (JSON); its hash goes on the chain")
    .option(
      "--spec-out <file>",
      "with --dp-epsilon: where to write the spec with the DP settings (give it to every site)",
    )
    .addOption(
      new Option("--dp-epsilon <ε>", "train with DP-SGD: each site's ε budget over the whole task").argParser(
        positiveNumber(1e6),
      ),
    )
    .addOption(
      new Option("--dp-delta <δ>", "δ of the task's (ε, δ) guarantee, 0 < δ < 1").argParser(
        positiveNumber(1, true),
      ),
    )
    .addOption(
      new Option(
        "--dp-clip <C>",
        `L2 clipping norm of one note's gradient (default ${DEFAULT_DP_CLIP_NORM})`,
      ).argParser(positiveNumber(1e6)),
    )
    .addOption(
      new Option(
        "--dp-sample-rate <q>",
        `Poisson sampling rate of each DP-SGD step, 0 < q ≤ 1 (default ${DEFAULT_DP_SAMPLE_RATE})`,
      ).argParser(positiveNumber(1)),
    )
    .addOption(
      new Option(
        "--dp-sigma <σ>",
        "noise multiplier; default: the smallest σ whose ε over --rounds rounds fits --dp-epsilon",
      ).argParser(positiveNumber(1000)),
    )
    .addOption(
      new Option(
        "--dp-noise <source>",
        "DP noise source; seeded-test-only is refused by production sites",
      ).choices(["csprng", "seeded-test-only"]),
    )
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
        "\nWith --dp-epsilon the sites train with DP-SGD (docs/privacy.md): the DP settings are written into the" +
        "\nspec (--spec-out), so the spec hash on the chain covers them; σ comes from the accountant for the planned" +
        "\nrounds unless --dp-sigma is given, which must then fit the budget.\n" +
        "\nExample:\n  fedledger task create --spec-hash 0x… --genesis 0x… --min-sites 3 --window 600 --rounds 10 --dev-account admin1" +
        "\n  fedledger task create --spec spec.json --spec-out spec-dp.json --dp-epsilon 8 --dp-delta 1e-5 \\" +
        "\n    --genesis 0x… --min-sites 3 --window 600 --rounds 5 --dev-account admin1",
    );
  addSignerOptions(addChainOptions(create)).action(async (opts: CreateOptions) => {
    const genesis = parseBytes32(opts.genesis, "--genesis");
    const rule = parseRule(opts.rule);
    const minSites = parseInteger(opts.minSites, "--min-sites", 1, UINT16_MAX);
    const window = parseInteger(opts.window, "--window", 1, UINT32_MAX);
    const rounds = parseInteger(opts.rounds, "--rounds", 1, UINT16_MAX);
    const choice = await chooseSpec(opts, rounds);
    const specHash = choice.specHash;
    if (choice.dp && !opts.json) {
      const { dp, epsilonPlanned, stepsPerRound, sigmaDerived } = choice.dp;
      printLines(
        `DP-SGD: q ${dp.sampleRate}, C ${dp.clipNorm}, σ ${dp.noiseMultiplier}${sigmaDerived ? " (derived)" : ""}, ` +
          `${stepsPerRound} steps per round; ε ${epsilonPlanned.toFixed(4)} of ${dp.epsilonBudget} (δ ${dp.delta}) ` +
          `over ${rounds} round(s); spec ${choice.specFile} (hash ${specHash})`,
      );
    }
    await withSigningSession(opts, async (session) => {
      const vote = await proposeTask(session.ledger, {
        specHash,
        genesisModelHash: genesis,
        aggregationRule: rule,
        minSitesPerRound: minSites,
        commitWindowSeconds: window,
        roundsPlanned: rounds,
      });
      await reportTaskVote(session, vote, opts.json, specFields(choice));
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
