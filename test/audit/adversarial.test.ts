import { expect } from "chai";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ethers } from "hardhat";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { TrainingLedger } from "../../typechain-types";
import { openObjectSource, verifyModel, type AuditReport, type BrokenLink } from "../../node/audit";
import { encodeModel, hashModelBytes } from "../../node/model/format";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, type History, type HistoryActors } from "./fixture";

/*
 * The audit's checks that an honest chain and aggregator never trigger, each against a fixture that breaks
 * exactly one thing: a ledger view that lies (about a round's storage, a commit leaf or its registry), an
 * aggregator that records an unknown rule or includes an update it could not use, and a doctored store. Each
 * test names the code it expects, so deleting the check makes it fail.
 */
describe("audit verify against a lying ledger, a dishonest aggregator or a doctored store", function () {
  let actors: HistoryActors;
  let clean: History;
  const dirs: string[] = [];

  async function tempDir(): Promise<string> {
    const dir = await makeTempDir("fedledger-audit-adv-");
    dirs.push(dir);
    return dir;
  }

  function realLedger(h: History): TrainingLedger {
    return TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider);
  }

  /** A view of the ledger that answers `overrides` itself and passes every other read to the real one. */
  function lyingLedger(real: TrainingLedger, overrides: Record<string, unknown>): TrainingLedger {
    return new Proxy(real, {
      get(target, prop) {
        if (typeof prop === "string" && Object.hasOwn(overrides, prop)) return overrides[prop];
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  async function audit(
    h: History,
    options: { ledger?: TrainingLedger; storeDir?: string } = {},
  ): Promise<AuditReport> {
    return verifyModel({
      ledger: options.ledger ?? realLedger(h),
      provider: ethers.provider,
      modelBytes: h.finalModel.bytes,
      source: await openObjectSource(options.storeDir ?? h.storeDir),
      registryFromBlock: h.deployBlock,
    });
  }

  async function storeCopy(h: History): Promise<string> {
    const dir = await tempDir();
    await cp(h.storeDir, dir, { recursive: true });
    return dir;
  }

  const objectFile = (storeDir: string, hash: string) => path.join(storeDir, "objects", hash.slice(2));
  const codes = (links: BrokenLink[]) => links.map((l) => l.code);

  before(async function () {
    const signers = await ethers.getSigners();
    actors = { admin: signers[0], aggregator: signers[3], auditor: signers[4], sites: signers.slice(5, 8) };
    clean = await buildHistory({ actors, storeDir: await tempDir(), rounds: 2, seed: 31 });
  });

  after(async function () {
    for (const dir of dirs) await removeTempDir(dir);
  });

  it("chain_inconsistent: the ledger's storage disagrees with its events", async function () {
    const real = realLedger(clean);
    const ledger = lyingLedger(real, {
      getRound: async (task: bigint, round: number) => {
        const r = await real.getRound(task, round);
        return {
          status: r.status,
          commitCount: round === 2 ? r.commitCount + 1n : r.commitCount,
          includedCount: r.includedCount,
          baseModelHash: r.baseModelHash,
          updatesRoot: r.updatesRoot,
          modelHash: r.modelHash,
        };
      },
    });
    const report = await audit(clean, { ledger });
    expect(report.verdict).to.equal("failed");
    expect(report.firstBrokenLink).to.deep.include({
      code: "chain_inconsistent",
      round: 2,
      expected: "4",
      found: "3",
    });
    expect(report.firstBrokenLink?.message).to.contain("storage says commitCount 4");
    expect(report.rounds[0].verdict).to.equal("passed");
  });

  it("commit_leaf_mismatch: the leaf the ledger stores is not the leaf of the commit's event", async function () {
    const real = realLedger(clean);
    const victim = clean.siteAddresses[1];
    const forged = `0x${"ab".repeat(32)}`;
    const ledger = lyingLedger(real, {
      commitLeaf: async (task: bigint, round: number, site: string) =>
        round === 1 && site.toLowerCase() === victim.toLowerCase()
          ? forged
          : real.commitLeaf(task, round, site),
    });
    const report = await audit(clean, { ledger });
    expect(report.firstBrokenLink).to.deep.include({
      code: "commit_leaf_mismatch",
      round: 1,
      site: victim,
      expected: forged,
    });
    expect(report.rounds[0].updates[1].leafMatches).to.equal(false);
  });

  it("site_not_active: the registry's history does not show the site Active at its commit", async function () {
    // A ledger that names a registry where no site was ever approved (as a ledger that skips the rule would).
    const empty = await new ConsortiumRegistry__factory(actors.admin).deploy(
      [await actors.admin.getAddress()],
      1,
    );
    await empty.waitForDeployment();
    const ledger = lyingLedger(realLedger(clean), { registry: async () => empty.getAddress() });
    const report = await audit(clean, { ledger });
    expect(report.firstBrokenLink).to.deep.include({
      code: "site_not_active",
      round: 1,
      site: clean.siteAddresses[0],
      expected: "Active",
      found: "None",
    });
    expect(codes(report.brokenLinks).filter((c) => c === "site_not_active")).to.have.length(6);
  });

  it("genesis_corrupt: the store's genesis bytes do not hash to the task's genesis", async function () {
    const store = await storeCopy(clean);
    const bytes = Buffer.from(clean.genesis.bytes);
    bytes[bytes.length - 1] ^= 0x01;
    await writeFile(objectFile(store, clean.genesis.hash), bytes);
    const report = await audit(clean, { storeDir: store });
    expect(report.firstBrokenLink).to.deep.include({
      code: "genesis_corrupt",
      expected: clean.genesis.hash,
      found: hashModelBytes(bytes),
    });
    expect(report.genesis?.bytes).to.equal("corrupt");
  });

  it("parent_unavailable: a round whose parent can be neither recomputed nor fetched", async function () {
    const store = await storeCopy(clean);
    // Round 1 cannot be recomputed (an update altered) and its model is gone from the store.
    const victim = clean.rounds[0].updates[0];
    const file = objectFile(store, victim.updateHash);
    const bytes = await readFile(file);
    bytes[bytes.length - 2] ^= 0x01;
    await writeFile(file, bytes);
    await rm(objectFile(store, clean.rounds[0].modelHash));
    const report = await audit(clean, { storeDir: store });
    expect(codes(report.rounds[0].brokenLinks)).to.deep.equal(["update_hash_mismatch"]);
    expect(report.rounds[1].brokenLinks).to.have.length(1);
    expect(report.rounds[1].brokenLinks[0]).to.deep.include({
      code: "parent_unavailable",
      round: 2,
      expected: clean.rounds[0].modelHash,
    });
    expect(report.rounds[1].verdict).to.equal("failed");
  });

  it("unknown_rule: the task records a rule this build cannot re-run", async function () {
    const h = await buildHistory({
      actors,
      storeDir: await tempDir(),
      rounds: 1,
      seed: 32,
      recordedRule: 999,
    });
    const report = await audit(h);
    expect(report.firstBrokenLink).to.deep.include({
      code: "unknown_rule",
      found: "999",
      task: h.taskId.toString(),
    });
    expect(report.tasks[0]).to.deep.include({ aggregationRule: 999, aggregationRuleName: null });
    expect(report.rounds[0].recomputedModelHash).to.equal(null);
  });

  it("update_unusable: the root includes an update the rule cannot use", async function () {
    // Site 2 commits and uploads bytes with another layout; the aggregator puts it in the root but averages
    // only the others.
    const wrong = encodeModel([
      { name: "other", dtype: "float32", shape: [2], data: new Float32Array([1, 2]) },
    ]);
    const h = await buildHistory({
      actors,
      storeDir: await tempDir(),
      rounds: 1,
      seed: 33,
      updateBytes: (_round, site, honest) => (site === 2 ? wrong : honest),
      tamper: { round: 1, averagedSites: [0, 1] },
    });
    const report = await audit(h);
    expect(report.firstBrokenLink).to.deep.include({
      code: "update_unusable",
      round: 1,
      site: h.siteAddresses[2],
    });
    expect(report.firstBrokenLink?.message).to.contain("fedavg cannot aggregate");
    expect(report.rounds[0].recomputedModelHash).to.equal(null);
  });
});
