import { ZeroAddress, getAddress, isAddress } from "ethers";
import { UsageError } from "../../errors";

/*
 * Checks for values typed on the command line. Each returns the typed value or throws a UsageError (exit
 * code 2) naming the flag and the expected form.
 */

/** A 0x-prefixed 20-byte address, returned checksummed. `what` names it in the message ("operator"). */
export function parseAddress(value: string, what: string): string {
  if (!isAddress(value))
    throw new UsageError(
      `invalid ${what} address "${value}"`,
      "Pass a 0x-prefixed 20-byte hex address (40 hex digits)",
    );
  const address = getAddress(value);
  if (address === ZeroAddress) throw new UsageError(`the ${what} address cannot be the zero address`);
  return address;
}

/** A comma-separated list of addresses. */
export function parseAddressList(value: string, what: string): string[] {
  const parts = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (parts.length === 0) throw new UsageError(`${what} is empty`, "Pass comma-separated 0x addresses");
  return parts.map((part) => parseAddress(part, what));
}

/** A 32-byte hash as 0x + 64 hex digits, returned lower-case. */
export function parseBytes32(value: string, flag: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new UsageError(`${flag} must be a 32-byte hash, 0x followed by 64 hex digits; got "${value}"`);
  return value.toLowerCase();
}

/** Arbitrary bytes as 0x + an even number of hex digits. */
export function parseHexBytes(value: string, flag: string): string {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(value))
    throw new UsageError(`${flag} must be hex bytes, 0x followed by an even number of hex digits`);
  return value.toLowerCase();
}

/** A whole number in [min, max]. */
export function parseInteger(value: string, flag: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^[0-9]+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min || number > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}; got "${value}"`);
  return number;
}

/** A two-letter upper-case country code (ISO 3166-1 alpha-2, e.g. SE), returned as bytes2 hex. */
export function parseCountry(value: string): string {
  if (!/^[A-Z]{2}$/.test(value))
    throw new UsageError(
      `--country must be two upper-case letters (ISO 3166-1, e.g. SE, NO, DK, FI, EE); got "${value}"`,
    );
  return `0x${Buffer.from(value, "ascii").toString("hex")}`;
}

/** A BCP 47 language tag (letters, digits and hyphens, 1-35 ASCII bytes, e.g. sv or nb-NO). */
export function parseLanguage(value: string): string {
  if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(value) || value.length > 35)
    throw new UsageError(`--language must be a BCP 47 tag such as sv, nb, da, fi or et; got "${value}"`);
  return value;
}

/** A site name: 1 to 64 bytes of UTF-8. */
export function parseSiteName(value: string): string {
  const bytes = Buffer.byteLength(value, "utf8");
  if (value.trim() === "" || bytes > 64)
    throw new UsageError(`--name must be 1 to 64 bytes of UTF-8; got ${bytes} bytes`);
  return value;
}
