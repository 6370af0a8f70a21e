import type { ConsortiumRegistry } from "../../typechain-types";
import { siteStatusName, type SiteStatusName } from "./vocabulary";

/** A site as stored in the registry, with names for coded fields. */
export interface SiteInfo {
  operator: string;
  /** Status name: Proposed, Active, Suspended or Removed. */
  status: SiteStatusName;
  /** Block of the last status change. */
  changedAtBlock: number;
  /** ISO 3166-1 alpha-2 code, e.g. "SE". */
  country: string;
  name: string;
  /** BCP 47 tag of the site's notes, e.g. "sv". */
  language: string;
  metadataHash: string;
  publicKey: string;
}

/** A pending quorum vote on a site. */
export interface PendingSiteVote {
  /** The status the vote leads to (Active or Removed). */
  target: string;
  proposalId: string;
  approvals: number;
  quorum: number;
  /** Admins whose approval is counted (only those in `admins` given to {@link siteVotes}). */
  approvedBy: string[];
}

function countryText(bytes2: string): string {
  return Buffer.from(bytes2.slice(2), "hex").toString("latin1");
}

/**
 * Reads one site. Reverts (RegistryUnknownSite) for an address that was never proposed.
 *
 * @example
 * const site = await getSiteInfo(registry, "0x9965…"); // { status: "Active", country: "SE", … }
 */
export async function getSiteInfo(registry: ConsortiumRegistry, operator: string): Promise<SiteInfo> {
  const site = await registry.getSite(operator);
  return {
    operator: site.operator,
    status: siteStatusName(site.status),
    changedAtBlock: Number(site.changedAtBlock),
    country: countryText(site.country),
    name: site.name,
    language: site.language,
    metadataHash: site.metadataHash,
    publicKey: site.publicKey,
  };
}

/**
 * Every site ever proposed, found through the registry's SiteProposed events from `fromBlock` (the deployment
 * block), each read back with its current state. Costs one log query plus one call per site; nothing on the
 * chain loops.
 *
 * @example
 * const active = (await listSites(registry, deployment.deployBlock)).filter((s) => s.status === "Active");
 */
export async function listSites(registry: ConsortiumRegistry, fromBlock: number): Promise<SiteInfo[]> {
  const events = await registry.queryFilter(registry.filters.SiteProposed(), fromBlock);
  const operators = [...new Set(events.map((event) => event.args.operator))];
  return Promise.all(operators.map((operator) => getSiteInfo(registry, operator)));
}

/**
 * The votes that can be pending on a site in its current state: toward Active (a Proposed or Suspended site)
 * and toward Removed (any site not yet removed), with their approval counts.
 */
export async function siteVotes(
  registry: ConsortiumRegistry,
  site: SiteInfo,
  admins: string[],
): Promise<PendingSiteVote[]> {
  const targets: [string, number][] = [];
  if (site.status === "Proposed" || site.status === "Suspended") targets.push(["Active", 2]);
  if (site.status !== "Removed") targets.push(["Removed", 4]);
  const quorum = Number(await registry.quorum());
  return Promise.all(
    targets.map(async ([target, value]) => {
      const proposalId = await registry.siteProposalId(site.operator, value);
      const approvals = Number(await registry.approvals(proposalId));
      const approved = await Promise.all(admins.map((admin) => registry.hasApproved(proposalId, admin)));
      return { target, proposalId, approvals, quorum, approvedBy: admins.filter((_, i) => approved[i]) };
    }),
  );
}
