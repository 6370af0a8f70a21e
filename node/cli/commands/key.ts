import { existsSync } from "node:fs";
import { Option, type Command } from "commander";
import { Wallet } from "ethers";
import { UsageError } from "../../errors";
import { parsePrivateKey, writeKeystore, promptHidden, resolvePassword } from "../../chain";
import { printJson, printLines } from "./output";

/** Environment variable `fedledger key import` reads the private key from (else stdin). */
export const PRIVATE_KEY_ENV = "FEDLEDGER_PRIVATE_KEY";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function privateKeyInput(): Promise<string> {
  const fromEnv = process.env[PRIVATE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return parsePrivateKey(fromEnv);
  const text = process.stdin.isTTY ? await promptHidden("private key: ") : await readStdin();
  if (text.trim() === "")
    throw new UsageError("no private key given", `Pipe it on stdin or set ${PRIVATE_KEY_ENV}`);
  return parsePrivateKey(text);
}

interface KeyOptions {
  out: string;
  passwordFile?: string;
  json?: boolean;
}

function refuseExisting(file: string): void {
  if (existsSync(file))
    throw new UsageError(`${file} already exists`, "Choose another --out or remove that file first");
}

function report(opts: KeyOptions, address: string): void {
  if (opts.json) printJson({ address, keystore: opts.out });
  else printLines(`address ${address}`, `keystore written to ${opts.out}; keep it and its password safe`);
}

function keyCommandOptions(command: Command): Command {
  return command
    .requiredOption("--out <file>", "keystore file to write (must not exist)")
    .addOption(
      new Option("--password-file <file>", "file holding the new password (else FEDLEDGER_PASSWORD)"),
    )
    .option("--json", "print the result as JSON");
}

/** Registers `fedledger key new` and `fedledger key import`. */
export function registerKeyCommands(program: Command): void {
  const key = program
    .command("key")
    .description("create or import signing keys as encrypted JSON keystores (scrypt)");
  keyCommandOptions(
    key
      .command("new")
      .description("generate a new key and write it as an encrypted keystore; prints its address")
      .addHelpText("after", "\nExample:\n  fedledger key new --out keys/admin.json --password-file admin.pw"),
  ).action(async (opts: KeyOptions) => {
    refuseExisting(opts.out);
    const password = await resolvePassword({ passwordFile: opts.passwordFile, confirm: true });
    const address = await writeKeystore({
      privateKey: Wallet.createRandom().privateKey,
      password,
      file: opts.out,
    });
    report(opts, address);
  });
  keyCommandOptions(
    key
      .command("import")
      .description(`encrypt an existing private key (read from stdin or ${PRIVATE_KEY_ENV}) into a keystore`)
      .addHelpText(
        "after",
        "\nThe key is never taken from a flag, so it stays out of shell history.\n" +
          "Example:\n  fedledger key import --out keys/site1.json --password-file pw.txt < site1.key",
      ),
  ).action(async (opts: KeyOptions) => {
    refuseExisting(opts.out);
    const privateKey = await privateKeyInput();
    const password = await resolvePassword({ passwordFile: opts.passwordFile, confirm: true });
    const address = await writeKeystore({ privateKey, password, file: opts.out });
    report(opts, address);
  });
}
