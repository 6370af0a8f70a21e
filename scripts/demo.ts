/**
 * `npm run demo [-- options]`: the one-command demo (docs/demo.md). Parses the options, runs the demo, and
 * turns Ctrl-C into a clean stop of every process it started.
 */
import { Command, CommanderError, Option } from "commander";
import { FedledgerError } from "../node/errors";
import { DEMO_DEFAULTS, MAX_DEMO_SITES, parseDemoSettings, type DemoSettings } from "../node/demo/options";
import { runDemo } from "../node/demo/runDemo";

// The TF.js backend notice is noise in the demo's output.
process.env.FEDLEDGER_QUIET ??= "1";

/** An option whose value is a whole number, with a default. */
function integerOption(flags: string, description: string, fallback: number): Option {
  return new Option(flags, description).argParser(integer(flags.split(" ")[0])).default(fallback);
}

function integer(flag: string) {
  return (value: string): number => {
    if (!/^[0-9]+$/.test(value.trim()))
      throw new FedledgerError(`${flag} must be a whole number, got "${value}"`, { exitCode: 2 });
    return Number(value);
  };
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const x = Number(value);
    if (!/^\s*[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(value) || !(x > 0) || !Number.isFinite(x))
      throw new FedledgerError(`${flag} must be a positive number such as 8 or 1e-5, got "${value}"`, {
        exitCode: 2,
      });
    return x;
  };
}

function buildCommand(): Command {
  return new Command("npm run demo --")
    .description(
      "Run a federated training demo: a local chain, five Nordic hospital sites and an aggregator as separate " +
        "processes, rounds recorded on the ledger, and the federated model scored next to local-only and " +
        "centralized baselines.",
    )
    .option(
      "--sites <n>",
      `number of hospital sites, 1-${MAX_DEMO_SITES} (languages cycle nb, sv, da, fi, et)`,
      integer("--sites"),
      DEMO_DEFAULTS.sites,
    )
    .option("--rounds <n>", "federated rounds", integer("--rounds"), DEMO_DEFAULTS.rounds)
    .option(
      "--rpc <url>",
      "use this chain instead of starting one (needs Hardhat's dev accounts, chain id 31337)",
    )
    .option("--keep-running", "leave chain, aggregator and sites running until Ctrl-C", false)
    .option("--out <dir>", "output folder (cleared if written by an earlier demo)", DEMO_DEFAULTS.out)
    .option(
      "--seed <n>",
      "seed of the data, the genesis model and the training",
      integer("--seed"),
      DEMO_DEFAULTS.seed,
    )
    .addOption(integerOption("--notes <n>", "training notes per site", DEMO_DEFAULTS.notesPerSite))
    .addOption(
      integerOption("--test-notes <n>", "held-out notes per language", DEMO_DEFAULTS.testNotesPerLang),
    )
    .addOption(integerOption("--epochs <n>", "local epochs per round", DEMO_DEFAULTS.localEpochs))
    .addOption(
      new Option("--lr <rate>", "learning rate of local training")
        .argParser((value: string) => {
          const rate = Number(value);
          if (!(rate > 0) || !Number.isFinite(rate))
            throw new FedledgerError(`--lr must be a positive number, got "${value}"`, { exitCode: 2 });
          return rate;
        })
        .default(DEMO_DEFAULTS.learningRate),
    )
    .addOption(
      integerOption(
        "--commit-window <s>",
        "seconds a round accepts commits",
        DEMO_DEFAULTS.commitWindowSeconds,
      ),
    )
    .addOption(
      new Option(
        "--dp-epsilon <ε>",
        "train with DP-SGD: each site's ε budget over the task (σ derived for the rounds; docs/privacy.md)",
      ).argParser(positiveNumber("--dp-epsilon")),
    )
    .addOption(
      new Option("--dp-delta <δ>", "δ of the DP guarantee (with --dp-epsilon)")
        .argParser(positiveNumber("--dp-delta"))
        .default(DEMO_DEFAULTS.dpDelta),
    )
    .addOption(
      new Option("--skip-baselines", "do not train the local-only and centralized baselines").default(false),
    )
    .addOption(
      new Option(
        "--secure-aggregation",
        "securely aggregate every round: the aggregator sees only the sum of masked updates",
      ).default(false),
    )
    .addOption(
      new Option(
        "--drop-site <site@stage>",
        "with --secure-aggregation: kill a site at a stage (share, upload or unmask), e.g. site3@upload",
      ),
    )
    .addHelpText(
      "after",
      "\nExamples:\n  npm run demo\n  npm run demo -- --sites 3 --rounds 2 --out /tmp/demo\n  npm run demo -- --keep-running\n  npm run demo -- --dp-epsilon 8\n  npm run demo -- --secure-aggregation --drop-site site3@upload",
    )
    .exitOverride();
}

async function main(argv: string[]): Promise<number> {
  const command = buildCommand();
  try {
    command.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const o = command.opts<
    Pick<DemoSettings, "sites" | "rounds" | "rpc" | "keepRunning" | "out" | "seed"> & {
      notes: number;
      testNotes: number;
      epochs: number;
      lr: number;
      commitWindow: number;
      skipBaselines: boolean;
      dpEpsilon?: number;
      dpDelta: number;
      secureAggregation: boolean;
      dropSite?: string;
    }
  >();
  const settings = parseDemoSettings({
    sites: o.sites,
    rounds: o.rounds,
    rpc: o.rpc,
    keepRunning: o.keepRunning,
    out: o.out,
    seed: o.seed,
    notesPerSite: o.notes,
    testNotesPerLang: o.testNotes,
    localEpochs: o.epochs,
    learningRate: o.lr,
    commitWindowSeconds: o.commitWindow,
    skipBaselines: o.skipBaselines,
    dpEpsilon: o.dpEpsilon,
    dpDelta: o.dpDelta,
    secureAggregation: o.secureAggregation,
    dropSite: o.dropSite,
  });
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write("\nstopping the demo's processes (Ctrl-C again to force)…\n");
      controller.abort();
    } else process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await runDemo({ settings, io: { stdout: process.stdout }, signal: controller.signal });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof FedledgerError) {
      process.stderr.write(`error: ${err.toLine()}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
