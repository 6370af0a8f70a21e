/**
 * Retrying: capped exponential backoff with jitter, and the rule that tells a
 * passing failure (the chain or the aggregator briefly unreachable) from one that needs a person.
 */
import { isError } from "ethers";
import { AggregatorRequestError } from "../aggregator/client";

/**
 * The wait before retry number `attempt` (1 for the first retry): `base · 2^(attempt-1)`, capped at `max`,
 * with the upper half drawn at random so that many sites restarting together do not retry in step.
 *
 * @example
 * backoffDelay(3, 500, 30_000); // between 1,000 and 2,000
 */
export function backoffDelay(attempt: number, base: number, max: number, random = Math.random): number {
  const full = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + random() * (full / 2));
}

const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

function socketCode(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== "object" || depth > 4) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && SOCKET_CODES.has(code)) return code;
  return socketCode((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * Whether a failure is likely to pass by itself: the chain or the aggregator unreachable, timing out or
 * answering 5xx, or the aggregator still aggregating. Contract reverts and 4xx refusals are not transient.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof AggregatorRequestError)
    return err.code === "network" || (err.status !== undefined && err.status >= 500);
  if (isError(err, "NETWORK_ERROR") || isError(err, "SERVER_ERROR") || isError(err, "TIMEOUT")) return true;
  if (isError(err, "UNKNOWN_ERROR") && socketCode(err) !== undefined) return true;
  return socketCode(err) !== undefined;
}
