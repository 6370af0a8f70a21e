import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { connectChain } from "../../node/chain/connection";
import { connectContracts } from "../../node/chain/contracts";
import { loadDeployment } from "../../node/chain/deployment";
import { devAccountAddress, devAccountWallet } from "../../node/chain/devAccounts";
import { confirmTransaction } from "../../node/chain/transactions";
import { ROLES } from "../../node/chain/vocabulary";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli, type CliResult } from "../helpers/cli";
import { expectJson, expectOneLineError, expectSuccess } from "./expectations";

/*
 * The admin CLI end to end: the real `fedledger` executable against a real Hardhat node, one chain for the
 * whole file, steps in order (each builds on the chain state the previous one left).
 */
describe("fedledger CLI: deploy, site life cycle, roles, tasks, keystores", function () {
  const chain = useEmbeddedChain();
  let dir: string;
  let deploymentFile: string;

  const admin1 = devAccountAddress("admin1");
  const admin2 = devAccountAddress("admin2");
  const admin3 = devAccountAddress("admin3");
  const aggregator = devAccountAddress("aggregator");
  const site1 = devAccountAddress("site1");
  const site2 = devAccountAddress("site2");
  const specHash = `0x${"ab".repeat(32)}`;
  const genesis = `0x${"cd".repeat(32)}`;
  /** The task proposal made by admin2 and approved by admin1. */
  let taskProposal = "";

  /** Runs the CLI with the test's deployment file; the RPC URL comes from that file. */
  function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
    return runCli(args, {
      cwd: dir,
      input,
      env: { FEDLEDGER_DEPLOYMENT: deploymentFile, FEDLEDGER_INSECURE_FAST_KEYSTORE: "1", ...env },
    });
  }

  before(async function () {
    dir = await makeTempDir();
    deploymentFile = path.join(dir, "deployments", "local.json");
  });
  after(async function () {
    await removeTempDir(dir);
  });

  it("deploys both contracts and writes the deployment file", async function () {
    const out = expectJson(await cli(["deploy", "--rpc", chain().url, "--dev-account", "admin1", "--json"]));
    expect(out.admins).to.deep.equal([admin1, admin2, admin3]);
    expect(out.quorum).to.equal(2);
    expect(out.chainId).to.equal(31337);
    const saved = JSON.parse(await readFile(deploymentFile, "utf8")) as Record<string, unknown>;
    for (const key of [
      "chainId",
      "rpc",
      "registry",
      "ledger",
      "deployBlock",
      "deployer",
      "quorum",
      "admins",
      "deployedAt",
    ])
      expect(saved, key).to.have.property(key);
    expect(saved.rpc).to.equal(chain().url);
    expect(saved.registry).to.equal(out.registry);
    expect(saved.deployer).to.equal(admin1);
  });

  it("refuses to overwrite a live deployment without --force", async function () {
    expectOneLineError(
      await cli(["deploy", "--rpc", chain().url, "--dev-account", "admin1"]),
      2,
      /already holds a deployment whose contracts are live.*--force/,
    );
  });

  it("lists the deployment's admins and quorum", async function () {
    const roles = expectJson<{ admin: string[]; aggregator: string[]; auditor: string[]; quorum: number }>(
      await cli(["role", "list", "--json"]),
    );
    expect(roles.admin).to.have.members([admin1, admin2, admin3]);
    expect(roles.aggregator).to.deep.equal([]);
    expect(roles.quorum).to.equal(2);
  });

  it("proposes a site, which stays Proposed with 1 of 2 approvals", async function () {
    const propose = [
      ...["site", "propose", site1, "--name", "Karolinska Universitetssjukhuset", "--country", "SE"],
      ...["--language", "sv", "--public-key", "0x02aabb", "--dev-account", "admin1"],
    ];
    const out = expectSuccess(await cli(propose));
    expect(out).to.match(/approval recorded \(1 of 2\); site 0x\w+ stays Proposed/);
  });

  it("rejects a second approval by the same admin, decoded by name", async function () {
    expectOneLineError(
      await cli(["site", "approve", site1, "--dev-account", "admin1"]),
      1,
      new RegExp(
        `RegistryAlreadyApproved\\(admin ${admin1}, proposalId 0x[0-9a-f]{64}\\): this admin has already approved`,
      ),
    );
  });

  it("activates the site with the second admin's approval", async function () {
    expect(expectSuccess(await cli(["site", "approve", site1, "--dev-account", "admin2"]))).to.match(
      /site 0x\w+ is now Active/,
    );
    const sites = expectJson<{ operator: string; status: string; country: string; publicKey: string }[]>(
      await cli(["site", "list", "--json"]),
    );
    expect(sites).to.have.length(1);
    expect(sites[0]).to.include({ operator: site1, status: "Active", country: "SE", publicKey: "0x02aabb" });
    expect(
      expectJson<unknown[]>(await cli(["site", "list", "--status", "proposed", "--json"])),
    ).to.deep.equal([]);
  });

  it("suspends at once, and reinstates only with two approvals", async function () {
    expect(
      expectSuccess(
        await cli(["site", "suspend", site1, "--reason", "audit finding 17", "--dev-account", "admin3"]),
      ),
    ).to.match(/is now Suspended/);
    const vote = expectJson(await cli(["site", "reinstate", site1, "--dev-account", "admin1", "--json"]));
    expect(vote).to.include({
      status: "Suspended",
      changed: false,
      target: "Active",
      approvals: 1,
      quorum: 2,
    });

    const shown = expectJson<{
      status: string;
      pendingVotes: { target: string; approvals: number; approvedBy: string[] }[];
    }>(await cli(["site", "show", site1, "--json"]));
    expect(shown.status).to.equal("Suspended");
    const toActive = shown.pendingVotes.find((pending) => pending.target === "Active");
    expect(toActive).to.include({ approvals: 1 });
    expect(toActive?.approvedBy).to.deep.equal([admin1]);

    expect(expectSuccess(await cli(["site", "reinstate", site1, "--dev-account", "admin3"]))).to.match(
      /is now Active/,
    );
  });

  it("removes a site for good with two approvals", async function () {
    expect(expectSuccess(await cli(["site", "remove", site1, "--dev-account", "admin1"]))).to.match(
      /approval recorded \(1 of 2\).*stays Active/,
    );
    expect(expectSuccess(await cli(["site", "remove", site1, "--dev-account", "admin2"]))).to.match(
      /is now Removed/,
    );
    expectOneLineError(
      await cli([
        "site",
        "propose",
        site1,
        "--name",
        "Again",
        "--country",
        "SE",
        "--language",
        "sv",
        "--dev-account",
        "admin1",
      ]),
      1,
      /RegistrySiteExists\(operator 0x\w+, status Removed\)/,
    );
  });

  it("grants and revokes the aggregator role by quorum vote", async function () {
    expect(
      expectSuccess(await cli(["role", "grant", "aggregator", aggregator, "--dev-account", "admin1"])),
    ).to.match(/approval recorded \(1 of 2\)/);
    expect(
      expectSuccess(await cli(["role", "grant", "aggregator", aggregator, "--dev-account", "admin2"])),
    ).to.match(/now holds the aggregator role/);
    expect(
      expectJson<{ aggregator: string[] }>(await cli(["role", "list", "--json"])).aggregator,
    ).to.deep.equal([aggregator]);
    expectSuccess(await cli(["role", "revoke", "aggregator", aggregator, "--dev-account", "admin1"]));
    const revoked = expectJson(
      await cli(["role", "revoke", "aggregator", aggregator, "--dev-account", "admin3", "--json"]),
    );
    expect(revoked).to.include({ changed: true, holds: false });
    expect(
      expectJson<{ aggregator: string[] }>(await cli(["role", "list", "--json"])).aggregator,
    ).to.deep.equal([]);
  });

  it("proposes a task, which waits for a second admin's approval", async function () {
    const create = [
      ...["task", "create", "--spec-hash", specHash, "--genesis", genesis, "--min-sites", "2"],
      ...["--window", "600", "--rounds", "5", "--dev-account", "admin2"],
    ];
    const out = expectSuccess(await cli(create));
    const match =
      /^approval recorded \(1 of 2\) for task proposal (0x[0-9a-f]{64}); the task is created when 1 more admin\(s\) approve it with `fedledger task approve \1`$/m.exec(
        out,
      );
    expect(match, out).to.not.equal(null);
    taskProposal = (match as RegExpExecArray)[1];
    const pending = expectJson(await cli(["task", "proposal", taskProposal, "--json"]));
    expect(pending).to.deep.include({
      proposalId: taskProposal,
      proposer: admin2,
      approvals: 1,
      quorum: 2,
      approvedBy: [admin2],
      current: true,
      genesisModelHash: genesis,
      minSitesPerRound: 2,
      roundsPlanned: 5,
    });
    expect(expectSuccess(await cli(["task", "proposal", taskProposal]))).to.match(
      /status:\s+pending[\s\S]*approvals:\s+1 of 2/,
    );
    expectOneLineError(
      await cli(["task", "show", "1"]),
      1,
      /LedgerUnknownTask\(taskId 1\): no task has this id/,
    );
    // The same admin cannot approve twice, whether through `task approve` or the same `task create`.
    for (const again of [["task", "approve", taskProposal, "--dev-account", "admin2"], create])
      expectOneLineError(
        await cli(again),
        1,
        new RegExp(`LedgerAlreadyApproved\\(admin ${admin2}, proposalId ${taskProposal}\\)`),
      );
  });

  it("creates the task with the second approval and shows it", async function () {
    const approved = expectJson(
      await cli(["task", "approve", taskProposal, "--dev-account", "admin1", "--json"]),
    );
    expect(approved).to.include({
      taskId: 1,
      proposalId: taskProposal,
      approvals: 2,
      quorum: 2,
      creator: admin2,
    });
    expectOneLineError(
      await cli(["task", "proposal", taskProposal]),
      1,
      /no task proposal 0x[0-9a-f]{64} is pending: it was never made, or its task was already created/,
    );
    expectOneLineError(
      await cli(["task", "approve", taskProposal, "--dev-account", "admin3"]),
      1,
      /LedgerUnknownTaskProposal\(proposalId 0x[0-9a-f]{64}\)/,
    );
    const task = expectJson(await cli(["task", "show", "1", "--json"]));
    expect(task).to.include({
      taskId: 1,
      creator: admin2,
      aggregationRule: 1,
      aggregationRuleName: "fedavg",
      minSitesPerRound: 2,
      commitWindowSeconds: 600,
      roundsPlanned: 5,
      currentRound: 0,
      specHash,
      genesisModelHash: genesis,
    });
    expect(task.rounds).to.deep.equal([]);
  });

  it("refuses a task whose genesis is already recorded, before any approval counts", async function () {
    const create = [
      ...["task", "create", "--spec-hash", `0x${"ef".repeat(32)}`, "--genesis", genesis, "--min-sites", "1"],
      ...["--window", "60", "--rounds", "1", "--dev-account", "admin3"],
    ];
    expectOneLineError(
      await cli(create),
      1,
      new RegExp(
        `the ledger refused: LedgerGenesisAlreadyRecorded\\(genesisModelHash ${genesis}, taskId 1, round 0\\): a task must start from a model never recorded before`,
      ),
    );
  });

  it("shows the rounds an aggregator opened", async function () {
    // The aggregator's own commands live elsewhere; here the chain client layer plays the aggregator.
    const deployment = await loadDeployment(deploymentFile);
    const connection = await connectChain({ rpc: deployment.rpc });
    const provider = connection.provider;
    try {
      const as = (name: string) =>
        connectContracts({ deployment, connection, signer: devAccountWallet(name, provider) });
      for (const admin of ["admin1", "admin3"]) {
        const { registry } = await as(admin);
        await confirmTransaction(registry.voteRole(ROLES.aggregator, aggregator, true));
      }
      const { ledger } = await as("aggregator");
      await confirmTransaction(ledger.openRound(1n, genesis));
    } finally {
      provider.destroy();
    }
    const task = expectJson<{ currentRound: number; rounds: Record<string, unknown>[] }>(
      await cli(["task", "show", "1", "--json"]),
    );
    expect(task.currentRound).to.equal(1);
    expect(task.rounds).to.have.length(1);
    expect(task.rounds[0]).to.include({ round: 1, status: "Open", commitCount: 0, baseModelHash: genesis });
    expect(task.rounds[0].deadline).to.be.a("number").greaterThan(0);
    expect(expectSuccess(await cli(["task", "show", "1"]))).to.match(/round 1: Open, 0 commit\(s\)/);
  });

  it("signs with keystores written by `key new` and `key import`", async function () {
    const password = { FEDLEDGER_PASSWORD: "correct horse battery staple" };
    const fresh = expectJson<{ address: string }>(
      await cli(["key", "new", "--out", "keys/new.json", "--json"], password),
    );
    expect(fresh.address).to.match(/^0x[0-9a-fA-F]{40}$/);
    expectOneLineError(await cli(["key", "new", "--out", "keys/new.json"], password), 2, /already exists/);

    // admin3's public development key, imported from stdin, signs a site proposal through the keystore.
    const imported = expectJson<{ address: string }>(
      await cli(
        ["key", "import", "--out", "keys/admin3.json", "--json"],
        password,
        `${devAccountWallet("admin3").privateKey}\n`,
      ),
    );
    expect(imported.address).to.equal(admin3);
    const propose = [
      "site",
      "propose",
      site2,
      "--name",
      "Oslo universitetssykehus",
      "--country",
      "NO",
      "--language",
      "nb",
    ];
    expectOneLineError(
      await cli([...propose, "--keystore", "keys/admin3.json"], { FEDLEDGER_PASSWORD: "wrong" }),
      2,
      /wrong password for keystore keys\/admin3\.json/,
    );
    const vote = expectJson(await cli([...propose, "--keystore", "keys/admin3.json", "--json"], password));
    expect(vote).to.include({ operator: site2, status: "Proposed", approvals: 1 });
  });

  describe("error cases", function () {
    it("an invalid address is a usage error", async function () {
      expectOneLineError(
        await cli(["site", "show", "0x1234"]),
        2,
        /invalid operator address "0x1234".*40 hex digits/,
      );
    });

    it("an unknown site is named", async function () {
      expectOneLineError(
        await cli(["site", "approve", devAccountAddress("site9"), "--dev-account", "admin1"]),
        1,
        /unknown site 0x\w+: no site was ever proposed/,
      );
    });

    it("a non-admin is refused with the decoded error", async function () {
      expectOneLineError(
        await cli(["site", "approve", site2, "--dev-account", "site1"]),
        1,
        new RegExp(`the registry refused: RegistryNotAdmin\\(account ${site1}\\): only a consortium admin`),
      );
      expectOneLineError(
        await cli([
          "task",
          "create",
          "--spec-hash",
          specHash,
          "--genesis",
          genesis,
          "--min-sites",
          "1",
          "--window",
          "1",
          "--rounds",
          "1",
          "--dev-account",
          "aggregator",
        ]),
        1,
        /the ledger refused: LedgerNotAdmin\(account 0x\w+\)/,
      );
    });

    it("a malformed proposal id is a usage error", async function () {
      expectOneLineError(
        await cli(["task", "approve", "0x12", "--dev-account", "admin1"]),
        2,
        /the proposal id must be a 32-byte hash/,
      );
    });

    it("a malformed hash and an out-of-range number are usage errors", async function () {
      expectOneLineError(
        await cli([
          "task",
          "create",
          "--spec-hash",
          "0x12",
          "--genesis",
          genesis,
          "--min-sites",
          "1",
          "--window",
          "1",
          "--rounds",
          "1",
          "--dev-account",
          "admin1",
        ]),
        2,
        /--spec-hash must be a 32-byte hash/,
      );
      expectOneLineError(
        await cli([
          "task",
          "create",
          "--spec-hash",
          specHash,
          "--genesis",
          genesis,
          "--min-sites",
          "0",
          "--window",
          "1",
          "--rounds",
          "1",
          "--dev-account",
          "admin1",
        ]),
        2,
        /--min-sites must be a whole number from 1 to 65535/,
      );
    });

    it("an unreachable RPC fails fast with one line", async function () {
      const { freePort } = await import("../../node/chain/freePort");
      const deadUrl = `http://127.0.0.1:${await freePort()}`;
      expectOneLineError(
        await cli(["site", "list", "--rpc", deadUrl]),
        1,
        new RegExp(
          `cannot reach the chain at ${deadUrl}: connection refused \\(ECONNREFUSED\\)\\. Start one with \`fedledger chain up\` or pass --rpc`,
        ),
      );
    });

    it("a missing deployment file says how to make one", async function () {
      const missing = path.join(dir, "nothing-here.json");
      expectOneLineError(
        await cli(["site", "list"], { FEDLEDGER_DEPLOYMENT: missing }),
        2,
        /no deployment found at .*nothing-here\.json\. Run `fedledger deploy` first or pass --deployment/,
      );
    });

    it("a transaction without a signer asks for one", async function () {
      expectOneLineError(await cli(["site", "approve", site2]), 2, /needs a signing key\. Pass --keystore/);
    });
  });
});
