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
  /** Securely aggregate every round (docs/secure-aggregation.md): the aggregator sees only sums. */
  secureAggregation: boolean;
  /** Kill one site's process at a secure-aggregation stage, to show a dropout (`--drop-site site3@upload`). */
  dropSite?: DropSite;
}

/** Where `--drop-site` kills a site: after advertising its keys, after sharing (before uploading), or after
 * uploading (before answering the unmasking request). */
export const DROP_STAGES = ["share", "upload", "unmask"] as const;

/** A site the demo kills at a stage. */
export interface DropSite {
  /** The site's 1-based position: `site3` (its dev account) or `site-03-da` (its folder) both name site 3. */
  index: number;
  stage: (typeof DROP_STAGES)[number];
}

/** Parses `--drop-site <site>@<stage>`; throws a UsageError naming what is wrong. */
export function parseDropSite(value: string, sites: number): DropSite {
  const match = /^site(?:([1-9][0-9]*)|-([0-9]{2,})-[a-z]{2})@([a-z]+)$/.exec(value);
  const stage = match?.[3] as DropSite["stage"] | undefined;
  if (!match || !stage || !DROP_STAGES.includes(stage))
    throw new UsageError(
      `--drop-site "${value}" is not <site>@<stage>`,
      `Name a site (site3 or site-03-da) and one of the stages ${DROP_STAGES.join(", ")}, e.g. --drop-site site3@upload`,
    );
  const index = Number(match[1] ?? match[2]);
  if (index < 1 || index > sites)
    throw new UsageError(
      `--drop-site names site ${index}, but the demo runs ${sites} site(s)`,
      `Name site1 … site${sites}`,
    );
  return { index, stage };
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
    secureAggregation: z.boolean().default(false),
    dropSite: z
      .union([z.string(), z.object({ index: z.number().int(), stage: z.enum(DROP_STAGES) })])
      .optional(),
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
  secureAggregation: "--secure-aggregation",
  dropSite: "--drop-site",
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
  const dropSite =
    typeof s.dropSite === "string"
      ? parseDropSite(s.dropSite, s.sites)
      : s.dropSite && parseDropSite(`site${s.dropSite.index}@${s.dropSite.stage}`, s.sites);
  if (dropSite && !s.secureAggregation)
    throw new UsageError(
      "--drop-site needs --secure-aggregation",
      "Add --secure-aggregation, or leave --drop-site out",
    );
  // A dropped site leaves the others to finish the round: by default every site but the dropped one.
  const minSites = s.minSites ?? (dropSite ? s.sites - 1 : s.sites);
  if (minSites > s.sites)
    throw new UsageError(
      `--min-sites ${minSites} is more than --sites ${s.sites}`,
      "Pass a minimum no larger than the number of sites",
    );
  if (s.secureAggregation && s.sites < 3)
    throw new UsageError("--secure-aggregation needs at least 3 sites", "Pass --sites 3 or more");
  return { ...s, out: path.resolve(s.out), minSites, dropSite };
}
