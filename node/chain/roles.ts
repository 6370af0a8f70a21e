import type { ConsortiumRegistry } from "../../typechain-types";
import { ROLES, VOTED_ROLES } from "./vocabulary";

/** Current holders of the voted roles. */
export type RoleHolders = Record<(typeof VOTED_ROLES)[number], string[]>;

/**
 * Who holds the admin, aggregator and auditor roles now: every account named in a RoleGranted or RoleRevoked
 * event since `fromBlock` (the deployment block), kept when `hasRole` still says yes. Sites are not listed:
 * their role follows their status (see listSites).
 *
 * @example
 * const { admin, aggregator } = await roleHolders(registry, deployment.deployBlock);
 */
export async function roleHolders(registry: ConsortiumRegistry, fromBlock: number): Promise<RoleHolders> {
  const [granted, revoked] = await Promise.all([
    registry.queryFilter(registry.filters.RoleGranted(), fromBlock),
    registry.queryFilter(registry.filters.RoleRevoked(), fromBlock),
  ]);
  const holders = {} as RoleHolders;
  for (const name of VOTED_ROLES) {
    const role = ROLES[name];
    const candidates = [
      ...new Set(
        [...granted, ...revoked]
          .filter((event) => event.args.role.toLowerCase() === role)
          .map((event) => event.args.account),
      ),
    ];
    const current = await Promise.all(candidates.map((account) => registry.hasRole(role, account)));
    holders[name] = candidates.filter((_, i) => current[i]);
  }
  return holders;
}
