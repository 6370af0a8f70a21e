/**
 * The family tree of a model as plain JSON: the genesis, every round on the path with its sites, sample
 * counts, update hashes, metrics hashes (and metric values when the store has them and they hash to the
 * committed value), blocks and times. Built from a traced lineage without re-aggregating anything.
 */
import { metricsHash, type Metrics } from "../fl";
import { findIncludedSet } from "./includedSet";
import type { BrokenLink } from "./brokenLink";
import type { ObjectSource } from "./objectSource";
import { auditPrivacy, type AuditedTaskPrivacy } from "./privacyAudit";
import { siteName } from "./siteLabel";
import type { SiteRegistryView } from "./siteRegistry";
import type { Lineage, LineageRound } from "./traceLineage";
import type { RecordedRound } from "./auditReport";

/** One site's update in a round of the lineage. */
export interface LineageSite {
  site: string;
  name: string | null;
  numSamples: string;
  updateHash: string;
  metricsHash: string;
  /** The site's metric values, when the store has them and they hash to `metricsHash`; else null. */
  metrics: Metrics | null;
  /** Where the values came from: "upload record" or "round document", or null. */
  metricsSource: string | null;
  commitBlock: number;
  committedAt: string | null;
  /** Whether the update is under the round's updates root (null when no set of commits gives the root). */
  included: boolean | null;
}

/** One round of the lineage. */
export interface LineageDocumentRound extends RecordedRound {
  /** Mean of each numeric metric over the included sites whose values are known. */
  metricsMean: Record<string, number>;
  openedAtBlock: number;
  openedAt: string | null;
  finalizedAtBlock: number;
  finalizedAt: string | null;
  sites: LineageSite[];
}

/** The JSON form of `fedledger audit lineage`. */
export interface LineageDocument {
  format: "fedledger-lineage-v1";
  model: { hash: string; task: string; round: number; recordedAtBlock: number };
  chain: { chainId: string; ledger: string };
  genesis: { modelHash: string; task: string; recordedAtBlock: number; recordedAt: string | null };
  tasks: {
    task: string;
    aggregationRule: number;
    genesisModelHash: string;
    specHash: string;
    createdAtBlock: number;
    abortedRounds: { round: number; commitCount: number; reason: number }[];
  }[];
  rounds: LineageDocumentRound[];
  /** Per task: the spec's DP settings and each site's ε recomputed from the chain (privacyAudit.ts). */
  privacy: AuditedTaskPrivacy[];
  /** Privacy links that do not hold (a site over its budget, a reported ε that is wrong); they fail the command. */
  privacyBreaks: BrokenLink[];
}

const ZERO_HASH = /^0x0{64}$/;

function iso(times: ReadonlyMap<number, number>, block: number): string | null {
  const t = times.get(block);
  return t === undefined ? null : new Date(t * 1000).toISOString();
}

function isMetrics(value: unknown): value is Metrics {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Site metrics the store holds for a round, each checked against the hash the site committed. */
async function knownMetrics(
  source: ObjectSource | undefined,
  round: LineageRound,
): Promise<Map<string, { metrics: Metrics; from: string }>> {
  const known = new Map<string, { metrics: Metrics; from: string }>();
  if (!source) return known;
  const committed = new Map(round.commits.map((c) => [c.site.toLowerCase(), c.metricsHash.toLowerCase()]));
  const accept = (site: unknown, metrics: unknown, from: string) => {
    if (typeof site !== "string" || !isMetrics(metrics)) return;
    const key = site.toLowerCase();
    if (known.has(key)) return;
    try {
      if (metricsHash(metrics) === committed.get(key)) known.set(key, { metrics, from });
    } catch {
      // Values that cannot be hashed canonically cannot match a commitment.
    }
  };
  for (const r of (await source.uploads(round.taskId, round.round)) ?? [])
    accept(r.site, r.metrics, "upload record");
  if (!ZERO_HASH.test(round.finalized.metricsHash)) {
    const doc = await source.fetch(round.finalized.metricsHash);
    if (doc.status === "ok") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(doc.bytes.toString("utf8"));
      } catch {
        parsed = undefined;
      }
      const sites = (parsed as { sites?: unknown } | undefined)?.sites;
      if (Array.isArray(sites))
        for (const s of sites as { site?: unknown; metrics?: unknown }[])
          accept(s.site, s.metrics, "round document");
    }
  }
  return known;
}

function meanOf(values: Metrics[]): Record<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const m of values)
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "number") continue;
      const s = sums.get(k) ?? { total: 0, n: 0 };
      sums.set(k, { total: s.total + v, n: s.n + 1 });
    }
  return Object.fromEntries([...sums.entries()].sort().map(([k, s]) => [k, s.total / s.n]));
}

/** Options of {@link buildLineageDocument}. */
export interface BuildLineageDocumentParameters {
  lineage: Lineage;
  sites: SiteRegistryView;
  /** Where to look for metric values; without it only hashes are shown. */
  source?: ObjectSource;
  /** The model file, whose `.spec.json` may hold a task's spec. */
  modelFile?: string;
}

/**
 * Builds the lineage document. Reads from the store only the round metrics documents and upload records.
 *
 * @example
 * const doc = await buildLineageDocument({ lineage, sites, source });
 * doc.rounds.map((r) => r.modelHash);
 */
export async function buildLineageDocument(params: BuildLineageDocumentParameters): Promise<LineageDocument> {
  const { lineage, sites, source } = params;
  const times = lineage.blockTimes;
  const rounds: LineageDocumentRound[] = [];
  const known = new Map<string, Metrics>();
  for (const r of lineage.rounds) {
    const metrics = await knownMetrics(source, r);
    for (const [site, m] of metrics) known.set(`${r.taskId}:${r.round}:${site}`, m.metrics);
    const found = findIncludedSet({
      commits: r.commits,
      root: r.finalized.updatesRoot,
      includedCount: r.finalized.includedCount,
      available: new Set(r.commits.map((c) => c.site)),
    });
    const included = found.kind === "matched" ? new Set(found.sites.map((s) => s.toLowerCase())) : null;
    const siteRows: LineageSite[] = r.commits.map((c) => {
      const m = metrics.get(c.site.toLowerCase());
      return {
        site: c.site,
        name: siteName(sites, c.site),
        numSamples: c.numSamples.toString(),
        updateHash: c.updateHash,
        metricsHash: c.metricsHash,
        metrics: m?.metrics ?? null,
        metricsSource: m?.from ?? null,
        commitBlock: c.blockNumber,
        committedAt: iso(times, c.blockNumber),
        included: included ? included.has(c.site.toLowerCase()) : null,
      };
    });
    rounds.push({
      task: r.taskId.toString(),
      round: r.round,
      parentModelHash: r.finalized.parentModelHash,
      modelHash: r.finalized.modelHash,
      updatesRoot: r.finalized.updatesRoot,
      includedCount: r.finalized.includedCount,
      commitCount: r.commits.length,
      metricsHash: r.finalized.metricsHash,
      metricsMean: meanOf(
        siteRows.filter((s) => s.included !== false && s.metrics).map((s) => s.metrics as Metrics),
      ),
      openedAtBlock: r.opened.blockNumber,
      openedAt: iso(times, r.opened.blockNumber),
      finalizedAtBlock: r.finalized.blockNumber,
      finalizedAt: iso(times, r.finalized.blockNumber),
      sites: siteRows,
    });
  }
  const privacy = await auditPrivacy({
    lineage,
    source,
    modelFile: params.modelFile,
    metrics: (task, round, site) => known.get(`${task}:${round}:${site.toLowerCase()}`),
    siteName: (site) => siteName(sites, site),
  });
  return {
    format: "fedledger-lineage-v1",
    model: {
      hash: lineage.modelHash,
      task: lineage.provenance.taskId.toString(),
      round: lineage.provenance.round,
      recordedAtBlock: lineage.provenance.recordedAtBlock,
    },
    chain: { chainId: lineage.chainId.toString(), ledger: lineage.ledger },
    genesis: {
      modelHash: lineage.genesis.modelHash,
      task: lineage.genesis.taskId.toString(),
      recordedAtBlock: lineage.genesis.recordedAtBlock,
      recordedAt: iso(times, lineage.genesis.recordedAtBlock),
    },
    tasks: lineage.tasks.map((t) => ({
      task: t.task.taskId.toString(),
      aggregationRule: t.task.aggregationRule,
      genesisModelHash: t.task.genesisModelHash,
      specHash: t.task.specHash,
      createdAtBlock: t.task.blockNumber,
      abortedRounds: t.aborted.map((a) => ({ round: a.round, commitCount: a.commitCount, reason: a.reason })),
    })),
    rounds,
    privacy: privacy.privacy,
    privacyBreaks: privacy.links,
  };
}
