import { rm } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { TrainingLedger__factory } from "../../typechain-types";
import {
  describeLineage,
  formatReport,
  openObjectSource,
  verifyModel,
  type AuditReport,
} from "../../node/audit";
import type { Metrics } from "../../node/fl/metrics";
import { writeModelFile } from "../../node/model/files";
import { defaultSpec, parseSpec, type DpConfig, type ModelSpec } from "../../node/model/spec";
import { siteEpsilon } from "../../node/privacy/budget";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, type BuildHistoryOptions, type History, type HistoryActors } from "./fixture";

/*
 * The privacy budget in the audit: every site's ε recomputed from the chain (its commits, aborted rounds
 * included) and the task's spec found in the store by its on-chain hash; a site over the budget and a site
 * whose committed ε is wrong each break a link.
 */

/** No sampling (q = 1) and one step per round, so the accountant has a closed form to check it against. */
const DP: DpConfig = {
  clipNorm: 1,
  noiseMultiplier: 2,
  sampleRate: 1,
  delta: 1e-5,
  epsilonBudget: 1000,
  noise: "csprng",
};

function dpSpec(epsilonBudget: number): ModelSpec {
  const spec = defaultSpec();
  return parseSpec({ ...spec, training: { ...spec.training, epochs: 1, dp: { ...DP, epsilonBudget } } });
}

/**
 * ε of `steps` steps of the plain Gaussian mechanism, written apart from node/privacy: RDP(α) = steps·α/(2σ²)
 * (Mironov 2017, Proposition 7), the improved conversion ε = r + log(1 − 1/α) − (log δ + log α)/(α − 1)
 * (Balle et al. 2020, Theorem 21), minimised over dp_accounting's default orders.
 */
function independentEpsilon(steps: number, sigma: number, delta: number): number {
  const orders: number[] = [];
  for (let x = 11; x <= 109; x++) orders.push(x / 10);
  for (let a = 11; a <= 63; a++) orders.push(a);
  orders.push(128, 256, 512, 1024);
  let best = Infinity;
  for (const a of orders) {
    const r = (steps * a) / (2 * sigma * sigma);
    best = Math.min(best, r + Math.log((a - 1) / a) - (Math.log(delta) + Math.log(a)) / (a - 1));
  }
  return Math.max(0, best);
}

describe("audit: the privacy budget recomputed from the chain", function () {
  let actors: HistoryActors;
  const dirs: string[] = [];

  /** What an honest site commits: its ε after `joined` rounds of the spec. */
  const honest =
    (spec: ModelSpec) =>
    (_round: number, _site: number, joined: number): Metrics => ({
      dpEpsilon: siteEpsilon(spec.training.dp as DpConfig, 1, joined),
      dpRounds: joined,
    });

  /** Three sites, three finalised rounds and an aborted round 2 in which site 0 committed. */
  async function history(spec: ModelSpec, options: Partial<BuildHistoryOptions> = {}): Promise<History> {
    const dir = await makeTempDir("fedledger-audit-privacy-");
    dirs.push(dir);
    return buildHistory({
      actors,
      storeDir: dir,
      rounds: 3,
      abortRound: 2,
      spec,
      siteMetrics: honest(spec),
      ...options,
    });
  }

  async function audit(h: History): Promise<AuditReport> {
    return verifyModel({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelBytes: h.finalModel.bytes,
      source: await openObjectSource(h.storeDir),
      registryFromBlock: h.deployBlock,
    });
  }

  before(async function () {
    const signers = await ethers.getSigners();
    actors = { admin: signers[0], aggregator: signers[3], auditor: signers[4], sites: signers.slice(5, 8) };
  });
  after(async function () {
    for (const dir of dirs) await removeTempDir(dir);
  });

  it("passes, with each site's ε equal to an independent closed form", async function () {
    const h = await history(dpSpec(1000));
    const report = await audit(h);
    expect(report.brokenLinks).to.deep.equal([]);
    expect(report.verdict).to.equal("passed");
    const [privacy] = report.privacy;
    expect(privacy).to.include({ spec: "store", specHash: (await h.ledger.getTask(h.taskId)).specHash });
    expect(privacy.dp).to.include({ sampleRate: 1, noiseMultiplier: 2, epochs: 1, stepsPerRound: 1 });
    const joined = new Map(h.siteAddresses.map((s, i) => [s.toLowerCase(), i === 0 ? 4 : 3]));
    expect(privacy.sites).to.have.length(3);
    for (const s of privacy.sites) {
      const rounds = joined.get(s.site.toLowerCase()) as number;
      expect(s.roundsJoined, s.site).to.equal(rounds);
      const expected = independentEpsilon(rounds, 2, 1e-5);
      expect(Math.abs(s.epsilon - expected) / expected).to.be.below(1e-12);
      expect(s).to.include({ withinBudget: true, reportsAgreeing: 3, reportsUnavailable: 0 });
    }
    expect(formatReport(report)).to.match(
      /privacy of task \d+: DP-SGD q 1, σ 2, C 1, 1 steps per round; budget ε 1000/,
    );

    const doc = await describeLineage({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelHash: h.finalModel.hash,
      source: await openObjectSource(h.storeDir),
    });
    expect(doc.privacyBreaks).to.deep.equal([]);
    expect(doc.privacy[0].sites.map((s) => s.epsilon)).to.deep.equal(privacy.sites.map((s) => s.epsilon));
  });

  it("fails a model whose lineage takes a site past the budget, counting its commit in an aborted round", async function () {
    const budget = (siteEpsilon(DP, 1, 3) + siteEpsilon(DP, 1, 4)) / 2;
    const h = await history(dpSpec(budget));
    const report = await audit(h);
    expect(report.verdict).to.equal("failed");
    expect(report.brokenLinks.map((l) => [l.code, l.site])).to.deep.equal([
      ["dp_budget_exceeded", h.siteAddresses[0]],
    ]);
    expect(report.firstBrokenLink?.message).to.match(
      /committed updates in 4 round\(s\) \(1, 2, 3, 4\), which spend ε [\d.]+ \(δ 0\.00001\), more than the task's budget/,
    );
    expect(report.privacy[0].sites.filter((s) => !s.withinBudget)).to.have.length(1);
  });

  it("fails a site whose committed ε disagrees with the recomputation; a drift of 1e-12 is tolerated", async function () {
    const spec = dpSpec(1000);
    const h = await history(spec, {
      siteMetrics: (round, site, joined) => {
        const m = honest(spec)(round, site, joined);
        if (round === 3 && site === 1) return { ...m, dpEpsilon: (m.dpEpsilon as number) * (1 + 1e-6) };
        if (round === 3 && site === 2) return { ...m, dpEpsilon: (m.dpEpsilon as number) * (1 + 1e-12) };
        if (round === 4 && site === 2) return { dpRounds: joined };
        return m;
      },
    });
    const report = await audit(h);
    expect(report.verdict).to.equal("failed");
    expect(report.brokenLinks.map((l) => [l.code, l.round, l.site, l.found === "missing"])).to.deep.equal([
      ["dp_epsilon_mismatch", 3, h.siteAddresses[1], false],
      ["dp_epsilon_mismatch", 4, h.siteAddresses[2], true],
    ]);
    expect(report.brokenLinks[0].message).to.match(/the committed metrics report ε [\d.]+, but 2 round\(s\)/);
  });

  it("leaves a task without DP, or whose spec it cannot find, unchecked", async function () {
    const h = await history(defaultSpec(), { siteMetrics: undefined, abortRound: undefined });
    const report = await audit(h);
    expect(report.verdict).to.equal("passed");
    expect(report.privacy[0]).to.include({ spec: "store", dp: null });
    const dir = await makeTempDir("fedledger-audit-privacy-");
    dirs.push(dir);
    const hidden = await buildHistory({ actors, storeDir: dir, rounds: 1 });
    const plain = await audit(hidden);
    expect(plain.privacy[0]).to.include({ spec: "unavailable", dp: null });
    expect(formatReport(plain)).to.match(/privacy of task \d+: not checked/);
  });

  it("falls back to the spec file beside the model file when the store lacks the spec", async function () {
    const spec = dpSpec(1000);
    const h = await history(spec);
    const task = await TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider).getTask(h.taskId);
    await rm(path.join(h.storeDir, "objects", task.specHash.slice(2)));
    const modelFile = path.join(h.storeDir, "final-model.flm");
    await writeModelFile(modelFile, h.finalModel.bytes, spec);
    const report = await verifyModel({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelBytes: h.finalModel.bytes,
      modelFile,
      source: await openObjectSource(h.storeDir),
      registryFromBlock: h.deployBlock,
    });
    expect(report.verdict).to.equal("passed");
    expect(report.privacy[0]).to.include({ spec: "model file" });
    expect(report.privacy[0].dp).to.include({ epsilonBudget: 1000 });
    // A spec file that is not the task's (another budget, so another hash) is not used.
    await writeModelFile(modelFile, h.finalModel.bytes, dpSpec(999));
    const other = await verifyModel({
      ledger: TrainingLedger__factory.connect(h.ledgerAddress, ethers.provider),
      provider: ethers.provider,
      modelBytes: h.finalModel.bytes,
      modelFile,
      source: await openObjectSource(h.storeDir),
      registryFromBlock: h.deployBlock,
    });
    expect(other.privacy[0]).to.include({ spec: "unavailable", dp: null });
  });
});
