import { readFile } from "node:fs/promises";
import { UsageError } from "../errors";

/** Environment variable holding a keystore password. */
export const PASSWORD_ENV = "FEDLEDGER_PASSWORD";

/** Options of {@link resolvePassword}. */
export interface ResolvePasswordParameters {
  /** A file whose contents (one trailing newline removed) is the password. Wins over the environment. */
  passwordFile?: string;
  /** Ask twice when prompting (for a new keystore). */
  confirm?: boolean;
}

/**
 * Finds the keystore password: the --password-file contents, else FEDLEDGER_PASSWORD, else a hidden prompt
 * when stdin is a terminal. Passwords are never taken from a flag value, so they stay out of shell history
 * and process lists. Throws a UsageError when none is available.
 *
 * @example
 * const password = await resolvePassword({ passwordFile: opts.passwordFile });
 */
export async function resolvePassword(params: ResolvePasswordParameters = {}): Promise<string> {
  if (params.passwordFile !== undefined) {
    let text: string;
    try {
      text = await readFile(params.passwordFile, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read password file ${params.passwordFile}: ${(err as Error).message}`);
    }
    const password = text.replace(/\r?\n$/, "");
    if (password === "") throw new UsageError(`password file ${params.passwordFile} is empty`);
    return password;
  }
  const fromEnv = process.env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (process.stdin.isTTY) {
    const password = await promptHidden("keystore password: ");
    if (password === "") throw new UsageError("empty password");
    if (params.confirm && (await promptHidden("repeat password: ")) !== password)
      throw new UsageError("the passwords differ");
    return password;
  }
  throw new UsageError("no keystore password given", `Set ${PASSWORD_ENV} or pass --password-file <file>`);
}

/**
 * Reads one line from the terminal without echoing it (prompt on stderr). Only call when stdin is a TTY.
 * Ctrl-C aborts with a UsageError.
 */
export function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
