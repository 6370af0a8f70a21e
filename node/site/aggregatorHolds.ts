/**
 * Asks the aggregator whether it holds this site's update for a round (`GET /tasks/:task/rounds/:round`,
 * docs/protocol.md), so that a site re-uploads after an aggregator lost its store, and does not resend the
 * bytes when the aggregator already has them.
 */
import { z } from "zod";
import { isApiErrorCode } from "../aggregator/apiError";
import { readCappedJson } from "../aggregator/cappedBody";
import { AggregatorRequestError } from "../aggregator/client";

const statusSchema = z.object({
  uploads: z.array(z.object({ site: z.string(), updateHash: z.string() })),
});

/**
 * Resolves true when the aggregator at `url` lists an accepted upload of `site` with `updateHash` in the round.
 * Throws an AggregatorRequestError: code "network" (transient) when the aggregator cannot be reached or answers
 * 5xx, the server's code for a 4xx, "bad_response" for an answer that is not a round status.
 *
 * @example
 * if (!(await aggregatorHoldsUpdate(url, 1n, 3, site, updateHash))) await uploadUpdate(url, …);
 */
export async function aggregatorHoldsUpdate(
  url: string,
  task: bigint,
  round: number,
  site: string,
  updateHash: string,
  timeoutMs = 30_000,
): Promise<boolean> {
  const target = `${url.replace(/\/+$/, "")}/tasks/${task}/rounds/${round}`;
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const reason = typeof cause?.code === "string" ? cause.code : (err as Error).message;
    throw new AggregatorRequestError(
      "network",
      `cannot reach the aggregator at ${url}: ${reason}`,
      "Check that the aggregator runs and the URL is right",
    );
  }
  let body: unknown;
  try {
    body = await readCappedJson(res);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const b = body as { error?: unknown; message?: unknown } | undefined;
    const code = isApiErrorCode(b?.error) ? b.error : "bad_response";
    throw new AggregatorRequestError(
      res.status >= 500 ? "network" : code,
      `the aggregator answered ${res.status} to the round status${typeof b?.message === "string" ? `: ${b.message}` : ""}`,
      "Check that this aggregator serves the task",
      res.status,
    );
  }
  const parsed = statusSchema.safeParse(body);
  if (!parsed.success)
    throw new AggregatorRequestError(
      "bad_response",
      `the aggregator's round status at ${target} is malformed`,
      "Check that the URL points at a fedledger aggregator",
      res.status,
    );
  const wantSite = site.toLowerCase();
  const wantHash = updateHash.toLowerCase();
  return parsed.data.uploads.some(
    (u) => u.site.toLowerCase() === wantSite && u.updateHash.toLowerCase() === wantHash,
  );
}
