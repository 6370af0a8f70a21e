/**
 * The aggregator's configuration file (JSON), validated with zod. Relative paths are resolved against the
 * directory of the config file. docs/protocol.md shows an example.
 */
import path from "node:path";
import { z } from "zod";
import {
  checkLedgerSource,
  ledgerSourceFields,
  resolveLedgerSourcePaths,
  resolveSignerPaths,
  signerConfigSchema,
  taskIdSchema,
} from "../chain";
import { UsageError } from "../errors";
import { readJsonFile } from "../jsonFile";
import { DEFAULT_READ_AUTH } from "./readAuth";

/** Default TCP port of the aggregator's HTTP API. */
export const DEFAULT_AGGREGATOR_PORT = 8760;
/** Default upload size limit: 64 MiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

/**
 * Defaults of the limits that keep hostile or broken clients from wrecking the service (docs/protocol.md,
 * docs/security.md). Every one can be set in the config file.
 */
export const DEFAULT_LIMITS = {
  /** Upload body bytes being received at once, over all sites (256 MiB). */
  maxUploadBytesInFlight: 256 * 1024 * 1024,
  /** Upload body bytes being received at once from one site (128 MiB: two full-size uploads). */
  maxUploadBytesInFlightPerSite: 128 * 1024 * 1024,
  /** Seconds a client is told to wait (Retry-After) when the in-flight caps are full. */
  retryAfterSeconds: 5,
  /** Largest committed sample count an upload may carry (uploads above it get too_many_samples). */
  maxNumSamples: 1_000_000,
  /** Largest L2 norm of an update (all float32 values); null turns the check off. */
  maxUpdateNorm: 1e6 as number | null,
  /** Longest wait between two driver steps after repeated failures, in milliseconds. */
  maxRetryDelayMs: 60_000,
} as const;

/** Defaults of the HTTP server's timeouts and connection cap. */
export const DEFAULT_HTTP = {
  /** Whole request, headers and body, in milliseconds (a 64 MiB upload at 2 Mbit/s takes about 270 s). */
  requestTimeoutMs: 300_000,
  /** Request headers, in milliseconds (slow-header clients are cut off after this). */
  headersTimeoutMs: 20_000,
  /** Idle keep-alive connection, in milliseconds. */
  keepAliveTimeoutMs: 5_000,
  /** Open TCP connections; more are closed at once. */
  maxConnections: 256,
} as const;

/** Schema of the config file. */
export const aggregatorConfigSchema = z
  .object({
    ...ledgerSourceFields,
    signer: signerConfigSchema,
    taskId: taskIdSchema,
    modelSpec: z.string().min(1),
    genesisModel: z.string().min(1),
    storeDir: z.string().min(1),
    listen: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(DEFAULT_AGGREGATOR_PORT),
      })
      .strict()
      .default({ host: "127.0.0.1", port: DEFAULT_AGGREGATOR_PORT }),
    maxUploadBytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 31)
      .default(DEFAULT_MAX_UPLOAD_BYTES),
    maxUploadBytesInFlight: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(DEFAULT_LIMITS.maxUploadBytesInFlight),
    maxUploadBytesInFlightPerSite: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(DEFAULT_LIMITS.maxUploadBytesInFlightPerSite),
    retryAfterSeconds: z.number().int().min(1).max(3_600).default(DEFAULT_LIMITS.retryAfterSeconds),
    maxNumSamples: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_LIMITS.maxNumSamples),
    maxUpdateNorm: z.number().positive().nullable().default(DEFAULT_LIMITS.maxUpdateNorm),
    http: z
      .object({
        requestTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(DEFAULT_HTTP.requestTimeoutMs),
        headersTimeoutMs: z.number().int().min(1_000).max(600_000).default(DEFAULT_HTTP.headersTimeoutMs),
        keepAliveTimeoutMs: z.number().int().min(0).max(600_000).default(DEFAULT_HTTP.keepAliveTimeoutMs),
        maxConnections: z.number().int().min(1).max(65_535).default(DEFAULT_HTTP.maxConnections),
      })
      .strict()
      .default({ ...DEFAULT_HTTP }),
    /** How long a signed read of a site's update is good for (readAuth.ts, docs/privacy.md). */
    readAuth: z
      .object({
        maxAgeSeconds: z.number().int().min(1).max(86_400).default(DEFAULT_READ_AUTH.maxAgeSeconds),
        maxFutureSeconds: z.number().int().min(0).max(3_600).default(DEFAULT_READ_AUTH.maxFutureSeconds),
      })
      .strict()
      .default({
        maxAgeSeconds: DEFAULT_READ_AUTH.maxAgeSeconds,
        maxFutureSeconds: DEFAULT_READ_AUTH.maxFutureSeconds,
      }),
    pollIntervalMs: z.number().int().min(10).max(600_000).default(2_000),
    maxRetryDelayMs: z.number().int().min(10).max(3_600_000).default(DEFAULT_LIMITS.maxRetryDelayMs),
    uploadGraceSeconds: z.number().int().min(0).max(86_400).default(30),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkLedgerSource(c, ctx);
    if (c.maxUploadBytesInFlightPerSite < c.maxUploadBytes)
      ctx.addIssue({
        code: "custom",
        message: "must be at least maxUploadBytes, or no full-size upload could be received",
        path: ["maxUploadBytesInFlightPerSite"],
      });
    if (c.maxUploadBytesInFlight < c.maxUploadBytesInFlightPerSite)
      ctx.addIssue({
        code: "custom",
        message: "must be at least maxUploadBytesInFlightPerSite",
        path: ["maxUploadBytesInFlight"],
      });
    if (c.http.headersTimeoutMs > c.http.requestTimeoutMs)
      ctx.addIssue({
        code: "custom",
        message: "headersTimeoutMs must not be above requestTimeoutMs",
        path: ["http", "headersTimeoutMs"],
      });
  });

/** A validated config with absolute paths. */
export type AggregatorConfig = z.output<typeof aggregatorConfigSchema>;

/**
 * Validates a parsed config object and resolves its paths against `baseDir`. Throws a UsageError naming the
 * first wrong field.
 */
export function parseAggregatorConfig(
  value: unknown,
  baseDir: string,
  source = "the config",
): AggregatorConfig {
  const parsed = aggregatorConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new UsageError(
      `${source} is invalid: ${where}${issue.message}`,
      "Fix the file (docs/protocol.md has an example)",
    );
  }
  const c = parsed.data;
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    ...c,
    ...resolveLedgerSourcePaths(c, baseDir),
    signer: resolveSignerPaths(c.signer, baseDir),
    modelSpec: abs(c.modelSpec),
    genesisModel: abs(c.genesisModel),
    storeDir: abs(c.storeDir),
  };
}

/**
 * Reads and validates a config file.
 *
 * @example
 * const config = await loadAggregatorConfig("aggregator.json");
 */
export async function loadAggregatorConfig(file: string): Promise<AggregatorConfig> {
  const json = await readJsonFile(file, "the aggregator config", { missing: "Pass --config <file>" });
  return parseAggregatorConfig(json, path.dirname(path.resolve(file)), `the aggregator config ${file}`);
}

/** The service settings a config gives: address, limits, timing. */
export function serviceSettings(config: AggregatorConfig) {
  return {
    host: config.listen.host,
    port: config.listen.port,
    maxUploadBytes: config.maxUploadBytes,
    pollIntervalMs: config.pollIntervalMs,
    uploadGraceSeconds: config.uploadGraceSeconds,
    limits: {
      maxUploadBytesInFlight: config.maxUploadBytesInFlight,
      maxUploadBytesInFlightPerSite: config.maxUploadBytesInFlightPerSite,
      retryAfterSeconds: config.retryAfterSeconds,
      maxNumSamples: config.maxNumSamples,
      maxUpdateNorm: config.maxUpdateNorm,
      maxRetryDelayMs: config.maxRetryDelayMs,
    },
    http: config.http,
    readAuth: config.readAuth,
  };
}
