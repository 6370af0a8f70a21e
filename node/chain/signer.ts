import type { BaseWallet, Provider } from "ethers";
import { UsageError } from "../errors";
import {
  describeDevAccountNames,
  devAccountIndex,
  devAccountWallet,
  isDevChain,
  DEV_CHAIN_ID,
} from "./devAccounts";
import { readKeystore } from "./keystore";
import { resolvePassword } from "./password";

/** Where a signing key comes from: an encrypted keystore, or a public dev account on the embedded chain. */
export interface SignerSource {
  /** Path of an encrypted JSON keystore. */
  keystore?: string;
  /** File holding the keystore password (else FEDLEDGER_PASSWORD, else a prompt on a terminal). */
  passwordFile?: string;
  /** Name of an environment variable holding the keystore password (config files; never empty). */
  passwordEnv?: string;
  /** Name of a public development account (admin1, aggregator, site3, …); chain id 31337 only. */
  devAccount?: string;
}

/** How messages name the source's fields: CLI flags by default, config fields for the services. */
export interface SignerFieldNames {
  keystore: string;
  devAccount: string;
}

/** The names CLI commands use (`--keystore`, `--dev-account`); the default. */
export const FLAG_SIGNER_NAMES: SignerFieldNames = { keystore: "--keystore", devAccount: "--dev-account" };

/** The names config files use (`signer.keystore`, `signer.devAccount`). */
export const CONFIG_SIGNER_NAMES: SignerFieldNames = {
  keystore: "signer.keystore",
  devAccount: "signer.devAccount",
};

async function keystorePassword(source: SignerSource): Promise<string> {
  if (source.passwordEnv === undefined) return resolvePassword({ passwordFile: source.passwordFile });
  const password = process.env[source.passwordEnv];
  if (!password)
    throw new UsageError(
      `environment variable ${source.passwordEnv} (signer.passwordEnv) is empty or unset`,
      `Export ${source.passwordEnv} with the keystore password, or use signer.passwordFile`,
    );
  return password;
}

/**
 * Builds the wallet that signs, connected to `provider` when one is given. Dev accounts are refused on any chain
 * whose id is not 31337, because their keys are public. Throws a UsageError naming the flag (or config field,
 * with `names`) to fix.
 *
 * @example
 * const signer = await resolveSigner({ devAccount: "admin1" }, provider, 31337);
 */
export async function resolveSigner(
  source: SignerSource,
  provider: Provider | undefined,
  chainId: number,
  names: SignerFieldNames = FLAG_SIGNER_NAMES,
): Promise<BaseWallet> {
  if (source.keystore !== undefined && source.devAccount !== undefined)
    throw new UsageError(`both ${names.keystore} and ${names.devAccount} are given`, "Pass only one of them");
  if (source.devAccount !== undefined) {
    if (!isDevChain(chainId))
      throw new UsageError(
        `${names.devAccount} ${source.devAccount} is refused on chain id ${chainId}: dev accounts are public keys, ` +
          `allowed only on the embedded chain (chain id ${DEV_CHAIN_ID})`,
        `Sign with ${names.keystore} <file> instead`,
      );
    if (devAccountIndex(source.devAccount) === undefined)
      throw new UsageError(
        `unknown dev account "${source.devAccount}"`,
        `Use one of ${describeDevAccountNames()}`,
      );
    return devAccountWallet(source.devAccount, provider);
  }
  if (source.keystore !== undefined) {
    const wallet = await readKeystore(source.keystore, await keystorePassword(source));
    return provider ? wallet.connect(provider) : wallet;
  }
  throw new UsageError(
    "this command sends a transaction and needs a signing key",
    `Pass ${names.keystore} <file> or, on the embedded chain, ${names.devAccount} <name> (e.g. admin1)`,
  );
}
