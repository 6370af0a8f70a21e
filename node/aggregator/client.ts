/**
 * The HTTP client sites (and auditors) use to talk to an aggregator. Transient failures (connection refused or
 * reset, timeouts, HTTP 5xx) are retried with exponential backoff (at least the server's Retry-After); a 4xx
 * answer is final and becomes an AggregatorRequestError carrying the server's error code. Every answer is read
 * with a size cap (cappedBody.ts). Uploads send `Expect: 100-continue`, so an upload the aggregator refuses
 * from its headers alone (wrong signature, not an active site, no commit…) is answered before the body is sent.
 */
import http from "node:http";
import https from "node:https";
import { z } from "zod";
import { FedledgerError } from "../errors";
import type { Metrics } from "../fl";
import { normaliseHash, type UploadRecord } from "../store";
import { isApiErrorCode, type ApiErrorCode } from "./apiError";
import {
  DEFAULT_MAX_DOWNLOAD_BYTES,
  MAX_JSON_ANSWER_BYTES,
  readCappedBody,
  readCappedJson,
  ResponseTooLargeError,
} from "./cappedBody";
import { encodeMetricsHeader, ENVELOPE_HEADERS } from "./envelope";
import { sleep } from "../sleep";
import { sha256Hex } from "../sha256";

/** Client-side error codes, besides the server's own. */
export type ClientErrorCode = "network" | "bad_response" | "hash_mismatch" | "response_too_large";

/** A request to the aggregator failed. */
export class AggregatorRequestError extends FedledgerError {
  /** The server's error code (see apiError.ts), or a client-side code. */
  readonly code: ApiErrorCode | ClientErrorCode;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(code: ApiErrorCode | ClientErrorCode, message: string, hint: string, status?: number) {
    super(message, { hint });
    this.code = code;
    this.status = status;
  }
}

/** Retry and timeout settings. */
export interface RequestOptions {
  /** Retries after the first attempt (4 by default). */
  retries?: number;
  /** First backoff delay in ms (250 by default); doubles per retry, with jitter. */
  minDelayMs?: number;
  /** Longest backoff delay in ms (5,000 by default). */
  maxDelayMs?: number;
  /** Timeout of one attempt in ms (120,000 by default). */
  timeoutMs?: number;
  /** Largest model or object {@link fetchModel} accepts, in bytes (256 MiB by default). */
  maxResponseBytes?: number;
}

/** What {@link uploadUpdate} sends. */
export interface UploadUpdateParameters {
  task: bigint | number;
  round: number;
  /** The update's canonical bytes. */
  bytes: Uint8Array;
  numSamples: bigint | number;
  /** The metrics whose hash was committed and signed. */
  metrics: Metrics;
  /** EIP-712 signature from signUpdate. */
  signature: string;
  /** The site's address. */
  site: string;
}

/** The aggregator's answer to an accepted upload. */
export interface UploadUpdateResult {
  /** False when the same update had been accepted before (idempotent repeat). */
  created: boolean;
  record: UploadRecord;
}

class Transient extends Error {}

function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

function networkReason(err: unknown): string {
  const own = (err as { code?: unknown }).code;
  if (typeof own === "string" && own !== "ABORT_ERR") return own;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === "string") return cause.code;
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return "timeout";
  return err instanceof Error ? err.message : String(err);
}

function tooLargeAnswer(url: string, err: ResponseTooLargeError): AggregatorRequestError {
  return new AggregatorRequestError(
    "response_too_large",
    `the aggregator at ${url} sent more than allowed: ${err.message}`,
    "Raise maxResponseBytes (the site's maxDownloadBytes) if models this large are expected; otherwise report the aggregator to the consortium",
  );
}

async function errorFromResponse(res: Response): Promise<AggregatorRequestError> {
  let body: unknown;
  try {
    body = await readCappedJson(res);
  } catch {
    body = undefined;
  }
  const b = body as { error?: unknown; message?: unknown; hint?: unknown } | undefined;
  if (b && isApiErrorCode(b.error) && typeof b.message === "string")
    return new AggregatorRequestError(
      b.error,
      `the aggregator refused (${res.status} ${b.error}): ${b.message}`,
      typeof b.hint === "string" ? b.hint : "",
      res.status,
    );
  return new AggregatorRequestError(
    "bad_response",
    `the aggregator answered HTTP ${res.status} without a fedledger error body`,
    "Check that the URL points at a fedledger aggregator",
    res.status,
  );
}

/**
 * Runs `attempt` with retries on transient failures. `attempt` returns a Response; 5xx are retried, 4xx become
 * AggregatorRequestError at once, except the statuses in `passStatuses`, which are returned like a success.
 */
async function withRetries(
  url: string,
  options: RequestOptions,
  attempt: (signal: AbortSignal) => Promise<Response>,
  passStatuses: readonly number[] = [],
) {
  const retries = options.retries ?? 4;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  let last: AggregatorRequestError | undefined;
  let retryAfterMs = 0;
  for (let i = 0; i <= retries; i++) {
    if (i > 0) {
      const base = Math.min(maxDelay, minDelay * 2 ** (i - 1));
      await sleep(Math.max(base / 2 + Math.random() * (base / 2), Math.min(maxDelay, retryAfterMs)));
    }
    try {
      let res: Response;
      try {
        res = await attempt(AbortSignal.timeout(options.timeoutMs ?? 120_000));
      } catch (err) {
        if (err instanceof ResponseTooLargeError) throw tooLargeAnswer(url, err);
        throw new Transient(networkReason(err));
      }
      if (res.status >= 500) {
        const after = Number(res.headers.get("retry-after"));
        retryAfterMs = Number.isFinite(after) && after > 0 ? after * 1000 : 0;
        last = await errorFromResponse(res);
        continue;
      }
      if (res.status >= 400 && !passStatuses.includes(res.status)) throw await errorFromResponse(res);
      return res;
    } catch (err) {
      if (!(err instanceof Transient)) throw err;
      last = new AggregatorRequestError(
        "network",
        `cannot reach the aggregator at ${url}: ${err.message}`,
        "Check that the aggregator runs and the URL is right",
      );
    }
  }
  throw last ?? new AggregatorRequestError("network", `cannot reach the aggregator at ${url}`, "");
}

/** Options of {@link requestAggregatorJson}. */
export interface JsonRequestOptions extends RequestOptions {
  /** The request's method, headers and body (fetch's RequestInit, without a signal). */
  init?: Omit<RequestInit, "signal">;
  /** 4xx statuses answered to the caller with their body instead of thrown (e.g. 404 for "none"). */
  passStatuses?: readonly number[];
}

/**
 * One JSON request to an aggregator, with the client's retries, timeouts, size cap and error mapping: a 2xx
 * answer (or one of `passStatuses`) comes back with its parsed body (undefined when it is not JSON); any other
 * 4xx throws an AggregatorRequestError with the server's code.
 *
 * @example
 * const { body } = await requestAggregatorJson("http://127.0.0.1:8760", "/healthz", { retries: 0 });
 */
export async function requestAggregatorJson(
  url: string,
  path: string,
  options: JsonRequestOptions = {},
): Promise<{ status: number; body: unknown }> {
  const base = baseUrl(url);
  const res = await withRetries(
    base,
    { timeoutMs: 30_000, ...options },
    (signal) => fetch(`${base}${path}`, { ...options.init, signal }),
    options.passStatuses,
  );
  let body: unknown;
  try {
    body = await readCappedJson(res);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** How long an upload waits for `100 Continue` before sending the body anyway (RFC 9110 §10.1.1). */
const CONTINUE_WAIT_MS = 3_000;

function plainHeaders(headers: http.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
  return out;
}

/**
 * PUTs `body` with `Expect: 100-continue`: the headers go first, the body only after the server's
 * `100 Continue` (or after {@link CONTINUE_WAIT_MS} without an answer). A final answer before that (a refusal)
 * is returned without sending the body. The answer is read with the JSON cap and returned as a fetch Response.
 */
function putExpectingContinue(
  target: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<Response> {
  const url = new URL(target);
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, {
      method: "PUT",
      headers: { ...headers, "content-length": String(body.byteLength), expect: "100-continue" },
      signal,
    });
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      clearTimeout(wait);
      req.end(body);
    };
    const wait = setTimeout(send, CONTINUE_WAIT_MS);
    req.once("continue", send);
    req.once("response", (res) => {
      clearTimeout(wait);
      const bodySent = sent;
      sent = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JSON_ANSWER_BYTES) {
          req.destroy();
          res.destroy();
          reject(
            new ResponseTooLargeError(
              MAX_JSON_ANSWER_BYTES,
              `more than ${MAX_JSON_ANSWER_BYTES} bytes received`,
            ),
          );
        } else chunks.push(chunk);
      });
      res.once("error", reject);
      res.once("end", () => {
        if (!bodySent) req.destroy();
        const bytes = Buffer.concat(chunks, size);
        resolve(
          new Response(bytes.length > 0 ? bytes : null, {
            status: res.statusCode ?? 502,
            headers: plainHeaders(res.headers),
          }),
        );
      });
    });
    req.once("error", (err) => {
      clearTimeout(wait);
      reject(err);
    });
    req.flushHeaders();
  });
}

/**
 * Downloads a model (or any stored object) by hash and checks that the bytes hash to it.
 *
 * @example
 * const model = await fetchModel("http://127.0.0.1:8760", round.baseModelHash);
 */
export async function fetchModel(url: string, hash: string, options: RequestOptions = {}): Promise<Buffer> {
  const wanted = normaliseHash(hash);
  const base = baseUrl(url);
  const res = await withRetries(base, options, (signal) => fetch(`${base}/models/${wanted}`, { signal }));
  let bytes: Buffer;
  try {
    bytes = await readCappedBody(res, options.maxResponseBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES);
  } catch (err) {
    if (err instanceof ResponseTooLargeError) throw tooLargeAnswer(base, err);
    throw err;
  }
  const got = sha256Hex(bytes);
  if (got !== wanted)
    throw new AggregatorRequestError(
      "hash_mismatch",
      `the aggregator served bytes hashing to ${got} for model ${wanted}`,
      "Do not use these bytes; report the aggregator to the consortium",
    );
  return bytes;
}

/**
 * Uploads a signed update. The site must have committed `(sha256(bytes), numSamples, metricsHash(metrics))` on
 * the ledger and signed the same values with signUpdate.
 *
 * @example
 * const { record } = await uploadUpdate(url, { task: 1n, round: 1, bytes, numSamples: 500n, metrics, signature, site });
 */
export async function uploadUpdate(
  url: string,
  upload: UploadUpdateParameters,
  options: RequestOptions = {},
): Promise<UploadUpdateResult> {
  const base = baseUrl(url);
  const target = `${base}/tasks/${BigInt(upload.task)}/rounds/${upload.round}/updates`;
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    [ENVELOPE_HEADERS.site]: upload.site,
    [ENVELOPE_HEADERS.updateHash]: sha256Hex(upload.bytes),
    [ENVELOPE_HEADERS.numSamples]: BigInt(upload.numSamples).toString(),
    [ENVELOPE_HEADERS.metrics]: encodeMetricsHeader(upload.metrics),
    [ENVELOPE_HEADERS.signature]: upload.signature,
  };
  const res = await withRetries(base, options, (signal) =>
    putExpectingContinue(target, headers, upload.bytes, signal),
  );
  const body = await readCappedJson(res);
  const b = body as { created?: unknown; record?: unknown } | undefined;
  if (!b || typeof b.created !== "boolean" || typeof b.record !== "object" || b.record === null)
    throw new AggregatorRequestError(
      "bad_response",
      "the aggregator's answer to the upload is malformed",
      "",
      res.status,
    );
  return { created: b.created, record: b.record as UploadRecord };
}

const roundStatusSchema = z.object({
  uploads: z.array(z.object({ site: z.string(), updateHash: z.string() })),
});

/**
 * Whether the aggregator at `url` lists an accepted upload of `site` with `updateHash` in the round
 * (`GET /tasks/:task/rounds/:round`, docs/protocol.md), so that a site re-uploads after an aggregator lost its
 * store and does not resend the bytes when the aggregator already has them. No retries by default: the site's
 * round loop looks again later. Throws an AggregatorRequestError like the other requests ("bad_response" for
 * an answer that is not a round status).
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
  options: RequestOptions = {},
): Promise<boolean> {
  const base = baseUrl(url);
  const target = `${base}/tasks/${task}/rounds/${round}`;
  const res = await withRetries(base, { retries: 0, timeoutMs: 30_000, ...options }, (signal) =>
    fetch(target, { signal }),
  );
  let body: unknown;
  try {
    body = await readCappedJson(res);
  } catch {
    body = undefined;
  }
  const parsed = roundStatusSchema.safeParse(body);
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
