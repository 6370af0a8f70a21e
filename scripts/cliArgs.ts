/**
 * Argument parsers shared by the benchmark and evaluation scripts (commander option parsers).
 */
import { InvalidArgumentError } from "commander";

/**
 * A parser for a whole number from `min` to `max`; anything else is refused with a sentence commander prints.
 * @example program.option("--rounds <n>", "rounds", whole(1, 100), 5)
 */
export function whole(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}
