/**
 * Shared deployments for the contract tests. Each fixture is a named function so that Hardhat's `loadFixture`
 * deploys it once per test file and reverts to the same snapshot before every test.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";

/** Site status numbers, as the contract's enum. */
export const SiteStatus = { None: 0, Proposed: 1, Active: 2, Suspended: 3, Removed: 4 } as const;

/** Round status numbers, as the contract's enum. */
export const RoundStatus = { None: 0, Open: 1, Finalized: 2, Aborted: 3 } as const;

/** Role ids, computed the way the contracts compute them. */
export const Role = {
  ADMIN: ethers.id("ADMIN_ROLE"),
  AGGREGATOR: ethers.id("AGGREGATOR_ROLE"),
  AUDITOR: ethers.id("AUDITOR_ROLE"),
  SITE: ethers.id("SITE_ROLE"),
  DEFAULT_ADMIN: ethers.ZeroHash,
} as const;

/** The arguments of `proposeSite` after the operator address. */
export interface SiteFields {
  name: string;
  country: string;
  language: string;
  metadataHash: string;
  publicKey: string;
}

/** A two-letter country code as the `bytes2` the registry takes. */
export function countryCode(code: string): string {
  return ethers.hexlify(ethers.toUtf8Bytes(code));
}

/** A deterministic non-zero 32-byte value for a label. */
export function hashOf(label: string): string {
  return ethers.id(label);
}

/** Plausible fields for site number `index`. */
export function siteFields(index: number): SiteFields {
  const hospitals: ReadonlyArray<readonly [string, string, string]> = [
    ["Oslo universitetssykehus", "NO", "nb"],
    ["Karolinska universitetssjukhuset", "SE", "sv"],
    ["Rigshospitalet", "DK", "da"],
    ["Helsingin yliopistollinen sairaala", "FI", "fi"],
    ["Tartu Ülikooli Kliinikum", "EE", "et"],
  ];
  const [name, country, language] = hospitals[index % hospitals.length];
  return {
    name,
    country: countryCode(country),
    language,
    metadataHash: hashOf(`metadata ${index}`),
    publicKey: ethers.concat(["0x02", hashOf(`public key ${index}`)]),
  };
}

/** Proposes `operator` with the fields of site `index` from `admin`. */
export function proposeSite(
  registry: ConsortiumRegistry,
  admin: HardhatEthersSigner,
  operator: string,
  index = 0,
) {
  const f = siteFields(index);
  return registry
    .connect(admin)
    .proposeSite(operator, f.name, f.country, f.language, f.metadataHash, f.publicKey);
}

/** A registry with three admins and quorum 2, and spare signers for sites and roles. */
export async function registryFixture() {
  const signers = await ethers.getSigners();
  const admins = signers.slice(0, 3);
  const [aggregator, auditor] = signers.slice(3, 5);
  const sites = signers.slice(5, 12);
  const outsider = signers[12];
  const registry = await new ConsortiumRegistry__factory(admins[0]).deploy(
    admins.map((a) => a.address),
    2,
  );
  return { registry, admins, aggregator, auditor, sites, outsider, signers };
}

/**
 * A registry (three admins, quorum 1), an aggregator, an auditor, three Active sites, the ledger, and task 1
 * (FedAvg, at least 2 updates per round, one-hour window, 3 rounds).
 */
export async function ledgerFixture() {
  const signers = await ethers.getSigners();
  const admins = signers.slice(0, 3);
  const [aggregator, auditor] = signers.slice(3, 5);
  const sites = signers.slice(5, 8);
  const spareSite = signers[8];
  const outsider = signers[12];
  const registry = await new ConsortiumRegistry__factory(admins[0]).deploy(
    admins.map((a) => a.address),
    1,
  );
  await registry.voteRole(Role.AGGREGATOR, aggregator.address, true);
  await registry.voteRole(Role.AUDITOR, auditor.address, true);
  for (const [i, site] of sites.entries()) await proposeSite(registry, admins[0], site.address, i);
  const ledger: TrainingLedger = await new TrainingLedger__factory(admins[0]).deploy(
    await registry.getAddress(),
  );
  const task = {
    id: 1n,
    specHash: hashOf("task spec"),
    genesis: hashOf("genesis model"),
    rule: 1,
    minSites: 2,
    window: 3_600,
    rounds: 3,
  };
  await ledger
    .connect(admins[0])
    .createTask(task.specHash, task.genesis, task.rule, task.minSites, task.window, task.rounds);
  return { registry, ledger, admins, aggregator, auditor, sites, spareSite, outsider, task, signers };
}

/**
 * A registry with three admins and quorum 2, an aggregator, two Active sites and the ledger, with no task yet;
 * `task` holds the parameters of a task to propose.
 */
export async function quorumLedgerFixture() {
  const signers = await ethers.getSigners();
  const admins = signers.slice(0, 3);
  const aggregator = signers[3];
  const sites = signers.slice(5, 7);
  const outsider = signers[12];
  const registry = await new ConsortiumRegistry__factory(admins[0]).deploy(
    admins.map((a) => a.address),
    2,
  );
  for (const admin of admins.slice(0, 2)) {
    await registry.connect(admin).voteRole(Role.AGGREGATOR, aggregator.address, true);
    for (const [i, site] of sites.entries()) {
      await (admin === admins[0]
        ? proposeSite(registry, admin, site.address, i)
        : registry.connect(admin).approveSite(site.address));
    }
  }
  const ledger: TrainingLedger = await new TrainingLedger__factory(admins[0]).deploy(
    await registry.getAddress(),
  );
  const task = [hashOf("quorum spec"), hashOf("quorum genesis"), 1, 1, 600, 2] as const;
  return { registry, ledger, admins, aggregator, sites, outsider, task, signers };
}

/** Task 1 of {@link ledgerFixture} with round 1 open. */
export async function openRoundFixture() {
  const base = await ledgerFixture();
  await base.ledger.connect(base.aggregator).openRound(base.task.id, base.task.genesis);
  return base;
}
