import { Command, CommanderError } from "commander";
import { FedledgerError } from "../errors";
import { registerChainCommands } from "./commands/chain";
import { registerKeyCommands } from "./commands/key";
import { registerDeployCommand } from "./commands/deploy";
import { registerSiteCommands } from "./commands/site";
import { registerRoleCommands } from "./commands/role";
import { registerTaskCommands } from "./commands/task";
import { registerAggregatorCommands } from "./commands/aggregator";
import { registerHashCommand } from "./commands/hash";
import { registerTrainCommand } from "./commands/train";
import { registerEvaluateCommand } from "./commands/evaluate";
import { registerPredictCommand } from "./commands/predict";
import { registerScreenCommand } from "./commands/screen";
import { registerModelCommands } from "./commands/model";
import { registerDataCommands } from "./commands/data";
import { registerAuditCommands } from "./commands/audit";
import { registerPrivacyCommands } from "./commands/privacy";

/** Builds the `fedledger` command tree. Each area adds its own subcommands in its own module. */
export function buildProgram(): Command {
  const program = new Command("fedledger")
    .description("Blockchain-backed federated training ledger for clinical language models")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerChainCommands(program);
  registerKeyCommands(program);
  registerTrainCommand(program);
  registerEvaluateCommand(program);
  registerPredictCommand(program);
  registerScreenCommand(program);
  registerHashCommand(program);
  registerModelCommands(program);
  registerDataCommands(program);
  registerDeployCommand(program);
  registerSiteCommands(program);
  registerRoleCommands(program);
  registerTaskCommands(program);
  registerAggregatorCommands(program);
  registerAuditCommands(program);
  registerPrivacyCommands(program);
  return program;
}

/**
 * Runs the CLI: parses argv, runs the command, turns errors into one line and an exit code. Another program
 * (the off-ledger benchmark's entry point) may be given to run with the same error handling.
 */
export async function main(argv: string[], program: Command = buildProgram()): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (or the help/version text).
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof FedledgerError) {
    process.stderr.write(`error: ${err.toLine()}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.FEDLEDGER_DEBUG && err instanceof Error && err.stack)
    process.stderr.write(`${err.stack}\n`);
  return 1;
}
