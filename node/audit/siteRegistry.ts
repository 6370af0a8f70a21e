/**
 * What the consortium registry's events say about sites: their names (SiteProposed) and every status change
 * (SiteStatusChanged), each read with one query over a block range. The auditor uses the history to show that a
 * site was Active when it committed; the ledger's commitUpdate already refuses non-Active callers, so this is
 * a second, independent check (docs/audit.md).
 */
import type { ConsortiumRegistry } from "../../typechain-types";
import { siteStatusName } from "../chain";
import { queryRange } from "./queryRange";

/** A site's registered profile. */
export interface SiteProfile {
  name: string;
  /** ISO 3166-1 alpha-2 code. */
  country: string;
  language: string;
  /** Where the SiteProposed event is. */
  proposedAt: { blockNumber: number; logIndex: number };
}

/** One status change of a site. */
export interface StatusChange {
  blockNumber: number;
  logIndex: number;
  from: string;
  to: string;
}

/** Sites' profiles and status histories. */
export interface SiteRegistryView {
  profiles: Map<string, SiteProfile>;
  /** Status changes per site (lower-case address), oldest first. */
  changes: Map<string, StatusChange[]>;
}

function countryText(bytes2: string): string {
  const text = Buffer.from(bytes2.replace(/^0x/, ""), "hex").toString("latin1");
  return /^[A-Z]{2}$/.test(text) ? text : bytes2;
}

/**
 * Reads every SiteProposed and SiteStatusChanged event of the registry from `fromBlock` to `toBlock`.
 *
 * @example
 * const sites = await readSiteRegistry(registry, 0, latest);
 * statusAt(sites, site, commit.blockNumber, commit.logIndex); // "Active"
 */
export async function readSiteRegistry(
  registry: ConsortiumRegistry,
  fromBlock: number,
  toBlock: number,
): Promise<SiteRegistryView> {
  const [proposed, changed] = await Promise.all([
    queryRange(fromBlock, toBlock, (a, b) => registry.queryFilter(registry.filters.SiteProposed(), a, b)),
    queryRange(fromBlock, toBlock, (a, b) =>
      registry.queryFilter(registry.filters.SiteStatusChanged(), a, b),
    ),
  ]);
  const profiles = new Map<string, SiteProfile>();
  for (const log of proposed) {
    const a = log.args;
    profiles.set(a.operator.toLowerCase(), {
      name: a.name,
      country: countryText(a.country),
      language: a.language,
      proposedAt: { blockNumber: log.blockNumber, logIndex: log.index },
    });
  }
  const changes = new Map<string, StatusChange[]>();
  const sorted = [...changed].sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index);
  for (const log of sorted) {
    const key = log.args.operator.toLowerCase();
    const list = changes.get(key) ?? [];
    list.push({
      blockNumber: log.blockNumber,
      logIndex: log.index,
      from: siteStatusName(log.args.from),
      to: siteStatusName(log.args.to),
    });
    changes.set(key, list);
  }
  return { profiles, changes };
}

function before(
  a: { blockNumber: number; logIndex: number },
  blockNumber: number,
  logIndex: number,
): boolean {
  return a.blockNumber < blockNumber || (a.blockNumber === blockNumber && a.logIndex < logIndex);
}

/**
 * The status of `site` just before the log at (`blockNumber`, `logIndex`): the target of its last status change
 * before that point; else "Proposed" when it was proposed before (a proposal emits no status change), else
 * "None".
 */
export function statusAt(
  view: SiteRegistryView,
  site: string,
  blockNumber: number,
  logIndex: number,
): string {
  const profile = view.profiles.get(site.toLowerCase());
  let status = profile && before(profile.proposedAt, blockNumber, logIndex) ? "Proposed" : "None";
  for (const change of view.changes.get(site.toLowerCase()) ?? []) {
    if (!before(change, blockNumber, logIndex)) break;
    status = change.to;
  }
  return status;
}
