import { id } from "ethers";

/*
 * Names for the numbers and hashes the contracts use: site and round states (Solidity enums arrive as
 * bigint), role identifiers (keccak256 of the role name) and aggregation rule ids. They mirror
 * contracts/ConsortiumRegistry.sol and contracts/TrainingLedger.sol; keep them in the contracts' order.
 */

/** ConsortiumRegistry.SiteStatus, by enum value. */
export const SITE_STATUSES = ["None", "Proposed", "Active", "Suspended", "Removed"] as const;
/**
 * A site status name, or `Unknown(n)` for an enum value this code does not know (a newer contract). Every
 * status in the code is typed with it, so a comparison with a misspelt name does not compile.
 */
export type SiteStatusName = (typeof SITE_STATUSES)[number] | `Unknown(${number})`;

/** TrainingLedger.RoundStatus, by enum value. */
export const ROUND_STATUSES = ["None", "Open", "Finalized", "Aborted"] as const;
/** A round status name, or `Unknown(n)` (see SiteStatusName). */
export type RoundStatusName = (typeof ROUND_STATUSES)[number] | `Unknown(${number})`;

/** Role identifiers of ConsortiumRegistry: keccak256 of the role's name. */
export const ROLES = {
  admin: id("ADMIN_ROLE"),
  aggregator: id("AGGREGATOR_ROLE"),
  auditor: id("AUDITOR_ROLE"),
  site: id("SITE_ROLE"),
} as const;
/** A role's short name as the CLI spells it. */
export type RoleName = keyof typeof ROLES;
/** The roles that admins grant and revoke by quorum vote (sites join through the site life cycle). */
export const VOTED_ROLES = ["admin", "aggregator", "auditor"] as const;

/** Aggregation rules the ledger records by id; the contract only requires the id to be non-zero. */
export const AGGREGATION_RULE_IDS = {
  fedavg: 1,
  "fedavg-sparse": 2,
  median: 3,
  "trimmed-mean": 4,
  "fedavg-clipped": 5,
  "multi-krum": 6,
} as const;

/** TrainingLedger's abort reasons, by name: the values `abortRound` accepts. */
export const ABORT_REASON_IDS = { tooFewCommits: 1, tooFewValidUpdates: 2, unmaskingFailed: 3 } as const;
/** An abort reason the ledger accepts. */
export type AbortReasonId = (typeof ABORT_REASON_IDS)[keyof typeof ABORT_REASON_IDS];

/** Reasons an aggregator gives when aborting a round, in words, by value. */
export const ABORT_REASONS: Record<number, string> = {
  [ABORT_REASON_IDS.tooFewCommits]: "too few commits",
  [ABORT_REASON_IDS.tooFewValidUpdates]: "too few valid updates",
  [ABORT_REASON_IDS.unmaskingFailed]: "secure aggregation could not be unmasked",
};

/** Name of a SiteStatus value, or `Unknown(n)` for a value this code does not know. */
export function siteStatusName(value: bigint | number): SiteStatusName {
  return SITE_STATUSES[Number(value)] ?? `Unknown(${Number(value)})`;
}

/** Name of a RoundStatus value, or `Unknown(n)`. */
export function roundStatusName(value: bigint | number): RoundStatusName {
  return ROUND_STATUSES[Number(value)] ?? `Unknown(${Number(value)})`;
}

/** The enum value of a site status name, case-insensitive, or undefined. */
export function siteStatusValue(name: string): number | undefined {
  const index = SITE_STATUSES.findIndex((status) => status.toLowerCase() === name.toLowerCase());
  return index < 0 ? undefined : index;
}

/** The short name (admin, aggregator, auditor, site) of a role identifier, or undefined. */
export function roleName(role: string): RoleName | undefined {
  const lower = role.toLowerCase();
  return (Object.keys(ROLES) as RoleName[]).find((name) => ROLES[name] === lower);
}

/** The name of an aggregation rule id (`fedavg` for 1, `fedavg-sparse` for 2), or `rule <n>`. */
export function aggregationRuleName(rule: bigint | number): string {
  const entry = Object.entries(AGGREGATION_RULE_IDS).find(([, value]) => value === Number(rule));
  return entry ? entry[0] : `rule ${rule}`;
}
