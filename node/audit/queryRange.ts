/**
 * Event queries over block ranges. One query covers the whole range when the node allows it; when the node
 * refuses a range as too wide or too large (public and consortium nodes often cap eth_getLogs), the range is
 * split in halves until each part is accepted. Any other error is passed on at once.
 */

const RANGE_REFUSAL =
  /block range|range (is )?too (large|wide|big)|too many (results|logs|blocks)|more than \d+ (results|logs)|exceed|limit|response size|query timeout/i;

function isRangeRefusal(err: unknown): boolean {
  const texts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const record = current as { message?: unknown; shortMessage?: unknown; error?: unknown; info?: unknown };
    for (const text of [record.message, record.shortMessage]) if (typeof text === "string") texts.push(text);
    current = record.error ?? (record.info as { error?: unknown } | undefined)?.error;
  }
  return texts.some((text) => RANGE_REFUSAL.test(text));
}

/**
 * Runs `query(from, to)` over `[fromBlock, toBlock]`, splitting the range when the node refuses it as too
 * large, and returns the results of every part in block order.
 *
 * @example
 * const logs = await queryRange(0, latest, (from, to) => ledger.queryFilter(ledger.filters.RoundFinalized(1n), from, to));
 */
export async function queryRange<T>(
  fromBlock: number,
  toBlock: number,
  query: (from: number, to: number) => Promise<T[]>,
): Promise<T[]> {
  if (toBlock < fromBlock) return [];
  try {
    return await query(fromBlock, toBlock);
  } catch (err) {
    if (fromBlock === toBlock || !isRangeRefusal(err)) throw err;
    const middle = fromBlock + Math.floor((toBlock - fromBlock) / 2);
    const first = await queryRange(fromBlock, middle, query);
    const second = await queryRange(middle + 1, toBlock, query);
    return [...first, ...second];
  }
}
