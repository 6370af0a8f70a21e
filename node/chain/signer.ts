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
  /** Name of a public development account (admin1, aggregator, site3, …); chain id 31337 only. */
  devAccount?: string;
}

/**
 * Builds the wallet that signs transactions, connected to `provider`. Dev accounts are refused on any chain
 * whose id is not 31337, because their keys are public. Throws a UsageError naming the flag to fix.
 *
 * @example
 * const signer = await resolveSigner({ devAccount: "admin1" }, provider, 31337);
 */
export async function resolveSigner(
  source: SignerSource,
  provider: Provider,
  chainId: number,
): Promise<BaseWallet> {
  if (source.keystore !== undefined && source.devAccount !== undefined)
    throw new UsageError("both --keystore and --dev-account are given", "Pass only one of them");
  if (source.devAccount !== undefined) {
    if (!isDevChain(chainId))
      throw new UsageError(
        `--dev-account ${source.devAccount} is refused on chain id ${chainId}: dev accounts are public keys, ` +
          `allowed only on the embedded chain (chain id ${DEV_CHAIN_ID})`,
        "Sign with --keystore <file> instead",
      );
    if (devAccountIndex(source.devAccount) === undefined)
      throw new UsageError(
        `unknown dev account "${source.devAccount}"`,
        `Use one of ${describeDevAccountNames()}`,
      );
    return devAccountWallet(source.devAccount, provider);
  }
  if (source.keystore !== undefined) {
    const password = await resolvePassword({ passwordFile: source.passwordFile });
    const wallet = await readKeystore(source.keystore, password);
    return wallet.connect(provider);
  }
  throw new UsageError(
    "this command sends a transaction and needs a signing key",
    "Pass --keystore <file> or, on the embedded chain, --dev-account <name> (e.g. admin1)",
  );
}
