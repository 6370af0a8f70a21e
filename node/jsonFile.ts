import { readFile } from "node:fs/promises";
import { UsageError } from "./errors";

/** What to tell the user when a JSON file cannot be read or parsed. */
export interface JsonFileHints {
  /** Message used instead of "cannot read … : no such file" when the file does not exist. */
  missingMessage?: string;
  /** Hint shown when the file is missing or unreadable. */
  missing?: string;
  /** Hint shown when the file is not valid JSON. */
  invalid?: string;
}

/**
 * Reads a JSON file that a user supplied (a config, a deployment file) and parses it, without validating its
 * shape. Every failure is a UsageError naming the file: missing, unreadable, or not JSON.
 *
 * @param what how to call the file in messages, e.g. "the site config"
 * @example
 * const json = await readJsonFile("site.json", "the site config", { missing: "Pass --config <file>" });
 */
export async function readJsonFile(file: string, what: string, hints: JsonFileHints = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && hints.missingMessage) throw new UsageError(hints.missingMessage, hints.missing);
    const reason = code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new UsageError(`cannot read ${what} ${file}: ${reason}`, hints.missing);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(err as Error).message}`, hints.invalid);
  }
}
