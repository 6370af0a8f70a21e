import { getAddress, isAddress } from "ethers";

/**
 * Normalises a site address to its checksummed form; throws a RangeError for anything that is not a
 * 20-byte hex address.
 *
 * @example
 * normaliseSite("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"); // "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
 */
export function normaliseSite(site: string): string {
  if (!isAddress(site)) throw new RangeError(`"${site}" is not a 20-byte hex address`);
  return getAddress(site);
}

/**
 * Orders two site addresses by their 20 bytes, as unsigned big-endian numbers (the order every protocol step
 * uses: aggregation inputs, Merkle leaves, metrics documents). Returns a negative number, zero or a positive
 * number like any comparator.
 *
 * @example
 * ["0xB0…", "0x0A…"].sort(compareSites); // ["0x0A…", "0xB0…"]
 */
export function compareSites(a: string, b: string): number {
  // Lower-case hex of equal length sorts exactly like the bytes it encodes.
  const x = normaliseSite(a).toLowerCase();
  const y = normaliseSite(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Returns a copy of `items` sorted by ascending site address; throws a RangeError when two items name the
 * same site.
 */
export function sortBySite<T extends { site: string }>(items: readonly T[]): T[] {
  const sorted = [...items].sort((p, q) => compareSites(p.site, q.site));
  for (let i = 1; i < sorted.length; i++) {
    if (compareSites(sorted[i - 1].site, sorted[i].site) === 0)
      throw new RangeError(`site ${normaliseSite(sorted[i].site)} appears twice`);
  }
  return sorted;
}
