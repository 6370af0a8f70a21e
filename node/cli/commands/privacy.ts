import { Option, type Command } from "commander";
import { UsageError } from "../../errors";
import {
  DEFAULT_ORDERS,
  checkDelta,
  checkEpsilon,
  checkNoiseMultiplier,
  checkSamplingRate,
  checkSteps,
  computeEpsilon,
  sigmaForBudget,
  type RdpConversion,
} from "../../privacy/rdp";
import { printFields, printJson } from "./output";

/*
 * `fedledger privacy epsilon|sigma`: the RDP accountant of the Poisson-subsampled Gaussian mechanism
 * (node/privacy/rdp.ts, docs/privacy.md) on the command line.
 */

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A decimal number such as 0.01, 1e-5 or 2; `flag` names it in the message. */
function parseDecimal(value: string, flag: string): number {
  if (!DECIMAL.test(value.trim()))
    throw new UsageError(`${flag} must be a number such as 0.01 or 1e-5; got "${value}"`);
  return Number(value);
}

/** A whole number written in decimal digits. */
function parseWhole(value: string, flag: string, min: number): number {
  if (!/^\d+$/.test(value.trim()))
    throw new UsageError(`${flag} must be a whole number of at least ${min}; got "${value}"`);
  return checkSteps(Number(value), flag, min);
}

interface CommonOptions {
  q: string;
  steps: string;
  delta: string;
  conversion: RdpConversion;
  json?: boolean;
}

function conversionOption(): Option {
  return new Option("--conversion <kind>", "RDP to (ε, δ) conversion (see docs/privacy.md)")
    .choices(["improved", "classic"])
    .default("improved");
}

/** Registers `fedledger privacy epsilon` and `fedledger privacy sigma`. */
export function registerPrivacyCommands(program: Command): void {
  const privacy = program
    .command("privacy")
    .description("differential privacy accounting (RDP of the Poisson-subsampled Gaussian mechanism)");

  privacy
    .command("epsilon")
    .description(
      "print the ε spent by steps of DP-SGD at sampling rate q and noise multiplier σ, and its order",
    )
    .requiredOption("--q <rate>", "Poisson sampling rate per step, 0 < q ≤ 1 (expected batch / records)")
    .requiredOption("--sigma <multiplier>", "noise multiplier: noise standard deviation / clipping norm, > 0")
    .requiredOption("--steps <n>", "number of steps (whole number ≥ 0)")
    .requiredOption("--delta <δ>", "target δ, 0 < δ < 1")
    .addOption(conversionOption())
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `\nUses the ${DEFAULT_ORDERS.length} Rényi orders of dp_accounting (1.1 to 1024); docs/privacy.md has the formulas.\n` +
        "Example:\n  fedledger privacy epsilon --q 0.0042667 --sigma 1.1 --steps 14040 --delta 1e-5",
    )
    .action((opts: CommonOptions & { sigma: string }) => {
      const q = checkSamplingRate(parseDecimal(opts.q, "--q"), "--q");
      const sigma = checkNoiseMultiplier(parseDecimal(opts.sigma, "--sigma"), "--sigma");
      const steps = parseWhole(opts.steps, "--steps", 0);
      const delta = checkDelta(parseDecimal(opts.delta, "--delta"), "--delta");
      const { epsilon, order } = computeEpsilon({ q, sigma, steps, delta, conversion: opts.conversion });
      if (opts.json) {
        printJson({ epsilon, order, q, sigma, steps, delta, conversion: opts.conversion });
        return;
      }
      printFields([
        ["epsilon", epsilon.toFixed(4)],
        ["order", order],
        ["delta", delta],
        ["q", q],
        ["sigma", sigma],
        ["steps", steps],
        ["conversion", opts.conversion],
      ]);
    });

  privacy
    .command("sigma")
    .description("print the smallest noise multiplier σ that keeps steps at sampling rate q within (ε, δ)")
    .requiredOption("--q <rate>", "Poisson sampling rate per step, 0 < q ≤ 1 (expected batch / records)")
    .requiredOption("--steps <n>", "number of steps (whole number ≥ 1)")
    .requiredOption("--delta <δ>", "target δ, 0 < δ < 1")
    .requiredOption("--epsilon <ε>", "ε budget, > 0")
    .addOption(conversionOption())
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nσ is found by bisection to a relative tolerance of 1e-6 and rounded up, so it always meets the budget.\n" +
        "Example:\n  fedledger privacy sigma --q 0.01 --steps 1000 --delta 1e-5 --epsilon 8",
    )
    .action((opts: CommonOptions & { epsilon: string }) => {
      const q = checkSamplingRate(parseDecimal(opts.q, "--q"), "--q");
      const steps = parseWhole(opts.steps, "--steps", 1);
      const delta = checkDelta(parseDecimal(opts.delta, "--delta"), "--delta");
      const budget = checkEpsilon(parseDecimal(opts.epsilon, "--epsilon"), "--epsilon");
      const sigma = sigmaForBudget({ q, steps, delta, epsilon: budget, conversion: opts.conversion });
      const { epsilon, order } = computeEpsilon({ q, sigma, steps, delta, conversion: opts.conversion });
      if (opts.json) {
        printJson({ sigma, epsilon, order, budget, q, steps, delta, conversion: opts.conversion });
        return;
      }
      printFields([
        ["sigma", sigma],
        ["epsilon", `${epsilon.toFixed(4)} (budget ${budget})`],
        ["order", order],
        ["delta", delta],
        ["q", q],
        ["steps", steps],
        ["conversion", opts.conversion],
      ]);
    });
}
