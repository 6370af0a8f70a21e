import type { Provider } from "ethers";

/**
 * The timestamps (Unix seconds) of the given blocks. All requests are sent at once, so a JSON-RPC provider
 * puts them into batched HTTP requests instead of one round trip per block.
 *
 * @example
 * const times = await blockTimes(provider, [120, 121, 140]);
 * times.get(120); // 1767225600
 */
export async function blockTimes(provider: Provider, blocks: Iterable<number>): Promise<Map<number, number>> {
  const unique = [...new Set(blocks)].sort((a, b) => a - b);
  const found = await Promise.all(unique.map((n) => provider.getBlock(n)));
  const times = new Map<number, number>();
  unique.forEach((n, i) => {
    const block = found[i];
    if (block) times.set(n, block.timestamp);
  });
  return times;
}
