/**
 * The findings of one round (finding.ts): every committed update the aggregator left out although the store
 * holds it intact, it fits the parent's layout and its site was still Active when the round was finalised
 * (censorship); and every included update that is the parent model itself, a delta of zeros, or a delta whose
 * norm is below {@link LOW_NORM_SHARE} of the median norm of the round's other included updates (free riding).
 */
import { deltaNorm, sortedMedian, checkUpdate, UpdateCheckError } from "../fl";
import { readModelHeader, type TensorEntry } from "../model/format";
import type { AuditedUpdate } from "./auditReport";
import { LOW_NORM_SHARE, type AuditFinding } from "./finding";
import type { FetchedObject } from "./objectSource";
import { siteLabel } from "./siteLabel";
import { statusAt, type SiteRegistryView } from "./siteRegistry";
import type { LineageRound } from "./traceLineage";

/** Everything {@link roundFindings} needs. */
export interface RoundFindingsParameters {
  round: LineageRound;
  /** The round's audited updates, with `included` and `bytes` set. */
  updates: readonly AuditedUpdate[];
  /** What the store gave for each commit, by lower-case site address. */
  fetched: ReadonlyMap<string, FetchedObject>;
  /** The parent model's bytes, or null when unknown (then only the store and status checks apply). */
  parent: Buffer | null;
  sites: SiteRegistryView;
}

function layoutOf(parent: Buffer | null): TensorEntry[] | null {
  if (parent === null) return null;
  try {
    return readModelHeader(parent);
  } catch {
    return null;
  }
}

/** Header entries of `bytes` when they are a usable delta for `layout`, else null. */
function usable(bytes: Buffer, layout: readonly TensorEntry[]): TensorEntry[] | null {
  try {
    return checkUpdate(bytes, layout);
  } catch (err) {
    if (err instanceof UpdateCheckError) return null;
    throw err;
  }
}

/**
 * Returns the round's findings, left-out updates first, in the order of the round's commits.
 *
 * @example
 * const findings = roundFindings({ round, updates, fetched, parent, sites });
 */
export function roundFindings(params: RoundFindingsParameters): AuditFinding[] {
  const { round, updates, fetched, parent, sites } = params;
  const task = round.taskId.toString();
  const where = `round ${round.round} of task ${task}`;
  const f = round.finalized;
  const layout = layoutOf(parent);
  const findings: AuditFinding[] = [];
  const bytesOf = (u: AuditedUpdate): Buffer | null => {
    const got = fetched.get(u.site.toLowerCase());
    return got?.status === "ok" ? got.bytes : null;
  };

  // Censorship: valid, stored, from a site still Active at the finalisation, and not included.
  for (const u of updates) {
    if (u.included) continue;
    const bytes = bytesOf(u);
    if (bytes === null) continue;
    if (layout !== null && usable(bytes, layout) === null) continue;
    if (u.statusAtCommit !== "Active") continue;
    const atFinal = statusAt(sites, u.site, f.blockNumber, f.logIndex);
    if (atFinal !== "Active") continue;
    findings.push({
      code: "update_left_out",
      message:
        `${where}, site ${siteLabel(sites, u.site)}: the store holds the committed update ${u.updateHash} ` +
        `intact and the site was Active at the finalisation, but the aggregator left it out of the round`,
      task,
      round: round.round,
      site: u.site,
      expected: "included",
      found: "left out",
    });
  }

  // Free riding: the parent itself, a zero delta, or a norm far below the others'.
  const norms = new Map<string, number>();
  const freeRiders = new Set<string>();
  for (const u of updates) {
    if (!u.included || layout === null) continue;
    const bytes = bytesOf(u);
    if (bytes === null) continue;
    if (parent !== null && bytes.equals(parent)) {
      freeRiders.add(u.site);
      findings.push({
        code: "update_is_base_model",
        message: `${where}, site ${siteLabel(sites, u.site)}: the update ${u.updateHash} is the round's base model itself, not a delta from it`,
        task,
        round: round.round,
        site: u.site,
        expected: "a delta",
        found: f.parentModelHash,
      });
      continue;
    }
    const entries = usable(bytes, layout);
    if (entries === null) continue; // unusable: update_unusable already says so
    const norm = deltaNorm(bytes, entries);
    norms.set(u.site, norm);
    if (norm === 0) {
      freeRiders.add(u.site);
      findings.push({
        code: "update_zero_delta",
        message: `${where}, site ${siteLabel(sites, u.site)}: the update ${u.updateHash} is all zeros: the site sent back the base model unchanged`,
        task,
        round: round.round,
        site: u.site,
        expected: "a non-zero delta",
        found: "0",
      });
    }
  }
  for (const [site, norm] of norms) {
    if (freeRiders.has(site)) continue;
    const others = [...norms].filter(([s]) => s !== site && !freeRiders.has(s)).map(([, n]) => n);
    if (others.length === 0) continue;
    const median = sortedMedian(Float64Array.from(others).sort());
    if (!(norm < LOW_NORM_SHARE * median)) continue;
    findings.push({
      code: "update_norm_low",
      message:
        `${where}, site ${siteLabel(sites, site)}: the update's norm ${norm.toPrecision(3)} is below ` +
        `${LOW_NORM_SHARE * 100}% of the median norm ${median.toPrecision(3)} of the other included updates`,
      task,
      round: round.round,
      site,
      expected: `>= ${(LOW_NORM_SHARE * median).toPrecision(3)}`,
      found: norm.toPrecision(3),
    });
  }
  return findings;
}
