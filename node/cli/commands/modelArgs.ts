/**
 * Flag parsers and shared options of the model commands (train, evaluate, predict, model export/import).
 * Parsers throw commander's InvalidArgumentError, which the CLI prints as one line with exit code 2.
 */
import { InvalidArgumentError, Option, type Command } from "commander";
import { BACKENDS, initBackend } from "../../model/backend";

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*[0-9]+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** A finite number with min < value ≤ max. */
export function positiveNumber(max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`expected a number above 0 and at most ${max}.`);
    return n;
  };
}

/** Adds `--backend <name>` (TensorFlow.js backend; default automatic or FEDLEDGER_BACKEND). */
export function backendOption(command: Command): Command {
  return command.addOption(
    new Option(
      "--backend <name>",
      "TensorFlow.js backend (default: tensorflow if installed, else wasm)",
    ).choices([...BACKENDS]),
  );
}

/** Starts the backend chosen by `--backend` (or the environment, or automatically). */
export async function startBackend(opts: { backend?: string }): Promise<string> {
  return initBackend(opts.backend);
}
