/**
 * The site service's configuration file (JSON), validated with zod where it enters. Relative paths are resolved
 * against the directory of the config file. docs/site.md is the reference, with an example.
 */
import path from "node:path";
import { z } from "zod";
import { DEFAULT_MAX_DOWNLOAD_BYTES } from "../aggregator/cappedBody";
import {
  checkLedgerSource,
  httpUrlSchema,
  ledgerSourceFields,
  pathSchema,
  resolveLedgerSourcePaths,
  resolveSignerPaths,
  signerConfigSchema,
  taskIdSchema,
  type LedgerSourceConfig,
  type SignerConfig,
} from "../chain";
import { UsageError } from "../errors";
import { readJsonFile } from "../jsonFile";

/** Default time between two looks at the chain, in milliseconds. */
export const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** Default share of the local notes kept apart to evaluate the global models. */
export const DEFAULT_VALIDATION_SHARE = 0.2;
/** Default seed of the validation split and of the per-round training shuffle. */
export const DEFAULT_SEED = 1;

const path1 = pathSchema;

const taskSchema = z
  .object({
    id: taskIdSchema,
    modelSpec: path1,
    aggregator: httpUrlSchema.optional(),
  })
  .strict();

const trainingSchema = z
  .object({
    epochs: z.number().int().min(1).max(1000).optional(),
    lr: z.number().gt(0).max(100).optional(),
    batchSize: z.number().int().min(1).max(65536).optional(),
    seed: z.number().int().min(0).max(0xffffffff).default(DEFAULT_SEED),
  })
  .strict();

/** Schema of the site config file. */
export const siteConfigSchema = z
  .object({
    signer: signerConfigSchema,
    ...ledgerSourceFields,
    aggregator: httpUrlSchema.optional(),
    tasks: z.array(taskSchema).min(1, "list at least one task"),
    data: z.union([path1, z.array(path1).min(1, "list at least one data file")]),
    skipInvalidNotes: z.boolean().default(false),
    validationShare: z.number().min(0).max(0.9).default(DEFAULT_VALIDATION_SHARE),
    training: trainingSchema.default({ seed: DEFAULT_SEED }),
    stateDir: path1,
    pollIntervalMs: z.number().int().min(50).max(600_000).default(DEFAULT_POLL_INTERVAL_MS),
    maxRetryDelayMs: z.number().int().min(100).max(3_600_000).default(30_000),
    maxDownloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 40)
      .default(DEFAULT_MAX_DOWNLOAD_BYTES),
    keepRunning: z.boolean().default(false),
    /** Tests only: accept a task whose DP noise is "seeded-test-only" (predictable noise gives no privacy). */
    allowTestNoise: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    checkLedgerSource(c, ctx);
    c.tasks.forEach((t, i) => {
      if (!t.aggregator && !c.aggregator)
        ctx.addIssue({
          code: "custom",
          message: "no aggregator URL: set the top-level aggregator or this task's aggregator",
          path: ["tasks", i, "aggregator"],
        });
      if (c.tasks.findIndex((u) => u.id === t.id) !== i)
        ctx.addIssue({ code: "custom", message: `task ${t.id} is listed twice`, path: ["tasks", i, "id"] });
    });
  });

/** One task the site takes part in, with its aggregator resolved. */
export interface SiteTaskConfig {
  id: bigint;
  /** Absolute path of the model spec file; its specHash must equal the task's. */
  modelSpec: string;
  /** Base URL of the aggregator that serves this task. */
  aggregator: string;
}

/** A validated site config with absolute paths. */
export interface SiteConfig extends LedgerSourceConfig {
  signer: SignerConfig;
  tasks: SiteTaskConfig[];
  /** Absolute paths of the local note files (JSONL or CSV). */
  data: string[];
  /** Leave out invalid note records (counted in the site_started event) instead of refusing to start. */
  skipInvalidNotes: boolean;
  validationShare: number;
  training: { epochs?: number; lr?: number; batchSize?: number; seed: number };
  stateDir: string;
  pollIntervalMs: number;
  /** Longest wait between retries after failures, in milliseconds. */
  maxRetryDelayMs: number;
  /** Largest model the site downloads from an aggregator, in bytes; a larger answer is cut off and refused. */
  maxDownloadBytes: number;
  /** Keep running (idle) after every task has finished, instead of returning. */
  keepRunning: boolean;
  /** Tests only: train tasks whose DP noise is "seeded-test-only" instead of refusing to start. */
  allowTestNoise: boolean;
}

/** What to do about a wrong field, by its top-level name. */
const FIELD_HINTS: Record<string, string> = {
  signer:
    'Set "signer" to {"keystore": "<file>", "passwordFile": "<file>"} or, on the embedded chain, {"devAccount": "site1"}',
  rpc: 'Set "rpc" to the chain\'s JSON-RPC URL, e.g. "http://127.0.0.1:8545"',
  chainId: 'Set "chainId" to the chain\'s id (a positive integer, 31337 on the embedded chain)',
  deployment:
    'Set "deployment" to the file written by `fedledger deploy`, or give "ledger", "registry" and "rpc"',
  ledger: 'Set "ledger" and "registry" to the addresses from `fedledger deploy`',
  registry: 'Set "ledger" and "registry" to the addresses from `fedledger deploy`',
  aggregator: 'Set "aggregator" to the aggregator\'s URL, e.g. "http://127.0.0.1:8760"',
  tasks: 'Set "tasks" to a list like [{"id": 1, "modelSpec": "spec.json"}]',
  data: 'Set "data" to your notes file(s), e.g. ["notes.jsonl"]',
  skipInvalidNotes: 'Set "skipInvalidNotes" to true or false',
  validationShare: 'Set "validationShare" to a number from 0 to 0.9 (0.2 keeps a fifth of the notes apart)',
  training: 'Set "training" to {"seed": 1} plus optional "epochs", "lr" and "batchSize"',
  stateDir: 'Set "stateDir" to a directory the service may write, e.g. "site-state"',
  pollIntervalMs: 'Set "pollIntervalMs" to an integer from 50 to 600000',
  maxRetryDelayMs: 'Set "maxRetryDelayMs" to an integer from 100 to 3600000',
  maxDownloadBytes: 'Set "maxDownloadBytes" to a byte count of at least 1024 (default 268435456, 256 MiB)',
  keepRunning: 'Set "keepRunning" to true or false',
  allowTestNoise: 'Leave "allowTestNoise" out (it is for tests: seeded DP noise gives no privacy)',
};

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "is missing";
  if (issue.code === "unrecognized_keys")
    return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  return issue.message;
}

/**
 * Validates a parsed config object and resolves its paths against `baseDir`. Throws a UsageError naming the
 * first wrong field and what to put there.
 *
 * @example
 * const config = parseSiteConfig(JSON.parse(text), "/etc/fedledger", "site.json");
 */
export function parseSiteConfig(value: unknown, baseDir: string, source = "the site config"): SiteConfig {
  const parsed = siteConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    const field = typeof issue.path[0] === "string" ? issue.path[0] : "";
    throw new UsageError(
      `${source} is invalid: ${where}: ${describeIssue(issue)}`,
      FIELD_HINTS[field] ?? "Fix the file (docs/site.md lists every field, with an example)",
    );
  }
  const c = parsed.data;
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    signer: resolveSignerPaths(c.signer, baseDir),
    ...resolveLedgerSourcePaths(
      { rpc: c.rpc, chainId: c.chainId, deployment: c.deployment, ledger: c.ledger, registry: c.registry },
      baseDir,
    ),
    tasks: c.tasks.map((t) => ({
      id: t.id,
      modelSpec: abs(t.modelSpec),
      aggregator: (t.aggregator ?? c.aggregator) as string,
    })),
    data: (typeof c.data === "string" ? [c.data] : c.data).map(abs),
    skipInvalidNotes: c.skipInvalidNotes,
    validationShare: c.validationShare,
    training: c.training,
    stateDir: abs(c.stateDir),
    pollIntervalMs: c.pollIntervalMs,
    maxRetryDelayMs: c.maxRetryDelayMs,
    maxDownloadBytes: c.maxDownloadBytes,
    keepRunning: c.keepRunning,
    allowTestNoise: c.allowTestNoise,
  };
}

/**
 * Reads and validates a site config file.
 *
 * @example
 * const config = await loadSiteConfig("site.json");
 */
export async function loadSiteConfig(file: string): Promise<SiteConfig> {
  const json = await readJsonFile(file, "the site config", {
    missing: "Pass --config <file> (docs/site.md has an example)",
    invalid: "Fix the JSON syntax",
  });
  return parseSiteConfig(json, path.dirname(path.resolve(file)), `the site config ${file}`);
}
