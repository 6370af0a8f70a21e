import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { FedledgerError, UsageError } from "../errors";

/** Where fedledger looks for a chain when neither --rpc nor FEDLEDGER_RPC says otherwise. */
export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";

/** Options of {@link connectChain}. */
export interface ConnectChainParameters {
  /** JSON-RPC URL (http or https). */
  rpc: string;
  /** Expected chain id; when given, the node must report exactly this id. */
  chainId?: number;
  /** How long the first request may take before the chain counts as unreachable (5 s by default). */
  probeTimeoutMs?: number;
  /** Timeout of every later request (30 s by default). */
  requestTimeoutMs?: number;
}

/** A checked connection to a chain. */
export interface ChainConnection {
  /** The JSON-RPC URL, as given. */
  url: string;
  /** The chain id the node reported. */
  chainId: number;
  /** An ethers provider pinned to that chain id (no network re-detection). Call destroy() when done. */
  provider: JsonRpcProvider;
}

/**
 * Checks that a JSON-RPC endpoint answers, and that its chain id is the expected one, then returns a provider
 * pinned to it. Fails fast with a one-line FedledgerError when the endpoint is down, and a UsageError when the
 * URL is malformed or the chain id differs from `chainId`.
 *
 * @example
 * const { provider, chainId } = await connectChain({ rpc: "http://127.0.0.1:8545" });
 */
export async function connectChain(params: ConnectChainParameters): Promise<ChainConnection> {
  const url = parseRpcUrl(params.rpc);
  const chainId = await probeChainId(url, params.probeTimeoutMs ?? 5_000);
  if (params.chainId !== undefined && params.chainId !== chainId)
    throw new UsageError(
      `the chain at ${url} has chain id ${chainId}, but ${params.chainId} was expected`,
      "Pass the matching --chain-id (or FEDLEDGER_CHAIN_ID), or point --rpc at the right chain",
    );
  const request = new FetchRequest(url);
  request.timeout = params.requestTimeoutMs ?? 30_000;
  const network = Network.from(chainId);
  // cacheTimeout -1: no short-lived result cache, so back-to-back transactions see fresh nonces.
  // batchStallTime 0: requests made in the same tick still go out as one batch, but a lone request is not held
  // back 10 ms (ethers' default) waiting for company; a transaction makes about five requests in sequence.
  const provider = new JsonRpcProvider(request, network, {
    staticNetwork: network,
    pollingInterval: 1_000,
    cacheTimeout: -1,
    batchStallTime: 0,
  });
  return { url, chainId, provider };
}

/** Validates an RPC URL (http or https) and returns it unchanged; throws a UsageError otherwise. */
export function parseRpcUrl(rpc: string): string {
  let parsed: URL;
  try {
    parsed = new URL(rpc);
  } catch {
    throw new UsageError(`invalid RPC URL "${rpc}"`, "Pass --rpc http://host:port");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new UsageError(
      `unsupported RPC URL scheme "${parsed.protocol}" in "${rpc}"`,
      "Pass an http:// or https:// URL",
    );
  return rpc;
}

function unreachable(url: string, reason: string): FedledgerError {
  return new FedledgerError(`cannot reach the chain at ${url}: ${reason}`, {
    hint: "Start one with `fedledger chain up` or pass --rpc",
  });
}

async function probeChainId(url: string, timeoutMs: number): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw unreachable(url, fetchFailureReason(err, timeoutMs));
  }
  if (!res.ok) throw unreachable(url, `HTTP ${res.status} ${res.statusText}`.trim());
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw unreachable(url, "the answer is not JSON");
  }
  const result = (body as { result?: unknown } | null)?.result;
  if (typeof result !== "string" || !/^0x[0-9a-fA-F]+$/.test(result))
    throw unreachable(url, "the answer to eth_chainId is not a JSON-RPC chain id");
  return Number(BigInt(result));
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
};

function fetchFailureReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError"))
    return `no answer within ${timeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === "string")
    return SOCKET_ERRORS[cause.code] ? `${SOCKET_ERRORS[cause.code]} (${cause.code})` : cause.code;
  if (cause && typeof cause.message === "string") return cause.message;
  return err instanceof Error ? err.message : String(err);
}
