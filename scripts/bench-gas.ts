/**
 * Gas benchmark of the fedledger contracts on the in-process Hardhat network.
 *
 * Deploys the registry (three admins, quorum 2) and the ledger, creates a task by two admin votes, onboards 100
 * sites, and runs the task's rounds with 1, 10 and 100 Active sites, every site committing. Prints one JSON document with the gas used
 * by each step and whether each gas target holds. Run with `npm run bench:gas`.
 */
import { ethers, network } from "hardhat";
import { setBalance } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, HDNodeWallet, Signer } from "ethers";
import {
  ConsortiumRegistry__factory,
  TrainingLedger__factory,
  type ConsortiumRegistry,
  type TrainingLedger,
} from "../typechain-types";

const SITE_COUNTS = [1, 10, 100] as const;
const COMMIT_TARGET = 60_000n;
const FINALIZE_TARGET = 100_000n;
const FINALIZE_SPREAD_PERCENT = 2;
const ONBOARDING_TARGET = 250_000n;

const HOSPITALS: ReadonlyArray<readonly [name: string, country: string, language: string]> = [
  ["Oslo universitetssykehus", "NO", "nb"],
  ["Haukeland universitetssjukehus", "NO", "nn"],
  ["Karolinska universitetssjukhuset", "SE", "sv"],
  ["Sahlgrenska universitetssjukhuset", "SE", "sv"],
  ["Rigshospitalet", "DK", "da"],
  ["Aarhus Universitetshospital", "DK", "da"],
  ["Helsingin yliopistollinen sairaala", "FI", "fi"],
  ["Tampereen yliopistollinen sairaala", "FI", "fi"],
  ["Tartu Ülikooli Kliinikum", "EE", "et"],
  ["Põhja-Eesti Regionaalhaigla", "EE", "et"],
];

/** Min, max and mean of a list of gas figures. */
interface GasSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
}

function summarize(values: readonly bigint[]): GasSummary {
  const numbers = values.map(Number);
  const total = numbers.reduce((sum, value) => sum + value, 0);
  return {
    count: numbers.length,
    min: Math.min(...numbers),
    max: Math.max(...numbers),
    mean: Math.round(total / numbers.length),
  };
}

async function gasOf(pending: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await pending).wait();
  if (!receipt) throw new Error("a benchmark transaction produced no receipt");
  return receipt.gasUsed;
}

function randomHash(): string {
  return ethers.hexlify(ethers.randomBytes(32));
}

async function fundedWallet(): Promise<HDNodeWallet> {
  const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
  await setBalance(wallet.address, ethers.parseEther("10"));
  return wallet;
}

/** The descriptive fields of a site proposal. */
interface SiteFields {
  name: string;
  country: string;
  language: string;
  publicKey: string;
}

/** Realistic fields for site number `index`: a Nordic hospital name, its country and language. */
function hospitalFields(index: number, publicKey: string): SiteFields {
  const [hospital, country, language] = HOSPITALS[index % HOSPITALS.length];
  return { name: `${hospital} ${Math.floor(index / HOSPITALS.length) + 1}`, country, language, publicKey };
}

/** Proposes and approves one site at quorum 2; returns the gas of both steps. */
async function onboardSite(
  registry: ConsortiumRegistry,
  proposer: Signer,
  approver: Signer,
  site: HDNodeWallet,
  fields: SiteFields,
): Promise<{ propose: bigint; approve: bigint }> {
  const { name, country, language, publicKey } = fields;
  const propose = await gasOf(
    registry
      .connect(proposer)
      .proposeSite(site.address, name, ethers.toUtf8Bytes(country), language, randomHash(), publicKey),
  );
  const approve = await gasOf(registry.connect(approver).approveSite(site.address));
  return { propose, approve };
}

/** Opens a round, lets every site commit, and finalises it at once (every Active site committed). */
async function runRound(
  ledger: TrainingLedger,
  aggregator: Signer,
  taskId: bigint,
  sites: readonly HDNodeWallet[],
  commits: bigint[],
): Promise<{ open: bigint; finalize: bigint }> {
  const task = await ledger.getTask(taskId);
  const round = task.currentRound + 1n;
  const open = await gasOf(ledger.connect(aggregator).openRound(taskId, task.latestModelHash));
  for (const site of sites) {
    const samples = 100n + BigInt(Math.floor(Math.random() * 5_000));
    commits.push(
      await gasOf(ledger.connect(site).commitUpdate(taskId, round, randomHash(), samples, randomHash())),
    );
  }
  const finalize = await gasOf(
    ledger
      .connect(aggregator)
      .finalizeRound(taskId, round, randomHash(), randomHash(), sites.length, randomHash()),
  );
  return { open, finalize };
}

async function main(): Promise<void> {
  if (network.name !== "hardhat") {
    throw new Error(
      `run the gas benchmark on the in-process network, not "${network.name}" (drop --network)`,
    );
  }
  const [admin1, admin2, admin3, aggregator] = await ethers.getSigners();
  const registry = await new ConsortiumRegistry__factory(admin1).deploy(
    [admin1.address, admin2.address, admin3.address],
    2,
  );
  const ledger = await new TrainingLedger__factory(admin1).deploy(await registry.getAddress());
  const deployRegistry = (await registry.deploymentTransaction()?.wait())?.gasUsed ?? 0n;
  const deployLedger = (await ledger.deploymentTransaction()?.wait())?.gasUsed ?? 0n;
  const aggregatorRole = await registry.AGGREGATOR_ROLE();
  await (await registry.connect(admin1).voteRole(aggregatorRole, aggregator.address, true)).wait();
  await (await registry.connect(admin2).voteRole(aggregatorRole, aggregator.address, true)).wait();

  const proposeGas: bigint[] = [];
  const approveGas: bigint[] = [];
  const onboardingGas: bigint[] = [];
  const sites: HDNodeWallet[] = [];
  const onboardUpTo = async (count: number): Promise<void> => {
    while (sites.length < count) {
      const site = await fundedWallet();
      const fields = hospitalFields(sites.length, site.signingKey.compressedPublicKey);
      const { propose, approve } = await onboardSite(registry, admin1, admin2, site, fields);
      proposeGas.push(propose);
      approveGas.push(approve);
      onboardingGas.push(propose + approve);
      sites.push(site);
    }
  };

  // Task creation at quorum 2: admin1 proposes (createTask), admin2's approval creates the task.
  const taskArgs = [randomHash(), randomHash(), 1, 1, 3_600, SITE_COUNTS.length] as const;
  const proposeTask = await gasOf(ledger.connect(admin1).createTask(...taskArgs));
  const approveTask = await gasOf(
    ledger.connect(admin2).approveTask(await ledger.taskProposalId(...taskArgs)),
  );
  const taskId = await ledger.taskCount();
  if (taskId !== 1n) throw new Error("the task proposal was not carried out at the second approval");
  const commitGas: bigint[] = [];
  const openGas: bigint[] = [];
  const finalizeGas: Record<string, number> = {};
  for (const count of SITE_COUNTS) {
    await onboardUpTo(count);
    const { open, finalize } = await runRound(ledger, aggregator, taskId, sites, commitGas);
    openGas.push(open);
    finalizeGas[String(count)] = Number(finalize);
  }

  // Two more sites, to show how field lengths move the cost: a 65-byte uncompressed public key, and the longest
  // fields the registry accepts (64-byte name, 35-byte language tag) with that key.
  const uncompressedSite = await fundedWallet();
  const uncompressed = await onboardSite(
    registry,
    admin1,
    admin2,
    uncompressedSite,
    hospitalFields(0, uncompressedSite.signingKey.publicKey),
  );
  const longestSite = await fundedWallet();
  const longest = await onboardSite(registry, admin1, admin2, longestSite, {
    name: "N".repeat(64),
    country: "NO",
    language: "n".repeat(35),
    publicKey: longestSite.signingKey.publicKey,
  });

  const commits = summarize(commitGas);
  const onboarding = summarize(onboardingGas);
  const finalizeValues = Object.values(finalizeGas);
  const finalizeMin = Math.min(...finalizeValues);
  const finalizeMax = Math.max(...finalizeValues);
  const spreadPercent = ((finalizeMax - finalizeMin) / finalizeMin) * 100;

  const report = {
    network: "hardhat (in-process)",
    setup: { admins: 3, quorum: 2, sites: sites.length, publicKeyBytes: 33 },
    gas: {
      deployRegistry: Number(deployRegistry),
      deployLedger: Number(deployLedger),
      taskCreation: {
        createTaskProposes: Number(proposeTask),
        approveTaskAtQuorum2: Number(approveTask),
        total: Number(proposeTask + approveTask),
      },
      onboarding: {
        proposeSite: summarize(proposeGas),
        approveSiteAtQuorum2: summarize(approveGas),
        perSite: onboarding,
        perSiteWith65ByteKey: Number(uncompressed.propose + uncompressed.approve),
        perSiteWithLongestFieldsAnd65ByteKey: Number(longest.propose + longest.approve),
      },
      openRound: summarize(openGas),
      commitUpdate: commits,
      finalizeRound: finalizeGas,
    },
    targets: {
      commitUpdate: {
        limit: Number(COMMIT_TARGET),
        worst: commits.max,
        holds: BigInt(commits.max) <= COMMIT_TARGET,
      },
      finalizeRound: {
        limit: Number(FINALIZE_TARGET),
        worst: finalizeMax,
        spreadPercent: Number(spreadPercent.toFixed(3)),
        spreadLimitPercent: FINALIZE_SPREAD_PERCENT,
        holds: BigInt(finalizeMax) <= FINALIZE_TARGET && spreadPercent <= FINALIZE_SPREAD_PERCENT,
      },
      onboardingPerSite: {
        limit: Number(ONBOARDING_TARGET),
        worst: onboarding.max,
        holds: BigInt(onboarding.max) <= ONBOARDING_TARGET,
      },
    },
  };
  console.log(JSON.stringify(report, null, 2));
  if (!report.targets.commitUpdate.holds || !report.targets.finalizeRound.holds) process.exitCode = 1;
  if (!report.targets.onboardingPerSite.holds) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
