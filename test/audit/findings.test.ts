import { expect } from "chai";
import { ethers } from "hardhat";
import { TrainingLedger__factory } from "../../typechain-types";
import { openObjectSource, verifyModel, type AuditReport } from "../../node/audit";
import { formatReport } from "../../node/audit/formatReport";
import { decodeModel, encodeModel } from "../../node/model/format";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { buildHistory, type BuildHistoryOptions, type History, type HistoryActors } from "./fixture";

/*
 * The audit's findings: what does not break a model's lineage but shows a dishonest aggregator (a valid update
 * left out) or a free-riding site (the base model sent back, a zero delta, a delta far smaller than the others').
 * Findings leave the verdict "passed"; `--strict` (cli.test.ts) turns them into a failure.
 */
describe("audit findings: censorship and free riding", function () {
  let actors: HistoryActors;
  const dirs: string[] = [];

  async function history(options: Partial<BuildHistoryOptions>): Promise<History> {
    const dir = await makeTempDir("fedledger-audit-findings-");
    dirs.push(dir);
    return buildHistory({ actors, storeDir: dir, rounds: 2, ...options });
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

  const scaled = (bytes: Uint8Array, factor: number) =>
    encodeModel(
      decodeModel(bytes).map((t) => ({ ...t, data: (t.data as Float32Array).map((v) => v * factor) })),
    );

  before(async function () {
    const signers = await ethers.getSigners();
    actors = { admin: signers[0], aggregator: signers[3], auditor: signers[4], sites: signers.slice(5, 10) };
  });

  after(async function () {
    for (const dir of dirs) await removeTempDir(dir);
  });

  it("reports the base model sent as an update, a zero delta and a delta below 1% of the others' median norm", async function () {
    const h = await history({
      seed: 41,
      updateBytes: (round, site, honest, parent) => {
        if (round !== 1) return honest;
        if (site === 0) return parent;
        if (site === 1) return scaled(honest, 0);
        if (site === 2) return scaled(honest, 1e-4);
        return honest;
      },
    });
    const report = await audit(h);
    expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
    expect(report.findings.map((f) => [f.code, f.round, f.site])).to.deep.equal([
      ["update_is_base_model", 1, h.siteAddresses[0]],
      ["update_zero_delta", 1, h.siteAddresses[1]],
      ["update_norm_low", 1, h.siteAddresses[2]],
    ]);
    expect(report.findings[0]).to.deep.include({ found: h.genesis.hash });
    expect(report.findings[2].message).to.contain("below 1% of the median norm");
    expect(report.rounds[1].findings).to.deep.equal([]);
    const text = formatReport(report);
    expect(text).to.contain("findings: 3").and.contain("! update_zero_delta:");
  });

  it("does not report a small but ordinary update (at 5% of the others' norm)", async function () {
    const h = await history({
      seed: 42,
      rounds: 1,
      updateBytes: (_round, site, honest) => (site === 4 ? scaled(honest, 0.05) : honest),
    });
    const report = await audit(h);
    expect(report.findings).to.deep.equal([]);
  });

  it("does not report an update left out because its site was suspended before the aggregation", async function () {
    const site1 = await actors.sites[1].getAddress();
    const h = await history({
      seed: 43,
      rounds: 1,
      excluded: () => [1],
      excludedUploaded: true,
      beforeAggregation: async (_round, registry) => {
        await (await registry.connect(actors.admin).suspendSite(site1, `0x${"00".repeat(32)}`)).wait();
        // The ledger closes a round a site left only at its deadline.
        await ethers.provider.send("evm_increaseTime", [3_601]);
      },
    });
    const report = await audit(h);
    expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
    expect(report.rounds[0].updates[1]).to.deep.include({
      included: false,
      bytes: "ok",
      statusAtCommit: "Active",
    });
    expect(report.findings).to.deep.equal([]);
  });

  it("does not report a left-out update that does not fit the parent's layout", async function () {
    const wrong = encodeModel([{ name: "other", dtype: "float32", shape: [1], data: new Float32Array([1]) }]);
    const h = await history({
      seed: 44,
      rounds: 1,
      excluded: () => [3],
      excludedUploaded: true,
      updateBytes: (_round, site, honest) => (site === 3 ? wrong : honest),
    });
    const report = await audit(h);
    expect(report.rounds[0].updates[3]).to.deep.include({ included: false, bytes: "ok" });
    expect(report.findings).to.deep.equal([]);
  });
});
