/**
 * The checks of one round on a model's path: the chain's storage agrees with the events, every commit leaf
 * matches, the store's upload records agree with the commits, the included set rebuilds the recorded root,
 * every included update's bytes hash to its commit, every included site was Active when it committed, and
 * re-running the task's aggregation rule on the parent and those updates gives the recorded model. Then the
 * round's findings (roundFindings.ts): valid updates left out, and free riders.
 */
import { roundStatusName, type RoundStatusName } from "../chain";
import { commitLeaf, AggregationError, type AggregationRule } from "../fl";
import { hashModelBytes } from "../model/format";
import { FedledgerError } from "../errors";
import type { AuditedRound, AuditedUpdate } from "./auditReport";
import type { BrokenLink } from "./brokenLink";
import { findIncludedSet } from "./includedSet";
import { roundFindings } from "./roundFindings";
import type { FetchedObject, ObjectSource } from "./objectSource";
import type { RoundInputs } from "./roundInputs";
import { siteLabel, siteName } from "./siteLabel";
import { statusAt, type SiteRegistryView } from "./siteRegistry";
import type { LineageRound } from "./traceLineage";

/** The ledger's stored view of a round (getRound), as the audit compares it with the events. */
export interface StoredRound {
  status: bigint;
  commitCount: bigint;
  includedCount: bigint;
  baseModelHash: string;
  updatesRoot: string;
  modelHash: string;
}

/** Everything one round's audit needs. */
export interface AuditRoundParameters {
  round: LineageRound;
  stored: StoredRound;
  /** commitLeaf(task, round, site) for each commit, in the order of `round.commits`. */
  storedLeaves: readonly string[];
  /** The parent model's bytes, or null when they could not be obtained. */
  parent: Buffer | null;
  /** The task's aggregation rule, or null when this build does not know it (reported for the task already). */
  rule: AggregationRule | null;
  source: ObjectSource;
  /** The round's upload records and update bytes (fetchRoundInputs). */
  inputs: RoundInputs;
  sites: SiteRegistryView;
  /** Every commit on the path by update hash, to name another site's update found in the wrong place. */
  commitsByHash: ReadonlyMap<string, { task: bigint; round: number; site: string }>;
  blockTimes: ReadonlyMap<number, number>;
}

/** A round's audit and the bytes of its model, when known, for the next round. */
export interface AuditRoundResult {
  audited: AuditedRound;
  /** The round's model bytes (recomputed and matching, or fetched intact from the store), else null. */
  model: Buffer | null;
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** What every check of one round shares: its inputs, how it names the round, and where broken links go. */
interface RoundCheck {
  params: AuditRoundParameters;
  where: string;
  finalized: LineageRound["finalized"];
  link: (l: Omit<BrokenLink, "task" | "round">) => void;
}

/** Check 1: the ledger's storage agrees with its events (`chain_inconsistent`). */
function checkStorage({ params, where, finalized: f, link }: RoundCheck): void {
  const { stored, round } = params;
  const storage: [string, string, string][] = [
    ["status", roundStatusName(stored.status), "Finalized" satisfies RoundStatusName],
    ["base model", stored.baseModelHash, f.parentModelHash],
    ["updates root", stored.updatesRoot, f.updatesRoot],
    ["model", stored.modelHash, f.modelHash],
    ["includedCount", stored.includedCount.toString(), String(f.includedCount)],
    ["commitCount", stored.commitCount.toString(), String(round.commits.length)],
  ];
  for (const [field, inStorage, inEvents] of storage)
    if (!same(inStorage, inEvents))
      link({
        code: "chain_inconsistent",
        message: `${where}: the ledger's storage says ${field} ${inStorage}, but its events say ${inEvents}`,
        expected: inStorage,
        found: inEvents,
      });
}

/** Check 2: each commit's event values give the leaf the ledger stored (`commit_leaf_mismatch`). */
function checkCommitLeaves({ params, where, link }: RoundCheck): AuditedUpdate[] {
  const { round, sites } = params;
  return round.commits.map((c, i) => {
    const leaf = commitLeaf(c.site, c.updateHash, c.numSamples);
    const storedLeaf = params.storedLeaves[i];
    if (!same(leaf, storedLeaf))
      link({
        code: "commit_leaf_mismatch",
        message:
          `${where}, site ${siteLabel(sites, c.site)}: the ledger stores commit leaf ${storedLeaf}, but the ` +
          `UpdateCommitted event (update ${c.updateHash}, ${c.numSamples} samples) gives leaf ${leaf}`,
        site: c.site,
        expected: storedLeaf,
        found: leaf,
      });
    return {
      site: c.site,
      siteName: siteName(sites, c.site),
      updateHash: c.updateHash,
      numSamples: c.numSamples.toString(),
      metricsHash: c.metricsHash,
      commitBlock: c.blockNumber,
      commitTransaction: c.transactionHash,
      statusAtCommit: statusAt(sites, c.site, c.blockNumber, c.logIndex),
      storedLeaf,
      leafMatches: same(leaf, storedLeaf),
      included: false,
      bytes: "missing",
      bytesHash: null,
    };
  });
}

/** Check 3: the store's upload records, when it keeps them, say what the sites committed (`upload_record_mismatch`). */
function checkUploadRecords({ params, where, link }: RoundCheck): void {
  const { round, sites } = params;
  for (const r of params.inputs.records ?? []) {
    if (r.problem !== undefined) {
      link({
        code: "upload_record_mismatch",
        message: `${where}: the store's upload record of site ${r.site} cannot be read: ${r.problem}`,
        site: r.site,
        expected: "a valid upload record",
        found: "unreadable",
      });
      continue;
    }
    const c = round.commits.find((x) => same(x.site, r.site));
    if (!c) {
      link({
        code: "upload_record_mismatch",
        message: `${where}: the store holds an upload record of site ${r.site}, which made no commit in this round`,
        site: r.site,
        expected: "no upload",
        found: r.updateHash,
      });
      continue;
    }
    const fields: [string, string, string][] = [
      ["update hash", c.updateHash, r.updateHash],
      ["sample count", c.numSamples.toString(), r.numSamples],
      ["metrics hash", c.metricsHash, r.metricsHash],
    ];
    for (const [field, onChain, inRecord] of fields)
      if (!same(onChain, inRecord))
        link({
          code: "upload_record_mismatch",
          message:
            `${where}, site ${siteLabel(sites, c.site)}: the store's upload record says ${field} ${inRecord}, ` +
            `but the site committed ${onChain} on the chain`,
          site: c.site,
          expected: onChain,
          found: inRecord,
        });
  }
}

/**
 * Check 4: the included set. The committed updates the store holds intact are the first guess; the set must
 * give the recorded updates root and count (`included_count_mismatch`, `updates_root_mismatch`).
 */
function checkIncludedSet(
  { params, where, finalized: f, link }: RoundCheck,
  updates: AuditedUpdate[],
): ReturnType<typeof findIncludedSet> {
  const { round } = params;
  for (const u of updates) {
    const got = params.inputs.fetched.get(u.site.toLowerCase()) as FetchedObject;
    u.bytes = got.status;
    u.bytesHash = got.status === "corrupt" ? got.actualHash : null;
  }
  const available = new Set(updates.filter((u) => u.bytes === "ok").map((u) => u.site));
  const found = findIncludedSet({
    commits: round.commits,
    root: f.updatesRoot,
    includedCount: f.includedCount,
    available,
  });
  if (found.kind === "count-mismatch")
    link({
      code: "included_count_mismatch",
      message:
        `${where}: the updates root ${f.updatesRoot} covers ${found.sites.length} committed update(s) ` +
        `(sites ${found.sites.join(", ")}), but the round records includedCount ${f.includedCount}`,
      expected: String(f.includedCount),
      found: String(found.sites.length),
    });
  else if (found.kind !== "matched")
    link({
      code: "updates_root_mismatch",
      message:
        `${where}: the recorded updates root ${f.updatesRoot} is not the Merkle root of any set of the ` +
        `round's ${round.commits.length} committed updates${found.exhaustive ? "" : ` (searched ${found.tried} sets)`}; ` +
        `the root over all of them is ${found.allCommitsRoot}`,
      expected: f.updatesRoot,
      found: found.allCommitsRoot,
    });
  return found;
}

/**
 * Check 5: every included update has intact bytes in the store and came from a site that was Active when it
 * committed (`update_missing`, `update_hash_mismatch`, `site_not_active`).
 */
function checkIncludedUpdates(
  { params, where, link }: RoundCheck,
  updates: AuditedUpdate[],
  included: LineageRound["commits"],
): void {
  const { sites, source } = params;
  for (const u of updates) u.included = included.some((c) => same(c.site, u.site));
  for (const c of included) {
    const u = updates.find((x) => same(x.site, c.site)) as AuditedUpdate;
    const label = siteLabel(sites, c.site);
    if (u.bytes === "missing")
      link({
        code: "update_missing",
        message: `${where}, site ${label}: the included update ${c.updateHash} is missing from the store ${source.location}`,
        site: c.site,
        expected: c.updateHash,
        found: "missing",
      });
    else if (u.bytes === "corrupt") {
      const other = params.commitsByHash.get((u.bytesHash as string).toLowerCase());
      const whose = other
        ? `, which is the update site ${siteLabel(sites, other.site)} committed in round ${other.round} of task ${other.task}`
        : "";
      link({
        code: "update_hash_mismatch",
        message: `${where}, site ${label}: the store's bytes for update ${c.updateHash} hash to ${u.bytesHash}${whose}`,
        site: c.site,
        expected: c.updateHash,
        found: u.bytesHash as string,
      });
    }
    if (u.statusAtCommit !== "Active")
      link({
        code: "site_not_active",
        message: `${where}, site ${label}: the site was ${u.statusAtCommit}, not Active, when it committed update ${c.updateHash} at block ${c.blockNumber}`,
        site: c.site,
        expected: "Active",
        found: u.statusAtCommit,
      });
  }
}

/**
 * Check 6: re-run the aggregation rule on the parent and the included updates, and compare the model hash
 * (`parent_unavailable`, `model_mismatch`, `update_unusable`). Returns the recomputed hash (null when the
 * rule could not run) and the model's bytes when they match.
 */
async function checkAggregation(
  { params, where, finalized: f, link }: RoundCheck,
  included: LineageRound["commits"],
): Promise<{ recomputed: string | null; model: Buffer | null }> {
  const { fetched } = params.inputs;
  if (params.parent === null) {
    link({
      code: "parent_unavailable",
      message: `${where}: the parent model ${f.parentModelHash} could neither be recomputed nor fetched intact from the store, so the round cannot be re-aggregated`,
      expected: f.parentModelHash,
      found: "unavailable",
    });
    return { recomputed: null, model: null };
  }
  const rule = params.rule;
  if (rule === null) return { recomputed: null, model: null };
  try {
    const result = await rule.aggregate(
      params.parent,
      included.map((c) => ({
        site: c.site,
        numSamples: c.numSamples,
        bytes: async () => (fetched.get(c.site.toLowerCase()) as { bytes: Buffer }).bytes,
      })),
    );
    const recomputed = hashModelBytes(result);
    if (same(recomputed, f.modelHash))
      return { recomputed, model: Buffer.from(result.buffer, result.byteOffset, result.byteLength) };
    link({
      code: "model_mismatch",
      message:
        `${where}: re-running ${rule.name} on parent ${f.parentModelHash} and the ${included.length} included ` +
        `update(s) gives model ${recomputed}, but the round recorded ${f.modelHash}`,
      expected: f.modelHash,
      found: recomputed,
    });
    return { recomputed, model: null };
  } catch (err) {
    if (!(err instanceof FedledgerError)) throw err;
    const site = err instanceof AggregationError ? err.site : undefined;
    link({
      code: "update_unusable",
      message: `${where}: ${rule.name} cannot aggregate the included updates: ${err.message}`,
      site,
      expected: "aggregable updates",
      found: err.message,
    });
    return { recomputed: null, model: null };
  }
}

/**
 * Audits one round; never throws for a broken link (they are in `audited.brokenLinks`), only for an
 * unreachable store or chain. The checks run in the order docs/audit.md lists them (step 6 of `verify`).
 *
 * @example
 * const inputs = await fetchRoundInputs(source, round);
 * const { audited, model } = await auditRound({ round, stored, storedLeaves, parent, rule, source, inputs, sites, commitsByHash, blockTimes });
 */
export async function auditRound(params: AuditRoundParameters): Promise<AuditRoundResult> {
  const { round, sites, source } = params;
  const { fetched } = params.inputs;
  const task = round.taskId.toString();
  const links: BrokenLink[] = [];
  const f = round.finalized;
  const check: RoundCheck = {
    params,
    where: `round ${round.round} of task ${task}`,
    finalized: f,
    link: (l) => links.push({ ...l, task, round: round.round }),
  };

  checkStorage(check);
  const updates = checkCommitLeaves(check);
  checkUploadRecords(check);
  const found = checkIncludedSet(check, updates);
  const includedSites = found.kind === "matched" ? found.sites : null;
  const included = round.commits.filter((c) => includedSites?.some((s) => same(s, c.site)));
  checkIncludedUpdates(check, updates, included);
  const ready =
    includedSites !== null && included.every((c) => fetched.get(c.site.toLowerCase())?.status === "ok");
  const aggregated = ready ? await checkAggregation(check, included) : { recomputed: null, model: null };

  const time = params.blockTimes.get(f.blockNumber);
  const audited: AuditedRound = {
    task,
    round: round.round,
    parentModelHash: f.parentModelHash,
    modelHash: f.modelHash,
    updatesRoot: f.updatesRoot,
    includedCount: f.includedCount,
    commitCount: round.commits.length,
    metricsHash: f.metricsHash,
    openedAtBlock: round.opened.blockNumber,
    finalizedAtBlock: f.blockNumber,
    finalizedAt: time === undefined ? null : new Date(time * 1000).toISOString(),
    includedSetMethod: found.kind === "matched" ? found.method : null,
    recomputedModelHash: aggregated.recomputed,
    updates,
    verdict: "failed",
    brokenLinks: links,
    findings: roundFindings({ round, updates, fetched, parent: params.parent, sites }),
  };
  fetched.clear();

  // The next round needs this round's model: the recomputed bytes, or else the store's copy if intact.
  let model = aggregated.model;
  if (model === null) {
    const copy = await source.fetch(f.modelHash);
    if (copy.status === "ok") model = copy.bytes;
  }
  const checked = ready && params.parent !== null && params.rule !== null;
  audited.verdict = links.length > 0 ? "failed" : checked ? "passed" : "not checked";
  return { audited, model };
}
