/**
 * One JSON-RPC call to a node with plain fetch, for the few places that talk to a node before or beside an
 * ethers provider (starting the embedded chain, saving its state). Throws with the node's message when it
 * answers with an error.
 *
 * @example
 * const head = await rawRpc("http://127.0.0.1:8545", "eth_blockNumber");
 */
export async function rawRpc(
  url: string,
  method: string,
  params: unknown[] = [],
  timeoutMs = 30_000,
): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method} failed: ${body.error.message ?? "unknown error"}`);
  return body.result;
}
