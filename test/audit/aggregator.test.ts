import { expect } from "chai";
import { rm } from "node:fs/promises";
import path from "node:path";
import { id, type Signer } from "ethers";
import { ethers } from "hardhat";
import { ConsortiumRegistry__factory, TrainingLedger__factory } from "../../typechain-types";
import type { TrainingLedger } from "../../typechain-types";
import { uploadUpdate } from "../../node/aggregator/client";
import type { AggregatorService } from "../../node/aggregator/service";
import { startTestAggregator } from "../aggregator/fixture";
import { describeLineage, openObjectSource, verifyModel } from "../../node/audit";
import { metricsHash, signUpdate } from "../../node/fl";
import { encodeModel, hashModelBytes } from "../../node/model/format";
import { createInitialModel, expectedTensors } from "../../node/model/params";
import { Prng } from "../../node/model/prng";
import { defaultSpec, specHash } from "../../node/model/spec";
import { ContentStore } from "../../node/store";
import { makeTempDir, removeTempDir } from "../helpers/cli";

/*
 * The auditor on a history made by the real aggregator service (its HTTP API, round driver, store and round
 * metrics documents) with sites that commit and upload through the real client: audited once from the store
 * directory and once through the aggregator's URL.
 */
describe("audit of a history made by the aggregator service", function () {
  const spec = defaultSpec({ dim: 4, features: { ...defaultSpec().features, buckets: 64 } });
  const genesis = createInitialModel(spec, 5);
  let dir: string;
  let service: AggregatorService;
  let ledger: TrainingLedger;
  let finalModel: Buffer;
  let storeDir: string;
  let auditor: Signer;

  /** The store directory as it is, or the aggregator's URL with downloads signed by the auditor. */
  async function openStore(store: string) {
    return store === storeDir
      ? openObjectSource(store)
      : openObjectSource(store, {
          credentials: { signer: auditor, chainId: 31337n, ledger: await ledger.getAddress() },
        });
  }

  async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const end = Date.now() + 20_000;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  function delta(prng: Prng): Buffer {
    return encodeModel(
      expectedTensors(spec).map((t) => {
        const n = t.shape.reduce((a, b) => a * b, 1);
        return { ...t, data: Float32Array.from({ length: n }, () => (prng.next() - 0.5) * 0.02) };
      }),
    );
  }

  async function commitAndUpload(site: Signer, round: number, prng: Prng, i: number): Promise<void> {
    const bytes = delta(prng);
    const metrics = { loss: 0.5 - round / 10 + i / 100, macroF1: 0.5 + round / 10 };
    const numSamples = BigInt(100 + 37 * i);
    const mHash = metricsHash(metrics);
    await (
      await ledger.connect(site).commitUpdate(1n, round, hashModelBytes(bytes), numSamples, mHash)
    ).wait();
    const signature = await signUpdate(
      site,
      { chainId: 31337n, ledger: await ledger.getAddress() },
      { taskId: 1n, round, updateHash: hashModelBytes(bytes), numSamples, metricsHash: mHash },
    );
    await uploadUpdate(
      service.url,
      { task: 1n, round, bytes, numSamples, metrics, signature, site: await site.getAddress() },
      { retries: 0 },
    );
  }

  before(async function () {
    const signers = await ethers.getSigners();
    const [admin, aggregator] = [signers[0], signers[3]];
    auditor = signers[4];
    const sites = signers.slice(5, 8);
    const registry = await new ConsortiumRegistry__factory(admin).deploy([await admin.getAddress()], 1);
    await (await registry.voteRole(id("AGGREGATOR_ROLE"), await aggregator.getAddress(), true)).wait();
    await (await registry.voteRole(id("AUDITOR_ROLE"), await auditor.getAddress(), true)).wait();
    for (const [i, site] of sites.entries())
      await (
        await registry.proposeSite(
          await site.getAddress(),
          `Hospital ${i + 1}`,
          "0x5345",
          "sv",
          id(`m${i}`),
          "0x",
        )
      ).wait();
    ledger = await new TrainingLedger__factory(admin).deploy(await registry.getAddress());
    await (await ledger.createTask(specHash(spec), hashModelBytes(genesis), 1, 2, 3_600, 2)).wait();
    dir = await makeTempDir("fedledger-audit-agg-");
    storeDir = path.join(dir, "store");
    service = await startTestAggregator({
      ledger: ledger.connect(aggregator),
      registry,
      taskId: 1n,
      spec,
      genesis,
      store: storeDir,
    });
    const prng = new Prng(9, "aggregator audit");
    for (const round of [1, 2]) {
      await waitFor(`round ${round} to open`, async () =>
        (await ledger.getRound(1n, round)).status === 1n ? true : undefined,
      );
      for (const [i, site] of sites.entries()) await commitAndUpload(site, round, prng, i);
      await waitFor(`round ${round} to be finalised`, async () =>
        (await ledger.getRound(1n, round)).status === 2n ? true : undefined,
      );
    }
    const latest = (await ledger.getTask(1n)).latestModelHash;
    finalModel = (await (await ContentStore.open(storeDir)).get(latest)) as Buffer;
  });

  after(async function () {
    await service?.stop();
    if (dir) await removeTempDir(dir);
  });

  it("verifies the final model from the store directory and through the aggregator's URL", async function () {
    for (const store of [storeDir, service.url]) {
      const report = await verifyModel({
        ledger,
        provider: ethers.provider,
        modelBytes: finalModel,
        source: await openStore(store),
      });
      expect(report.verdict, report.firstBrokenLink?.message).to.equal("passed");
      expect(report.store.kind).to.equal(store === storeDir ? "directory" : "aggregator");
      expect(report.rounds.map((r) => [r.round, r.includedCount, r.verdict])).to.deep.equal([
        [1, 3, "passed"],
        [2, 3, "passed"],
      ]);
    }
  });

  it("reads metric values from the round metrics documents when the store keeps no upload records", async function () {
    await rm(path.join(storeDir, "rounds"), { recursive: true, force: true });
    const doc = await describeLineage({
      ledger,
      provider: ethers.provider,
      modelHash: hashModelBytes(finalModel),
      source: await openObjectSource(storeDir),
    });
    const sources = doc.rounds.flatMap((r) => r.sites.map((s) => s.metricsSource));
    expect(sources).to.deep.equal(Array(6).fill("round document"));
    expect(doc.rounds[1].sites[0].metrics).to.deep.equal({ loss: 0.5 - 2 / 10, macroF1: 0.5 + 2 / 10 });
  });

  it("names the aggregator's URL when an update is missing there", async function () {
    const victim = (await ledger.queryFilter(ledger.filters.UpdateCommitted(1n, 2)))[0].args.updateHash;
    await rm(path.join(storeDir, "objects", victim.slice(2)));
    const report = await verifyModel({
      ledger,
      provider: ethers.provider,
      modelBytes: finalModel,
      source: await openStore(service.url),
    });
    expect(report.firstBrokenLink).to.deep.include({ code: "update_missing", round: 2, expected: victim });
    expect(report.firstBrokenLink?.message).to.contain(service.url);
  });
});
