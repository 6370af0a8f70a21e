import { expect } from "chai";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ethers } from "hardhat";
import { TrainingLedger__factory } from "../../typechain-types";
import { openObjectSource, verifyModel, type AuditReport, type BrokenLink } from "../../node/audit";
import { fedAvg } from "../../node/fl";
import { decodeModel, encodeModel, hashModelBytes } from "../../node/model/format";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, SMALL_LAYOUT, type History, type HistoryActors } from "./fixture";

/*
 * The auditor against a real history on the in-process Hardhat network: real contracts, a real store on disk,
 * real FedAvg and Merkle roots. Each tamper test breaks one thing and checks that the report names it.
 */
describe("audit verify: a model's lineage, bit for bit", function () {
  let actors: HistoryActors;
  let clean: History;
  const dirs: string[] = [];

  async function tempDir(): Promise<string> {
    const dir = await makeTempDir("fedledger-audit-");
    dirs.push(dir);
    return dir;
  }

  async function history(options: Partial<Parameters<typeof buildHistory>[0]> = {}): Promise<History> {
    return buildHistory({ actors, storeDir: await tempDir(), ...options });
  }

  async function audit(h: History, modelBytes: Uint8Array, storeDir = h.storeDir): Promise<AuditReport> {
    return verifyModel({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelBytes,
      modelFile: "model.flm",
      source: await openObjectSource(storeDir),
      registryFromBlock: h.deployBlock,
    });
  }

  /** A copy of the history's store, to tamper with. */
  async function storeCopy(h: History): Promise<string> {
    const dir = await tempDir();
    await cp(h.storeDir, dir, { recursive: true });
    return dir;
  }

  function objectFile(storeDir: string, hash: string): string {
    return path.join(storeDir, "objects", hash.slice(2));
  }

  function first(report: AuditReport): BrokenLink {
    expect(report.verdict).to.equal("failed");
    expect(report.firstBrokenLink, "a broken link is named").to.not.equal(null);
    return report.firstBrokenLink as BrokenLink;
  }

  before(async function () {
    const signers = await ethers.getSigners();
    actors = { admin: signers[0], aggregator: signers[3], auditor: signers[4], sites: signers.slice(5, 9) };
    clean = await history();
  });

  after(async function () {
    for (const dir of dirs) await removeTempDir(dir);
  });

  it("verifies the clean model: every round re-aggregates to the recorded hash", async function () {
    const report = await audit(clean, clean.finalModel.bytes);
    expect(report.brokenLinks).to.deep.equal([]);
    expect(report.findings).to.deep.equal([]);
    expect(report.verdict).to.equal("passed");
    expect(report.model.hash).to.equal(clean.finalModel.hash);
    expect(report.model.tensors).to.equal(SMALL_LAYOUT.length);
    expect(report.provenance).to.deep.include({ task: clean.taskId.toString(), round: 3 });
    expect(report.genesis).to.deep.include({ modelHash: clean.genesis.hash, bytes: "ok" });
    expect(report.rounds.map((r) => r.round)).to.deep.equal([1, 2, 3]);
    for (const [i, r] of report.rounds.entries()) {
      expect(r.verdict).to.equal("passed");
      expect(r.recomputedModelHash).to.equal(clean.rounds[i].modelHash);
      expect(r.parentModelHash).to.equal(clean.rounds[i].parentHash);
      expect(r.updatesRoot).to.equal(clean.rounds[i].updatesRoot);
      expect(r.includedSetMethod).to.equal("available");
      expect(r.updates).to.have.length(4);
      for (const [j, u] of r.updates.entries()) {
        expect(u).to.deep.include({
          included: true,
          bytes: "ok",
          leafMatches: true,
          statusAtCommit: "Active",
        });
        expect(u.numSamples).to.equal(clean.rounds[i].updates[j].numSamples.toString());
        expect(u.siteName).to.be.a("string");
      }
    }
  });

  it("verifies an intermediate model, and the genesis model itself", async function () {
    const middle = await audit(clean, clean.rounds[1].modelBytes);
    expect(middle.verdict).to.equal("passed");
    expect(middle.rounds.map((r) => r.round)).to.deep.equal([1, 2]);
    const genesis = await audit(clean, clean.genesis.bytes);
    expect(genesis.verdict).to.equal("passed");
    expect(genesis.rounds).to.deep.equal([]);
    expect(genesis.provenance).to.deep.include({ round: 0 });
  });

  it("verifies a sparse FedAvg (rule 2) task with the rule the task records", async function () {
    const sparse = await history({ rule: 2, zeroShare: 0.5, seed: 5 });
    const report = await audit(sparse, sparse.finalModel.bytes);
    expect(report.brokenLinks).to.deep.equal([]);
    expect(report.verdict).to.equal("passed");
    expect(report.tasks.map((t) => [t.aggregationRule, t.aggregationRuleName])).to.deep.equal([
      [2, "fedavg-sparse"],
    ]);
    expect(report.rounds.map((r) => r.recomputedModelHash)).to.deep.equal(
      sparse.rounds.map((r) => r.modelHash),
    );
    // The rule matters: plain FedAvg over the same updates gives another model.
    const first = sparse.rounds[0];
    const plain = await fedAvg.aggregate(
      sparse.genesis.bytes,
      first.updates.map((u) => ({ site: u.site, numSamples: u.numSamples, bytes: async () => u.bytes })),
    );
    expect(hashModelBytes(plain)).to.not.equal(first.modelHash);
  });

  it("verifies tasks of the robust rules 3 to 6, with one site sending a ×100 update", async function () {
    const scaled = (bytes: Uint8Array) =>
      encodeModel(
        decodeModel(bytes).map((t) => ({ ...t, data: (t.data as Float32Array).map((v) => v * 100) })),
      );
    for (const [rule, name] of [
      [3, "median"],
      [4, "trimmed-mean"],
      [5, "fedavg-clipped"],
      [6, "multi-krum"],
    ] as const) {
      const h = await history({
        rule,
        rounds: 2,
        seed: 10 + rule,
        updateBytes: (_round, site, honest) => (site === 3 ? scaled(honest) : honest),
      });
      const report = await audit(h, h.finalModel.bytes);
      expect(report.brokenLinks, name).to.deep.equal([]);
      expect(report.tasks.map((t) => t.aggregationRuleName)).to.deep.equal([name]);
      expect(report.rounds.map((r) => r.recomputedModelHash)).to.deep.equal(h.rounds.map((r) => r.modelHash));
    }
  });

  it("detects one byte flipped in a stored update", async function () {
    const store = await storeCopy(clean);
    const target = clean.rounds[1].updates[2];
    const file = objectFile(store, target.updateHash);
    const bytes = await readFile(file);
    bytes[bytes.length - 3] ^= 0x01;
    await writeFile(file, bytes);
    const link = first(await audit(clean, clean.finalModel.bytes, store));
    expect(link).to.deep.include({
      code: "update_hash_mismatch",
      round: 2,
      site: target.site,
      expected: target.updateHash,
      found: hashModelBytes(bytes),
    });
    expect(link.message)
      .to.contain("round 2 of task")
      .and.contain(target.site)
      .and.contain(hashModelBytes(bytes));
  });

  it("detects an update swapped for another site's", async function () {
    const store = await storeCopy(clean);
    const [victim, other] = [clean.rounds[0].updates[0], clean.rounds[0].updates[3]];
    await writeFile(objectFile(store, victim.updateHash), other.bytes);
    const link = first(await audit(clean, clean.finalModel.bytes, store));
    expect(link).to.deep.include({
      code: "update_hash_mismatch",
      round: 1,
      site: victim.site,
      expected: victim.updateHash,
      found: other.updateHash,
    });
    expect(link.message).to.contain(`which is the update site ${other.site}`);
  });

  it("detects an update missing from the store", async function () {
    const store = await storeCopy(clean);
    const gone = clean.rounds[2].updates[1];
    await rm(objectFile(store, gone.updateHash));
    const link = first(await audit(clean, clean.finalModel.bytes, store));
    expect(link).to.deep.include({
      code: "update_missing",
      round: 3,
      site: gone.site,
      expected: gone.updateHash,
    });
    expect(link.message).to.contain("missing from the store");
  });

  it("detects a changed sample count in the store's upload record", async function () {
    const store = await storeCopy(clean);
    const target = clean.rounds[1].updates[0];
    const file = path.join(
      store,
      "rounds",
      clean.taskId.toString(),
      "2",
      `${target.site.toLowerCase()}.json`,
    );
    const record = JSON.parse(await readFile(file, "utf8")) as { numSamples: string };
    record.numSamples = String(target.numSamples + 1n);
    await writeFile(file, JSON.stringify(record));
    const link = first(await audit(clean, clean.finalModel.bytes, store));
    expect(link).to.deep.include({
      code: "upload_record_mismatch",
      round: 2,
      site: target.site,
      expected: target.numSamples.toString(),
      found: String(target.numSamples + 1n),
    });
    expect(link.message).to.contain("sample count");
  });

  it("names an upload record that cannot be read", async function () {
    const store = await storeCopy(clean);
    const target = clean.rounds[2].updates[3];
    const file = path.join(
      store,
      "rounds",
      clean.taskId.toString(),
      "3",
      `${target.site.toLowerCase()}.json`,
    );
    await writeFile(file, "{ not json");
    const link = first(await audit(clean, clean.finalModel.bytes, store));
    expect(link).to.deep.include({
      code: "upload_record_mismatch",
      round: 3,
      site: target.site.toLowerCase(),
    });
    expect(link.message).to.contain("cannot be read").and.contain(file);
  });

  it("detects an aggregator that weighted an update with another sample count than committed", async function () {
    const h = await history({
      rounds: 2,
      seed: 3,
      tamper: { round: 2, samples: { site: 1, numSamples: 999n } },
    });
    const report = await audit(h, h.finalModel.bytes);
    const site = h.siteAddresses[1];
    expect(first(report)).to.deep.include({ code: "upload_record_mismatch", round: 2, site, found: "999" });
    const codes = report.rounds[1].brokenLinks.map((l) => l.code);
    expect(codes).to.include("updates_root_mismatch");
    expect(report.rounds[0].verdict).to.equal("passed");
  });

  it("detects a model file changed by one byte", async function () {
    const bytes = Buffer.from(clean.finalModel.bytes);
    bytes[bytes.length - 1] ^= 0x80;
    const link = first(await audit(clean, bytes));
    expect(link).to.deep.include({ code: "model_unknown", found: hashModelBytes(bytes) });
    expect(link.message).to.contain("model.flm").and.contain("is not recorded on the ledger");
  });

  it("detects an aggregator that finalised with a Merkle root over a different set", async function () {
    // The aggregate uses all four updates, but the root covers only three of them.
    const h = await history({ rounds: 2, seed: 4, tamper: { round: 2, rootSites: [0, 1, 3] } });
    const link = first(await audit(h, h.finalModel.bytes));
    expect(link).to.deep.include({ code: "included_count_mismatch", round: 2, expected: "4", found: "3" });
    expect(link.message).to.contain(h.rounds[1].updatesRoot);
  });

  it("detects a root and count over three updates when the model averages four", async function () {
    const h = await history({
      rounds: 2,
      seed: 5,
      tamper: { round: 2, rootSites: [0, 2, 3], includedCount: 3 },
    });
    const link = first(await audit(h, h.finalModel.bytes));
    expect(link).to.deep.include({ code: "model_mismatch", round: 2, expected: h.rounds[1].modelHash });
    expect(link.message).to.contain("3 included update(s)");
  });

  it("detects a model recorded on a different ledger", async function () {
    const other = await history({ rounds: 1, seed: 6, registry: clean.registry });
    const link = first(await audit(clean, other.finalModel.bytes));
    expect(link).to.deep.include({
      code: "model_other_ledger",
      expected: clean.ledgerAddress,
      found: other.ledgerAddress,
    });
    expect(link.message).to.contain(`another contract, ${other.ledgerAddress} (task 1, round 1`);
  });

  it("detects an unknown model", async function () {
    const unknown = Buffer.from(clean.genesis.bytes);
    unknown[unknown.length - 5] ^= 0x10;
    const link = first(await audit(clean, unknown));
    expect(link.code).to.equal("model_unknown");
    expect(link.message).to.contain("nor as a round's result by any other contract");
  });

  it("names a file that is not a model file", async function () {
    const link = first(await audit(clean, Buffer.from("not a model at all")));
    expect(link.code).to.equal("model_layout");
    expect(link.message).to.contain("model.flm");
  });

  it("finds the included set from the store when a site committed but never uploaded", async function () {
    const h = await history({ rounds: 2, seed: 7, excluded: (round) => (round === 2 ? [2] : []) });
    const report = await audit(h, h.finalModel.bytes);
    expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
    const r2 = report.rounds[1];
    expect(r2).to.deep.include({ includedCount: 3, commitCount: 4, includedSetMethod: "available" });
    expect(r2.updates[2]).to.deep.include({ included: false, bytes: "missing" });
  });

  it("finds the included set by search, and reports valid stored updates left out (censorship)", async function () {
    const h = await history({
      rounds: 2,
      seed: 8,
      excluded: (round) => (round === 1 ? [0, 3] : []),
      excludedUploaded: true,
    });
    const report = await audit(h, h.finalModel.bytes);
    // The lineage holds (the arithmetic was followed), so the verdict passes; the left-out updates are findings.
    expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
    expect(report.rounds[0]).to.deep.include({ includedCount: 2, includedSetMethod: "search" });
    expect(report.rounds[0].updates.map((u) => u.included)).to.deep.equal([false, true, true, false]);
    expect(report.findings.map((f) => [f.code, f.round, f.site])).to.deep.equal([
      ["update_left_out", 1, h.siteAddresses[0]],
      ["update_left_out", 1, h.siteAddresses[3]],
    ]);
    expect(report.rounds[0].findings).to.deep.equal(report.findings);
    expect(report.findings[0].message)
      .to.contain(h.rounds[0].updates[0].updateHash)
      .and.contain("left it out");
  });

  it("reports a genesis model missing from the store", async function () {
    const store = await storeCopy(clean);
    await rm(objectFile(store, clean.genesis.hash));
    const report = await audit(clean, clean.finalModel.bytes, store);
    expect(first(report)).to.deep.include({ code: "genesis_missing", expected: clean.genesis.hash });
    // Round 1 cannot be re-aggregated without its parent.
    expect(report.rounds[0].brokenLinks.map((l) => l.code)).to.deep.equal(["parent_unavailable"]);
    // Later rounds are still checked from the store's copy of each recorded model.
    expect(report.rounds.map((r) => r.verdict)).to.deep.equal(["failed", "passed", "passed"]);
  });
});
