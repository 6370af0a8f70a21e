/**
 * The privacy budget, re-derived from chain data alone (docs/audit.md, "The privacy budget"). For every task on
 * a model's lineage the auditor fetches the model spec by its on-chain spec hash (from the store, where the
 * spec's canonical JSON is the object named by that hash, or from the `.spec.json` next to the model file when
 * it hashes to the same value). When the spec has `training.dp`, each site's ε is recomputed from the number of
 * rounds of the task, up to the lineage's last round of that task, in which the site committed an update
 * (UpdateCommitted events, aborted and left-out rounds included: the site trained and published), with
 * `siteEpsilon` of node/privacy/budget.ts. Two links can break:
 *
 * - `dp_budget_exceeded`: a site's recomputed ε passes the task's `epsilonBudget`;
 * - `dp_epsilon_mismatch`: the `dpEpsilon` (or `dpRounds`) a site committed in its metrics for a round (values
 *   from the store's upload record, used only when they hash to the committed metrics hash) differs from the
 *   recomputation for that round by more than EPSILON_RELATIVE_TOLERANCE (relative), or is missing.
 */
import { metricsHash, type Metrics } from "../fl";
import { readSpecFile, specPathFor } from "../model/files";
import { parseSpec, specHash, type ModelSpec } from "../model/spec";
import { dpSteps, epsilonAgrees, EPSILON_RELATIVE_TOLERANCE, siteEpsilon } from "../privacy/budget";
import type { BrokenLink } from "./brokenLink";
import type { ObjectSource, StoredUpload } from "./objectSource";
import type { Lineage } from "./traceLineage";

/** Where the audit found a task's spec. */
export type SpecSource = "store" | "model file" | "unavailable";

/** One site's privacy spend on one task, as the auditor recomputed it. */
export interface AuditedSitePrivacy {
  site: string;
  siteName: string | null;
  /** Rounds of the task (up to the lineage's last round of it) in which the site committed an update. */
  roundsJoined: number;
  /** ε over those rounds at the spec's δ. */
  epsilon: number;
  withinBudget: boolean;
  /** Committed updates whose metrics were available and carried the ε the recomputation gives. */
  reportsAgreeing: number;
  /** Committed updates whose metrics values were not available (the store holds no upload record). */
  reportsUnavailable: number;
}

/** The privacy budget of one task on the lineage. */
export interface AuditedTaskPrivacy {
  task: string;
  specHash: string;
  spec: SpecSource;
  /** The spec's DP settings and steps per round, or null when the task trains without DP or the spec is unavailable. */
  dp: {
    clipNorm: number;
    noiseMultiplier: number;
    sampleRate: number;
    delta: number;
    epsilonBudget: number;
    noise: string;
    epochs: number;
    stepsPerRound: number;
  } | null;
  sites: AuditedSitePrivacy[];
}

/** The store's upload records of each round on the path, by `${task}:${round}`. */
export type UploadsByRound = Map<string, StoredUpload[] | undefined>;

/**
 * The metric values a site committed in a round (they must hash to `metricsHash`), or undefined when unknown.
 */
export type CommittedMetrics = (
  task: string,
  round: number,
  site: string,
  metricsHash: string,
) => Metrics | undefined;

/** Committed metrics from the store's upload records, each checked against the committed hash. */
export function metricsFromUploads(uploads: UploadsByRound): CommittedMetrics {
  return (task, round, site, hash) => {
    const record = uploads
      .get(`${task}:${round}`)
      ?.find((u) => !u.problem && u.site.toLowerCase() === site.toLowerCase());
    if (!record) return undefined;
    try {
      return metricsHash(record.metrics) === hash.toLowerCase() ? record.metrics : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Parameters of {@link auditPrivacy}. */
export interface AuditPrivacyParameters {
  lineage: Lineage;
  /** Where a spec may be stored under its hash; without it only the model file's spec is looked at. */
  source?: ObjectSource;
  /** The audited model file, whose `<file>.spec.json` may hold a task's spec. */
  modelFile?: string;
  /** The metric values each site committed. */
  metrics: CommittedMetrics;
  /** Site names by lower-case address. */
  siteName: (site: string) => string | null;
}

async function specFromStore(source: ObjectSource, hash: string): Promise<ModelSpec | undefined> {
  const got = await source.fetch(hash);
  if (got.status !== "ok") return undefined;
  try {
    const spec = parseSpec(JSON.parse(got.bytes.toString("utf8")));
    return specHash(spec) === hash.toLowerCase() ? spec : undefined;
  } catch {
    return undefined;
  }
}

async function specFromModelFile(file: string | undefined, hash: string): Promise<ModelSpec | undefined> {
  if (!file) return undefined;
  try {
    const spec = await readSpecFile(specPathFor(file));
    return specHash(spec) === hash.toLowerCase() ? spec : undefined;
  } catch {
    return undefined;
  }
}

/** Finds the spec whose hash the task recorded: in the store, else next to the model file. */
export async function findTaskSpec(
  source: ObjectSource | undefined,
  hash: string,
  modelFile?: string,
): Promise<{ spec: ModelSpec | undefined; from: SpecSource }> {
  const stored = source ? await specFromStore(source, hash) : undefined;
  if (stored) return { spec: stored, from: "store" };
  const beside = await specFromModelFile(modelFile, hash);
  if (beside) return { spec: beside, from: "model file" };
  return { spec: undefined, from: "unavailable" };
}

function formatEpsilon(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(12) : String(x);
}

/**
 * Recomputes every site's ε for every DP task on the lineage and returns the per-task figures and the broken
 * links (budget passed, reported ε wrong). Tasks without DP, or whose spec is unavailable, give no links.
 */
export async function auditPrivacy(
  params: AuditPrivacyParameters,
): Promise<{ privacy: AuditedTaskPrivacy[]; links: BrokenLink[] }> {
  const { lineage } = params;
  const privacy: AuditedTaskPrivacy[] = [];
  const links: BrokenLink[] = [];
  for (const t of lineage.tasks) {
    const task = t.task.taskId.toString();
    const { spec, from } = await findTaskSpec(params.source, t.task.specHash, params.modelFile);
    const entry: AuditedTaskPrivacy = { task, specHash: t.task.specHash, spec: from, dp: null, sites: [] };
    privacy.push(entry);
    const dp = spec?.training.dp;
    if (!spec || !dp) continue;
    const epochs = spec.training.epochs;
    entry.dp = { ...dp, epochs, stepsPerRound: dpSteps(dp, epochs, 1) };
    const lastRound = Math.max(0, ...t.rounds.map((r) => r.round));
    // Every commit of the task up to the lineage's last round of it, by site, with its round.
    const roundsBySite = new Map<string, { site: string; rounds: number[] }>();
    for (const [round, commits] of t.events.commits) {
      if (round > lastRound) continue;
      for (const c of commits) {
        const key = c.site.toLowerCase();
        const s = roundsBySite.get(key) ?? { site: c.site, rounds: [] };
        s.rounds.push(round);
        roundsBySite.set(key, s);
      }
    }
    for (const s of roundsBySite.values()) s.rounds.sort((a, b) => a - b);
    const joinedBy = (site: string, round: number) =>
      (roundsBySite.get(site.toLowerCase())?.rounds ?? []).filter((r) => r <= round).length;

    const perSite = new Map<string, AuditedSitePrivacy>();
    for (const [key, s] of [...roundsBySite.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const roundsJoined = s.rounds.length;
      const epsilon = siteEpsilon(dp, epochs, roundsJoined);
      const audited: AuditedSitePrivacy = {
        site: s.site,
        siteName: params.siteName(key),
        roundsJoined,
        epsilon,
        withinBudget: epsilon <= dp.epsilonBudget,
        reportsAgreeing: 0,
        reportsUnavailable: 0,
      };
      perSite.set(key, audited);
      entry.sites.push(audited);
      if (!audited.withinBudget)
        links.push({
          code: "dp_budget_exceeded",
          message:
            `task ${task}, site ${s.site}${audited.siteName ? ` ${audited.siteName}` : ""}: committed updates in ` +
            `${roundsJoined} round(s) (${s.rounds.join(", ")}), which spend ε ${formatEpsilon(epsilon)} (δ ${dp.delta}), ` +
            `more than the task's budget of ${dp.epsilonBudget}`,
          task,
          round: s.rounds[s.rounds.length - 1],
          site: s.site,
          expected: `ε ≤ ${dp.epsilonBudget}`,
          found: formatEpsilon(epsilon),
        });
    }

    // What each site reported in the metrics it committed, round by round on the path.
    for (const r of t.rounds) {
      for (const c of r.commits) {
        const audited = perSite.get(c.site.toLowerCase()) as AuditedSitePrivacy;
        const committed = params.metrics(task, r.round, c.site, c.metricsHash);
        if (!committed) {
          audited.reportsUnavailable += 1;
          continue;
        }
        const joined = joinedBy(c.site, r.round);
        const expected = siteEpsilon(dp, epochs, joined);
        const reported = committed.dpEpsilon;
        const reportedRounds = committed.dpRounds;
        const where = `round ${r.round} of task ${task}, site ${c.site}${audited.siteName ? ` ${audited.siteName}` : ""}`;
        if (typeof reported !== "number" || !epsilonAgrees(reported, expected))
          links.push({
            code: "dp_epsilon_mismatch",
            message:
              `${where}: the committed metrics report ε ${typeof reported === "number" ? formatEpsilon(reported) : "(none)"}, ` +
              `but ${joined} round(s) of the task's DP settings spend ${formatEpsilon(expected)} ` +
              `(tolerance ${EPSILON_RELATIVE_TOLERANCE} relative)`,
            task,
            round: r.round,
            site: c.site,
            expected: formatEpsilon(expected),
            found: typeof reported === "number" ? formatEpsilon(reported) : "missing",
          });
        else if (reportedRounds !== joined)
          links.push({
            code: "dp_epsilon_mismatch",
            message: `${where}: the committed metrics report ${String(reportedRounds)} round(s) joined, but the chain shows ${joined}`,
            task,
            round: r.round,
            site: c.site,
            expected: String(joined),
            found: String(reportedRounds),
          });
        else audited.reportsAgreeing += 1;
      }
    }
  }
  return { privacy, links };
}
