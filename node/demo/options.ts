/**
 * The demo's settings: the options a user passes (`npm run demo -- --sites 3`) and the tuning knobs that
 * size the data and the training, validated once here with one-line messages.
 */
import path from "node:path";
import { z } from "zod";
import { parseRpcUrl } from "../chain";
import { UsageError } from "../errors";

/** Most sites the demo runs (dev accounts site1 … site30; the embedded chain funds 35). */
export const MAX_DEMO_SITES = 30;

/**
 * The aggregation rule of the demo's task: sparse FedAvg (rule 2). Each language's feature rows are trained by
 * one site only, and plain FedAvg would shrink their updates to that site's share (docs/demo.md).
 */
export const DEMO_AGGREGATION_RULE = "fedavg-sparse" as const;

/**
 * The rule of a demo run: {@link DEMO_AGGREGATION_RULE}, or plain FedAvg under DP, where every update is dense
 * (noise on every value), so sparse FedAvg gives FedAvg's bytes anyway (docs/privacy.md).
 */
export function demoAggregationRule(settings: Pick<DemoSettings, "dpEpsilon">): "fedavg" | "fedavg-sparse" {
  return settings.dpEpsilon === undefined ? DEMO_AGGREGATION_RULE : "fedavg";
}

/** Settings of one demo run. */
export interface DemoSettings {
  /** Number of hospital sites, 1–30; languages cycle nb, sv, da, fi, et. */
  sites: number;
  /** Federated rounds. */
  rounds: number;
  /** An existing chain's JSON-RPC URL; when absent the demo starts an embedded chain. */
  rpc?: string;
  /** Leave chain, aggregator and sites running after the last round, until Ctrl-C. */
  keepRunning: boolean;
  /** Output folder (absolute). */
  out: string;
  /** Seed of the synthetic notes, the genesis model and the training shuffles. */
  seed: number;
  /** Training notes generated per site. */
  notesPerSite: number;
  /** Held-out notes per language for the evaluation. */
  testNotesPerLang: number;
  /** Local epochs per round at each site (the model spec's training.epochs). */
  localEpochs: number;
  /** Learning rate of local training (the model spec's training.lr). */
  learningRate: number;
  /** Fewest updates a round must include; defaults to every site (all sites take part in every round). */
  minSites: number;
  /** How long a round accepts commits, in seconds. */
  commitWindowSeconds: number;
  /** How often the aggregator steps and the sites poll the chain, in milliseconds. */
  pollIntervalMs: number;
  /** Hash buckets of the model's feature table (a power of two); the model spec's default when absent. */
  buckets?: number;
  /** Skip the local-only and centralized baselines (tests use this to save time). */
  skipBaselines: boolean;
  /** Train with DP-SGD: each site's ε budget over the task (σ is derived for the planned rounds). */
  dpEpsilon?: number;
  /** δ of the DP guarantee (with dpEpsilon). */
  dpDelta: number;
}

/** Defaults of {@link DemoSettings}, tuned so the default run finishes within 3 minutes on 2 cores. */
export const DEMO_DEFAULTS = {
  sites: 5,
  rounds: 5,
  keepRunning: false,
  out: "demo-out",
  seed: 1,
  notesPerSite: 800,
  testNotesPerLang: 1000,
  localEpochs: 3,
  learningRate: 0.03,
  commitWindowSeconds: 120,
  pollIntervalMs: 500,
  skipBaselines: false,
  dpDelta: 1e-5,
} as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const settingsSchema = z
  .object({
    sites: int(1, MAX_DEMO_SITES).default(DEMO_DEFAULTS.sites),
    rounds: int(1, 1000).default(DEMO_DEFAULTS.rounds),
    rpc: z.string().min(1).optional(),
    keepRunning: z.boolean().default(DEMO_DEFAULTS.keepRunning),
    out: z.string().min(1).default(DEMO_DEFAULTS.out),
    seed: int(0, 2 ** 31 - 1).default(DEMO_DEFAULTS.seed),
    notesPerSite: int(10, 1_000_000).default(DEMO_DEFAULTS.notesPerSite),
    testNotesPerLang: int(10, 1_000_000).default(DEMO_DEFAULTS.testNotesPerLang),
    localEpochs: int(1, 1000).default(DEMO_DEFAULTS.localEpochs),
    learningRate: z.number().gt(0).max(10).default(DEMO_DEFAULTS.learningRate),
    minSites: int(1, MAX_DEMO_SITES).optional(),
    commitWindowSeconds: int(5, 86_400).default(DEMO_DEFAULTS.commitWindowSeconds),
    pollIntervalMs: int(50, 60_000).default(DEMO_DEFAULTS.pollIntervalMs),
    buckets: int(16, 1 << 24)
      .refine((b) => (b & (b - 1)) === 0, { message: "must be a power of two" })
      .optional(),
    skipBaselines: z.boolean().default(DEMO_DEFAULTS.skipBaselines),
    dpEpsilon: z.number().gt(0).max(1e6).optional(),
    dpDelta: z.number().gt(0).lt(1).default(DEMO_DEFAULTS.dpDelta),
  })
  .strict();

/** Flag names as the user types them, for messages. */
const FLAGS: Record<string, string> = {
  sites: "--sites",
  rounds: "--rounds",
  rpc: "--rpc",
  keepRunning: "--keep-running",
  out: "--out",
  seed: "--seed",
  notesPerSite: "--notes",
  testNotesPerLang: "--test-notes",
  localEpochs: "--epochs",
  learningRate: "--lr",
  minSites: "--min-sites",
  commitWindowSeconds: "--commit-window",
  pollIntervalMs: "--poll-ms",
  buckets: "--buckets",
  skipBaselines: "--skip-baselines",
  dpEpsilon: "--dp-epsilon",
  dpDelta: "--dp-delta",
};

/**
 * Validates demo settings (from flags or a caller) and fills in defaults. Throws a UsageError naming the
 * first wrong option, for example `--sites must be between 1 and 30`.
 *
 * @example
 * const settings = parseDemoSettings({ sites: 3, rounds: 2, out: "/tmp/demo" });
 */
export function parseDemoSettings(input: Partial<DemoSettings> | Record<string, unknown>): DemoSettings {
  const parsed = settingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue.path[0] ?? "");
    const flag = FLAGS[key] ?? (key || "an option");
    throw new UsageError(
      `${flag} is invalid: ${issue.message}`,
      "Run `npm run demo -- --help` for the options",
    );
  }
  const s = parsed.data;
  if (s.rpc !== undefined) parseRpcUrl(s.rpc);
  const minSites = s.minSites ?? s.sites;
  if (minSites > s.sites)
    throw new UsageError(
      `--min-sites ${minSites} is more than --sites ${s.sites}`,
      "Pass a minimum no larger than the number of sites",
    );
  return { ...s, out: path.resolve(s.out), minSites };
}
