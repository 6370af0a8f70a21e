import { HDNodeWallet, Mnemonic, type Provider } from "ethers";

/*
 * PUBLIC DEVELOPMENT KEYS. These accounts come from Hardhat's well-known default mnemonic, printed in
 * Hardhat's own documentation and known to everyone. Anything sent to them on a real network is lost.
 * fedledger only hands them out on the embedded development chain (chain id 31337).
 */

/** Hardhat's public development mnemonic. Never use it for real funds or real identities. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Chain id of the embedded Hardhat chain; the only chain on which dev accounts are allowed. */
export const DEV_CHAIN_ID = 31337;

/** Number of `siteN` names (site1 … site35); the embedded chain funds 40 accounts by default. */
export const DEV_SITE_ACCOUNTS = 35;

const ROLE_NAMES = ["admin1", "admin2", "admin3", "aggregator", "auditor"] as const;

/** Every dev account name, in account-index order: admin1, admin2, admin3, aggregator, auditor, site1 … site35. */
export const DEV_ACCOUNT_NAMES: readonly string[] = [
  ...ROLE_NAMES,
  ...Array.from({ length: DEV_SITE_ACCOUNTS }, (_, i) => `site${i + 1}`),
];

/**
 * The account index (BIP-44 path m/44'/60'/0'/0/index) behind a dev account name, or undefined for an
 * unknown name.
 *
 * @example
 * devAccountIndex("aggregator"); // 3
 * devAccountIndex("site1");      // 5
 */
export function devAccountIndex(name: string): number | undefined {
  const index = DEV_ACCOUNT_NAMES.indexOf(name);
  return index < 0 ? undefined : index;
}

/** Whether dev accounts may be used on a chain with this id. */
export function isDevChain(chainId: number | bigint): boolean {
  return Number(chainId) === DEV_CHAIN_ID;
}

/**
 * The public development wallet behind `name`, connected to `provider` when given. Throws a RangeError for an
 * unknown name; callers check the chain id with {@link isDevChain} first.
 *
 * @example
 * const admin = devAccountWallet("admin1", provider); // 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
 */
export function devAccountWallet(name: string, provider?: Provider): HDNodeWallet {
  const index = devAccountIndex(name);
  if (index === undefined)
    throw new RangeError(`unknown dev account "${name}"; use one of ${describeDevAccountNames()}`);
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return provider ? wallet.connect(provider) : wallet;
}

/** The address of dev account `name` (see {@link devAccountWallet}). */
export function devAccountAddress(name: string): string {
  return devAccountWallet(name).address;
}

/** A short list of the accepted names, for messages. */
export function describeDevAccountNames(): string {
  return `${ROLE_NAMES.join(", ")}, site1 … site${DEV_SITE_ACCOUNTS}`;
}
