/**
 * Site metrics: the values a site reports with its upload (its local evaluation of the current global model)
 * and their hash. The hash is SHA-256 over the canonical JSON text: object keys sorted by UTF-16 code units,
 * no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does (shortest round-trip form,
 * the same rules as RFC 8785). Non-finite numbers are refused.
 */
import { z } from "zod";
import { sha256Hex } from "../sha256";

/** A JSON value as metrics may hold it. */
export type MetricValue = number | string | boolean | null | MetricValue[] | { [key: string]: MetricValue };
/** A metrics object: named values. */
export type Metrics = { [key: string]: MetricValue };

/** Largest canonical metrics text accepted, in bytes (it travels in an HTTP header). */
export const MAX_METRICS_BYTES = 4096;

const metricValue: z.ZodType<MetricValue> = z.lazy(() =>
  z.union([
    z.number().refine(Number.isFinite, "numbers must be finite"),
    z.string(),
    z.boolean(),
    z.null(),
    z.array(metricValue),
    z.record(z.string(), metricValue),
  ]),
);

/** Schema of a metrics object (any JSON object with finite numbers). */
export const metricsSchema: z.ZodType<Metrics> = z.record(z.string(), metricValue);

/**
 * Canonical JSON text of a value: sorted keys, no whitespace. Throws a RangeError for non-finite numbers or
 * values JSON cannot hold.
 *
 * @example
 * canonicalJson({ loss: 0.5, f1: 0.75, n: 120 }); // '{"f1":0.75,"loss":0.5,"n":120}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`${value} cannot appear in canonical JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    const obj = value as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  throw new RangeError(`a ${typeof value} cannot appear in canonical JSON`);
}

/**
 * The metrics hash committed on the chain: SHA-256 of the canonical JSON, as bytes32 hex.
 *
 * @example
 * metricsHash({ macroF1: 0.71, loss: 0.42, numValidation: 200 }); // "0x…"
 */
export function metricsHash(metrics: Metrics): string {
  return sha256Hex(canonicalJson(metrics));
}

/**
 * Parses metrics JSON text (as a site sends it) into a validated object. Throws a RangeError with a one-line
 * reason when the text is not JSON, not an object, holds a non-finite number or is too long once canonical.
 */
export function parseMetrics(text: string): Metrics {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RangeError("metrics are not valid JSON");
  }
  const reserved = findReservedKey(raw);
  if (reserved !== undefined) {
    throw new RangeError(`metrics may not use the key "__proto__"${reserved ? ` (at ${reserved})` : ""}`);
  }
  const parsed = metricsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new RangeError(`metrics must be a JSON object of finite values (${issue.message}${where})`);
  }
  const size = Buffer.byteLength(canonicalJson(parsed.data), "utf8");
  if (size > MAX_METRICS_BYTES)
    throw new RangeError(`metrics take ${size} bytes as canonical JSON, more than ${MAX_METRICS_BYTES}`);
  return parsed.data;
}

/**
 * The path of the first "__proto__" key in a parsed JSON value ("" for the top level), or undefined.
 * Such a key cannot survive being copied into a plain object, so a hash over it could never be checked.
 */
function findReservedKey(value: unknown, path = ""): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key === "__proto__") return path;
    const found = findReservedKey(child, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}
