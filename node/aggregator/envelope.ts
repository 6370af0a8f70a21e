/**
 * The upload envelope: how a site's update travels over HTTP. The body is the raw update bytes
 * (`Content-Type: application/octet-stream`); everything else rides in headers:
 *
 *   X-Fedledger-Site          the site's address (0x, 20 bytes)
 *   X-Fedledger-Update-Hash   SHA-256 of the body (0x, 32 bytes)
 *   X-Fedledger-Num-Samples   decimal sample count, 1 … 2^64 - 1
 *   X-Fedledger-Metrics       the metrics JSON object, UTF-8, base64url without padding
 *   X-Fedledger-Signature     EIP-712 signature (0x, 65 bytes) over (task, round, updateHash, numSamples, metricsHash)
 *
 * Task and round come from the path `PUT /tasks/:task/rounds/:round/updates`. docs/protocol.md is the reference.
 */
import { getAddress, isAddress, isHexString } from "ethers";
import { metricsHash, parseMetrics, type Metrics } from "../fl";
import { ApiError } from "./apiError";

/** Header names of the envelope (lower case, as Node delivers them). */
export const ENVELOPE_HEADERS = {
  site: "x-fedledger-site",
  updateHash: "x-fedledger-update-hash",
  numSamples: "x-fedledger-num-samples",
  metrics: "x-fedledger-metrics",
  signature: "x-fedledger-signature",
} as const;

/** The parsed, syntactically valid envelope of one upload. */
export interface UploadEnvelope {
  task: bigint;
  round: number;
  /** Checksummed site address. */
  site: string;
  /** Lower-case 0x hex. */
  updateHash: string;
  numSamples: bigint;
  metrics: Metrics;
  /** SHA-256 of the canonical metrics JSON. */
  metricsHash: string;
  signature: string;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** Parses a positive decimal path or header integer not above `max`; undefined when malformed. */
export function parsePositiveInteger(text: string | undefined, max: bigint): bigint | undefined {
  if (text === undefined || !/^[1-9][0-9]{0,30}$/.test(text)) return undefined;
  const n = BigInt(text);
  return n <= max ? n : undefined;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  if (value === undefined || value === "")
    throw new ApiError(
      "bad_request",
      `header ${name} is missing`,
      "Send the upload with the fedledger client",
    );
  if (Array.isArray(value)) throw new ApiError("bad_request", `header ${name} appears more than once`);
  return value.trim();
}

/** Encodes metrics for the X-Fedledger-Metrics header (base64url of the JSON text). */
export function encodeMetricsHeader(metrics: Metrics): string {
  return Buffer.from(JSON.stringify(metrics), "utf8").toString("base64url");
}

/**
 * Parses and checks the path parameters and headers of an upload. Throws ApiError "bad_request" (400) naming
 * the first malformed field.
 */
export function parseEnvelope(
  params: { task?: string; round?: string },
  headers: Record<string, string | string[] | undefined>,
): UploadEnvelope {
  const task = parsePositiveInteger(params.task, (1n << 256n) - 1n);
  if (task === undefined)
    throw new ApiError("bad_request", `task "${params.task}" is not a positive integer`);
  const round = parsePositiveInteger(params.round, 0xffffffffn);
  if (round === undefined)
    throw new ApiError("bad_request", `round "${params.round}" is not a positive integer`);

  const site = header(headers, ENVELOPE_HEADERS.site);
  if (!isAddress(site))
    throw new ApiError("bad_request", `${ENVELOPE_HEADERS.site} "${site}" is not an address`);
  const updateHash = header(headers, ENVELOPE_HEADERS.updateHash);
  if (!isHexString(updateHash, 32))
    throw new ApiError("bad_request", `${ENVELOPE_HEADERS.updateHash} must be 0x and 64 hex digits`);
  const numSamples = parsePositiveInteger(header(headers, ENVELOPE_HEADERS.numSamples), UINT64_MAX);
  if (numSamples === undefined)
    throw new ApiError(
      "bad_request",
      `${ENVELOPE_HEADERS.numSamples} must be a decimal integer from 1 to 2^64 - 1`,
    );
  const signature = header(headers, ENVELOPE_HEADERS.signature);
  if (!isHexString(signature, 65))
    throw new ApiError("bad_request", `${ENVELOPE_HEADERS.signature} must be a 65-byte 0x hex signature`);

  const encoded = header(headers, ENVELOPE_HEADERS.metrics);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded))
    throw new ApiError("bad_request", `${ENVELOPE_HEADERS.metrics} must be base64url without padding`);
  let metrics: Metrics;
  try {
    metrics = parseMetrics(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch (err) {
    throw new ApiError("bad_request", `${ENVELOPE_HEADERS.metrics}: ${(err as Error).message}`);
  }
  return {
    task,
    round: Number(round),
    site: getAddress(site),
    updateHash: updateHash.toLowerCase(),
    numSamples,
    metrics,
    metricsHash: metricsHash(metrics),
    signature: signature.toLowerCase(),
  };
}
