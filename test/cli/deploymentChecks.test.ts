import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { connectChain } from "../../node/chain/connection";
import { devAccountAddress, devAccountWallet } from "../../node/chain/devAccounts";
import type { Deployment } from "../../node/chain/deployment";
import type { EmbeddedChain } from "../../node/chain/embeddedChain";
import { TrainingLedger__factory } from "../../typechain-types";
import { startTestChain, useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { expectJson, expectOneLineError, expectSuccess } from "./expectations";

/*
 * Commands cross-check the deployment file against the chain: the chain is the one the deployment was made on
 * (its deployment block hash), and the file's ledger belongs to the file's registry. Two real Hardhat nodes with
 * the same chain id: the same deployer deploys on both, so the contracts sit at the same addresses on each and
 * only the block hash tells the chains apart.
 */
describe("fedledger CLI: deployment cross-checks", function () {
  const chain = useEmbeddedChain();
  let other: EmbeddedChain;
  let dir: string;
  let good: Deployment;
  let goodFile: string;

  /** Writes `deployment` to `name` in the test folder and returns the path. */
  async function writeDeployment(name: string, deployment: Record<string, unknown>): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(deployment, null, 2));
    return file;
  }

  function siteList(file: string, extra: string[] = []) {
    return runCli(["site", "list", ...extra], { env: { FEDLEDGER_DEPLOYMENT: file } });
  }

  before(async function () {
    this.timeout(120_000);
    dir = await makeTempDir();
    other = await startTestChain();
    goodFile = path.join(dir, "good.json");
    expectSuccess(
      await runCli(["deploy", "--rpc", chain().url, "--dev-account", "admin1"], {
        env: { FEDLEDGER_DEPLOYMENT: goodFile },
      }),
    );
    good = JSON.parse(await readFile(goodFile, "utf8")) as Deployment;
  });
  after(async function () {
    this.timeout(30_000);
    await other?.stop();
    await removeTempDir(dir);
  });

  it("records the deployment block's hash, and a matching file passes", async function () {
    expect(good.deployBlockHash).to.match(/^0x[0-9a-f]{64}$/);
    const { provider } = await connectChain({ rpc: chain().url });
    try {
      expect((await provider.getBlock(good.deployBlock))?.hash).to.equal(good.deployBlockHash);
    } finally {
      provider.destroy();
    }
    const res = await siteList(goodFile);
    expect(expectSuccess(res)).to.match(/no sites yet/);
    expect(res.stderr).to.equal("");
  });

  it("refuses a chain with the same id and contracts at the same addresses that is another chain", async function () {
    const otherFile = path.join(dir, "other.json");
    const deployed = expectJson<Deployment>(
      await runCli(["deploy", "--rpc", other.url, "--dev-account", "admin1", "--json"], {
        env: { FEDLEDGER_DEPLOYMENT: otherFile },
      }),
    );
    // The threat: everything that was checked before (chain id, code at both addresses) matches.
    expect([deployed.chainId, deployed.registry, deployed.ledger]).to.deep.equal([
      good.chainId,
      good.registry,
      good.ledger,
    ]);
    expectOneLineError(
      await siteList(goodFile, ["--rpc", other.url]),
      1,
      new RegExp(
        `the chain at ${other.url} is not the chain the deployment at .*good\\.json was made on: block ` +
          `${good.deployBlock} there is 0x[0-9a-f]{64}, but the deployment was made in block ${good.deployBlock} ` +
          `${good.deployBlockHash}\\. Point --rpc at the chain it was deployed on`,
      ),
    );
  });

  it("refuses a file whose deployment block the chain does not have", async function () {
    const file = await writeDeployment("future.json", { ...good, deployBlock: 1_000_000 });
    expectOneLineError(
      await siteList(file),
      1,
      /is not the chain the deployment at .*future\.json was made on: it has no block 1000000/,
    );
  });

  it("refuses a file with the registry and ledger swapped, instead of listing no sites", async function () {
    const file = await writeDeployment("swapped.json", {
      ...good,
      registry: good.ledger,
      ledger: good.registry,
    });
    const line = expectOneLineError(
      await siteList(file),
      2,
      new RegExp(
        `the deployment at .*swapped\\.json has the registry and ledger addresses swapped: ${good.registry} is ` +
          `the registry and ${good.ledger} the ledger`,
      ),
    );
    expect(line).not.to.match(/no sites/);
    // Every command that loads the file checks it, read-only and signing alike.
    expectOneLineError(
      await runCli(["role", "grant", "auditor", devAccountAddress("auditor"), "--dev-account", "admin1"], {
        env: { FEDLEDGER_DEPLOYMENT: file },
      }),
      2,
      /registry and ledger addresses swapped/,
    );
  });

  it("makes the auditor's commands check the deployment file too (exit 2, a source error)", async function () {
    const swapped = await writeDeployment("audit-swapped.json", {
      ...good,
      registry: good.ledger,
      ledger: good.registry,
    });
    const lineage = (file: string, extra: string[] = []) =>
      runCli(["audit", "lineage", "--model", `0x${"ab".repeat(32)}`, ...extra], {
        env: { FEDLEDGER_DEPLOYMENT: file },
      });
    expectOneLineError(
      await lineage(swapped),
      2,
      /audit-swapped\.json has the registry and ledger addresses swapped/,
    );
    expectOneLineError(
      await lineage(goodFile, ["--rpc", other.url]),
      2,
      /is not the chain the deployment at .*good\.json was made on/,
    );
    // With the right file, the check passes and the audit gets as far as the unknown model.
    const res = await lineage(goodFile);
    expect(res.code).to.equal(1);
    expect(res.stderr).not.to.match(/deployment/);
  });

  it("refuses a ledger that belongs to another registry", async function () {
    const { provider } = await connectChain({ rpc: chain().url });
    let foreign: string;
    try {
      // A ledger bound to another address (here an account, as good as any registry the file does not name).
      const ledger = await new TrainingLedger__factory(devAccountWallet("admin3", provider)).deploy(
        devAccountAddress("admin3"),
      );
      await ledger.waitForDeployment();
      foreign = await ledger.getAddress();
    } finally {
      provider.destroy();
    }
    const file = await writeDeployment("foreign.json", { ...good, ledger: foreign });
    expectOneLineError(
      await siteList(file),
      2,
      new RegExp(
        `the deployment at .*foreign\\.json does not hold together: the ledger ${foreign} belongs to the ` +
          `registry ${devAccountAddress("admin3")}, not to the registry ${good.registry} the file names`,
      ),
    );
  });

  it("refuses a file whose ledger address holds another contract", async function () {
    const file = await writeDeployment("two-registries.json", { ...good, ledger: good.registry });
    expectOneLineError(
      await siteList(file),
      2,
      new RegExp(`names ${good.registry} as the ledger, but the contract there is not a TrainingLedger`),
    );
  });

  it("still reads a file written before block hashes were recorded, with a warning", async function () {
    const legacy: Record<string, unknown> = { ...good };
    delete legacy.deployBlockHash;
    const file = await writeDeployment("legacy.json", legacy);
    const res = await siteList(file);
    expect(expectSuccess(res)).to.match(/no sites yet/);
    expect(res.stderr.trim().split("\n")).to.have.length(1);
    expect(res.stderr).to.match(
      /^warning: the deployment at .*legacy\.json records no deployment block hash .*run `fedledger deploy` again/,
    );
  });
});
