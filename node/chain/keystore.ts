import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Wallet, encryptKeystoreJson, isKeystoreJson, type BaseWallet } from "ethers";
import { UsageError } from "../errors";

/**
 * Environment variable that switches keystore encryption to a weak, fast scrypt setting (N = 1024). Meant for
 * tests only, where each keystore would otherwise cost about a second; never set it for a real key.
 */
export const FAST_KEYSTORE_ENV = "FEDLEDGER_INSECURE_FAST_KEYSTORE";

/** Options of {@link writeKeystore}. */
export interface WriteKeystoreParameters {
  /** The key to store, 0x-prefixed 32-byte hex. */
  privateKey: string;
  /** Password the keystore is encrypted with. */
  password: string;
  /** Target file; must not exist yet. Parent folders are created. */
  file: string;
}

/**
 * Encrypts a private key into an Ethereum JSON keystore (scrypt + AES-128-CTR, the format of geth and ethers)
 * and writes it with mode 0600. Refuses to overwrite an existing file. Returns the key's address.
 *
 * @example
 * const address = await writeKeystore({ privateKey, password, file: "keys/site1.json" });
 */
export async function writeKeystore(params: WriteKeystoreParameters): Promise<string> {
  const wallet = new Wallet(params.privateKey);
  const fast = process.env[FAST_KEYSTORE_ENV] === "1";
  const json = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    params.password,
    fast ? { scrypt: { N: 1 << 10 } } : {},
  );
  await mkdir(path.dirname(path.resolve(params.file)), { recursive: true });
  try {
    await writeFile(params.file, `${json}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw new UsageError(`${params.file} already exists`, "Choose another --out or remove that file first");
    throw new UsageError(`cannot write ${params.file}: ${(err as Error).message}`);
  }
  return wallet.address;
}

/**
 * Reads and decrypts a JSON keystore. Throws a UsageError naming the file when it is missing, is not a
 * keystore, or the password is wrong.
 *
 * @example
 * const wallet = await readKeystore("keys/site1.json", password);
 */
export async function readKeystore(file: string, password: string): Promise<BaseWallet> {
  let json: string;
  try {
    json = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UsageError(`keystore ${file} not found`, "Create one with `fedledger key new --out <file>`");
    throw new UsageError(`cannot read keystore ${file}: ${(err as Error).message}`);
  }
  if (!isKeystoreJson(json))
    throw new UsageError(
      `${file} is not an encrypted JSON keystore`,
      "Pass a file written by `fedledger key`",
    );
  try {
    return await Wallet.fromEncryptedJson(json, password);
  } catch (err) {
    if (/incorrect password/i.test((err as Error).message))
      throw new UsageError(
        `wrong password for keystore ${file}`,
        "Check FEDLEDGER_PASSWORD or the --password-file contents",
      );
    throw new UsageError(`cannot decrypt keystore ${file}: ${(err as Error).message}`);
  }
}

/**
 * Parses a private key typed or piped by a user: 64 hex digits, with or without 0x, surrounding whitespace
 * ignored. Returns it 0x-prefixed; throws a UsageError that never echoes the key.
 */
export function parsePrivateKey(text: string): string {
  const trimmed = text.trim();
  const hex = trimmed.startsWith("0x") || trimmed.startsWith("0X") ? trimmed.slice(2) : trimmed;
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new UsageError(
      "the private key is not 32 bytes of hex",
      "Pass 64 hex digits (0x optional) on stdin or in FEDLEDGER_PRIVATE_KEY",
    );
  const key = `0x${hex.toLowerCase()}`;
  try {
    new Wallet(key);
  } catch {
    throw new UsageError("the private key is out of range for secp256k1", "Check the key");
  }
  return key;
}
