/**
 * The aggregator's configuration file (JSON), validated with zod. Relative paths are resolved against the
 * directory of the config file. docs/protocol.md shows an example.
 */
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
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

const address = z
  .string()
  .refine((v) => isAddress(v), { message: "must be a 0x-prefixed 20-byte address" })
  .transform((v) => getAddress(v));

const signerSchema = z.union([
  z
    .object({
      keystore: z.string().min(1),
      passwordEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
        .optional(),
      passwordFile: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ devAccount: z.string().min(1) }).strict(),
]);

/** Schema of the config file. */
export const aggregatorConfigSchema = z
  .object({
    rpc: z.string().url().optional(),
    chainId: z.number().int().positive().optional(),
    deployment: z.string().min(1).optional(),
    ledger: address.optional(),
    registry: address.optional(),
    signer: signerSchema,
    taskId: z
      .union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]*$/)])
      .transform((v) => BigInt(v)),
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
    /**
     * Benchmarks only: run the task with no chain at all (ledgerPort.ts). The rounds follow the ledger's rules
     * in memory with these parameters; the deployment (or ledger and chainId) only names the signature domain.
     */
    offLedger: z
      .object({
        sites: z.array(address).min(1),
        minSitesPerRound: z.number().int().min(1).max(65_535),
        commitWindowSeconds: z
          .number()
          .int()
          .min(1)
          .max(2 ** 32 - 1),
        roundsPlanned: z.number().int().min(1).max(65_535),
        /** The task's aggregation rule number (1 FedAvg, 2 sparse FedAvg); 1 when not given. */
        aggregationRule: z.number().int().min(1).max(255).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const addresses = (c.ledger ? 1 : 0) + (c.registry ? 1 : 0);
    if (addresses === 1)
      ctx.addIssue({
        code: "custom",
        message: "give both ledger and registry, or neither",
        path: ["ledger"],
      });
    if (addresses === 0 && !c.deployment)
      ctx.addIssue({
        code: "custom",
        message: "give a deployment file or the ledger and registry addresses",
        path: [],
      });
    if (addresses === 2 && c.deployment)
      ctx.addIssue({
        code: "custom",
        message: "give a deployment file or addresses, not both",
        path: ["deployment"],
      });
    if (addresses === 2 && c.offLedger && c.chainId === undefined)
      ctx.addIssue({
        code: "custom",
        message: "chainId is required when offLedger is set with addresses",
        path: ["chainId"],
      });
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
    if (addresses === 2 && !c.rpc && !c.offLedger)
      ctx.addIssue({
        code: "custom",
        message: "rpc is required when the addresses are given",
        path: ["rpc"],
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
    deployment: c.deployment === undefined ? undefined : abs(c.deployment),
    signer:
      "keystore" in c.signer
        ? {
            ...c.signer,
            keystore: abs(c.signer.keystore),
            ...(c.signer.passwordFile === undefined ? {} : { passwordFile: abs(c.signer.passwordFile) }),
          }
        : c.signer,
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

/** The service settings a config gives, the same with and without the ledger: address, limits, timing. */
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
