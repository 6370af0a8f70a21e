import { expect } from "chai";
import { cp, rm } from "node:fs/promises";
import path from "node:path";
import { ethers } from "hardhat";
import { TrainingLedger__factory } from "../../typechain-types";
import {
  describeLineage,
  formatLineage,
  LineageBreak,
  openObjectSource,
  verifyModel,
  type LineageDocument,
} from "../../node/audit";
import { metricsHash } from "../../node/fl/metrics";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, type History, type HistoryActors } from "./fixture";

/*
 * `audit lineage`: the family tree of a model from the chain, with metric values from the store when they hash
 * to what the sites committed. (A task can no longer start from another task's model: the ledger refuses a
 * genesis that is already recorded, so a lineage stays within one task.)
 */
describe("audit lineage: a model's family tree", function () {
  let actors: HistoryActors;
  let first: History;
  let dir: string;

  function lineage(h: History, modelHash: string, storeDir?: string): Promise<LineageDocument> {
    return (async () =>
      describeLineage({
        ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
        provider: ethers.provider,
        modelHash,
        source: storeDir ? await openObjectSource(storeDir) : undefined,
        registryFromBlock: h.deployBlock,
      }))();
  }

  before(async function () {
    const signers = await ethers.getSigners();
    actors = { admin: signers[0], aggregator: signers[3], auditor: signers[4], sites: signers.slice(5, 8) };
    dir = await makeTempDir("fedledger-lineage-");
    const storeDir = path.join(dir, "store");
    first = await buildHistory({ actors, storeDir, rounds: 3, seed: 11 });
  });

  after(async function () {
    await removeTempDir(dir);
  });

  it("lists rounds, sites, sample counts, hashes, verified metric values, blocks and times", async function () {
    const doc = await lineage(first, first.finalModel.hash, first.storeDir);
    expect(doc.model).to.deep.include({ hash: first.finalModel.hash, task: "1", round: 3 });
    expect(doc.genesis.modelHash).to.equal(first.genesis.hash);
    expect(doc.genesis.recordedAt).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(doc.rounds.map((r) => r.modelHash)).to.deep.equal(first.rounds.map((r) => r.modelHash));
    for (const [i, r] of doc.rounds.entries()) {
      expect(r.parentModelHash).to.equal(first.rounds[i].parentHash);
      expect(r.finalizedAt).to.match(/^\d{4}-\d\d-\d\dT/);
      expect(r.finalizedAtBlock).to.be.greaterThan(r.openedAtBlock);
      expect(r.sites).to.have.length(3);
      for (const [j, s] of r.sites.entries()) {
        const u = first.rounds[i].updates[j];
        expect(s).to.deep.include({
          site: u.site,
          numSamples: u.numSamples.toString(),
          updateHash: u.updateHash,
          metricsHash: metricsHash(u.metrics),
          metricsSource: "upload record",
          included: true,
        });
        expect(s.metrics).to.deep.equal(u.metrics);
        expect(s.name).to.match(/\((NO|SE|DK)\)$/);
      }
      const meanLoss = first.rounds[i].updates.reduce((a, u) => a + (u.metrics.loss as number), 0) / 3;
      expect(r.metricsMean.loss).to.be.closeTo(meanLoss, 1e-12);
    }
  });

  it("falls back to the round metrics document, and shows only hashes without a store", async function () {
    const storeDir = path.join(dir, "store-without-records");
    await cp(first.storeDir, storeDir, { recursive: true });
    await rm(path.join(storeDir, "rounds"), { recursive: true });
    const fromDocument = await lineage(first, first.finalModel.hash, storeDir);
    expect(fromDocument.rounds[0].sites.map((s) => s.metricsSource)).to.deep.equal(
      Array(3).fill("round document"),
    );
    const bare = await lineage(first, first.finalModel.hash);
    expect(bare.rounds[0].sites.map((s) => s.metrics)).to.deep.equal([null, null, null]);
  });

  it("cannot cross tasks: the ledger refuses a task whose genesis is another task's model", async function () {
    await expect(
      buildHistory({
        actors,
        storeDir: path.join(dir, "store"),
        rounds: 2,
        seed: 12,
        registry: first.registry,
        ledger: first.ledger,
        genesisBytes: first.finalModel.bytes,
      }),
    )
      .to.be.revertedWithCustomError(first.ledger, "LedgerGenesisAlreadyRecorded")
      .withArgs(first.finalModel.hash, 1, 3);
  });

  it("steps over an aborted round: the next round starts from the same parent", async function () {
    const h = await buildHistory({
      actors,
      storeDir: path.join(dir, "aborted"),
      rounds: 3,
      seed: 13,
      abortRound: 2,
    });
    const doc = await lineage(h, h.finalModel.hash, h.storeDir);
    expect(doc.rounds.map((r) => r.round)).to.deep.equal([1, 3, 4]);
    expect(doc.rounds[1].parentModelHash).to.equal(doc.rounds[0].modelHash);
    expect(doc.tasks[0].abortedRounds).to.deep.equal([{ round: 2, commitCount: 1, reason: 2 }]);
    expect(formatLineage(doc, "text")).to.contain("round 2 of task 1 was aborted after 1 commit(s)");
    const report = await verifyModel({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelBytes: h.finalModel.bytes,
      source: await openObjectSource(h.storeDir),
    });
    expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
    expect(report.rounds.map((r) => r.round)).to.deep.equal([1, 3, 4]);
  });

  it("renders text, JSON, Mermaid and DOT", async function () {
    const doc = await lineage(first, first.finalModel.hash, first.storeDir);
    const text = formatLineage(doc, "text");
    for (const r of first.rounds) expect(text).to.contain(r.modelHash);
    expect(text).to.contain("samples").and.contain('"macroF1"');
    expect(JSON.parse(formatLineage(doc, "json"))).to.deep.equal(JSON.parse(JSON.stringify(doc)));
    const mermaid = formatLineage(doc, "mermaid");
    expect(mermaid.split("\n")[0]).to.equal("flowchart TD");
    expect(mermaid.match(/ --> /g)).to.have.length(3);
    expect(mermaid.match(/ -\. /g)).to.have.length(9);
    const dot = formatLineage(doc, "dot");
    expect(dot).to.match(/^digraph lineage \{/);
    expect(dot.match(/style=dashed/g)).to.have.length(9);
    expect(dot.trim().endsWith("}")).to.equal(true);
  });

  it("refuses a model the ledger does not record", async function () {
    const unknown = `0x${"ab".repeat(32)}`;
    let caught: unknown;
    try {
      await lineage(first, unknown);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(LineageBreak);
    expect((caught as LineageBreak).link.code).to.equal("model_unknown");
  });
});
