import { writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { encodeBytes32String, hexlify } from "ethers";
import type { AggregatorService } from "../../node/aggregator/service";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { confirmTransaction, receiptEvents } from "../../node/chain/transactions";
import { openObjectSource, verifyModel } from "../../node/audit";
import { UsageError } from "../../node/errors";
import { metricsHash } from "../../node/fl/metrics";
import { writeModelFile } from "../../node/model/files";
import { hashModelBytes } from "../../node/model/format";
import { createInitialModel } from "../../node/model/params";
import { parseSpec, specHash, type DpConfig, type ModelSpec } from "../../node/model/spec";
import { siteEpsilon } from "../../node/privacy/budget";
import { runSite } from "../../node/site";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import {
  deployTestLedger,
  EventRecorder,
  siteConfig,
  siteConfigJson,
  startTestAggregator,
  tinySpec,
  until,
  writeNotes,
  type TestLedger,
  type TestTask,
} from "./fixtures";

/** DP settings of the tests: 2 noisy steps per round (1 epoch at q = 0.5), seeded noise (tests only). */
const DP: Omit<DpConfig, "epsilonBudget"> = {
  clipNorm: 1,
  noiseMultiplier: 1,
  sampleRate: 0.5,
  delta: 1e-5,
  noise: "seeded-test-only",
};

function dpSpec(epsilonBudget: number): ModelSpec {
  const spec = tinySpec();
  return parseSpec({ ...spec, training: { ...spec.training, dp: { ...DP, epsilonBudget } } });
}

/** Writes the spec and creates a FedAvg task from it on the ledger. */
async function createDpTask(
  t: TestLedger,
  dir: string,
  spec: ModelSpec,
  options: { rounds: number; windowSeconds: number },
): Promise<TestTask> {
  const specFile = path.join(dir, "spec.json");
  await writeFile(specFile, `${JSON.stringify(spec, null, 2)}\n`);
  const genesis = createInitialModel(spec, 70 + Number(await t.ledger.taskCount()));
  const genesisHash = hashModelBytes(genesis);
  const receipt = await confirmTransaction(
    t.ledger.createTask(specHash(spec), genesisHash, 1, 1, options.windowSeconds, options.rounds),
  );
  const [event] = receiptEvents(receipt, t.ledger, "TaskCreated");
  return { id: event.args.taskId as bigint, spec, specFile, genesis, genesisHash };
}

/*
 * A DP task end to end with the real site service, aggregator and chain: each site commits its ε in its
 * metrics (and a sample count of 1), refuses a round that would pass the budget, and the round goes on with
 * the others; the auditor then recomputes every site's ε from the chain.
 */
describe("site service under DP: the privacy budget", function () {
  const chain = useEmbeddedChain();
  let dir: string;

  before(async function () {
    dir = await makeTempDir("fedledger-site-dp-");
  });
  after(async function () {
    await removeTempDir(dir);
  });

  it("refuses to start on a task with seeded noise unless the config allows test noise", async function () {
    const here = path.join(dir, "noise");
    const t = await deployTestLedger(chain().url, here, ["site1"]);
    try {
      const task = await createDpTask(t, here, dpSpec(100), { rounds: 1, windowSeconds: 600 });
      const json = siteConfigJson(t, task, {
        site: "site1",
        aggregator: "http://127.0.0.1:9",
        dataFile: path.join(here, "notes.jsonl"),
        stateDir: path.join(here, "state"),
      });
      let err: unknown;
      try {
        await runSite(siteConfig(json, here));
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(UsageError);
      expect((err as Error).message).to.match(/DP noise "seeded-test-only", which is for tests only/);

      let epochsErr: unknown;
      try {
        await runSite(siteConfig({ ...json, allowTestNoise: true, training: { seed: 5, epochs: 4 } }, here));
      } catch (e) {
        epochsErr = e;
      }
      expect((epochsErr as Error).message).to.match(
        /training\.epochs 4 differs from the 1 epochs of the DP task spec/,
      );
    } finally {
      t.close();
    }
  });

  describe("a budget of one round: a site that joined round 1 sits round 2 out", function () {
    let t: TestLedger;
    let task: TestTask;
    let aggregator: AggregatorService;
    let here: string;
    const recorders = { site1: new EventRecorder(), site2: new EventRecorder() };
    const oneRound = siteEpsilon({ ...DP, epsilonBudget: 1 }, 1, 1);
    const twoRounds = siteEpsilon({ ...DP, epsilonBudget: 1 }, 1, 2);
    const budget = (oneRound + twoRounds) / 2;

    before(async function () {
      this.timeout(120_000);
      here = path.join(dir, "budget");
      // site1 is the only Active site in round 1 (so the round closes as soon as it uploads); site2 joins
      // for round 2, when site1 has spent its budget.
      t = await deployTestLedger(chain().url, here, ["site1"]);
      task = await createDpTask(t, here, dpSpec(budget), { rounds: 2, windowSeconds: 20 });
      aggregator = await startTestAggregator(t, task, path.join(here, "store"));
      const config = async (site: "site1" | "site2", seed: number) => {
        const dataFile = path.join(here, `${site}.jsonl`);
        await writeNotes(dataFile, 40, seed);
        const json = siteConfigJson(t, task, {
          site,
          aggregator: aggregator.url,
          dataFile,
          stateDir: path.join(here, `state-${site}`),
        });
        return siteConfig({ ...json, allowTestNoise: true }, here);
      };
      const run1 = runSite(await config("site1", 11), { onEvent: recorders.site1.handler });
      await until(async () => (await t.ledger.getRound(task.id, 1)).status === 2n, 60_000);
      await confirmTransaction(
        t.registry.proposeSite(
          devAccountAddress("site2"),
          "Test hospital site2",
          hexlify(Buffer.from("SE")),
          "sv",
          encodeBytes32String("site2"),
          "0x",
        ),
      );
      const run2 = runSite(await config("site2", 12), { onEvent: recorders.site2.handler });
      await Promise.all([run1, run2]);
    });
    after(async function () {
      await aggregator?.stop();
      t?.close();
    });

    it("commits ε after the round in its metrics, and a sample count of 1", async function () {
      const [committed] = recorders.site1.of("committed");
      expect(committed.round).to.equal(1);
      expect(committed.numSamples).to.equal(1);
      expect(committed.metricsHash).to.equal(metricsHash({ dpEpsilon: oneRound, dpRounds: 1 }));
      expect(recorders.site1.of("trained")[0].dpEpsilon).to.equal(oneRound);
      const source = await openObjectSource(path.join(here, "store"));
      const [uploaded] = (await source.uploads(task.id, 1)) ?? [];
      expect(uploaded.metrics).to.deep.equal({ dpEpsilon: oneRound, dpRounds: 1 });
      expect(uploaded.numSamples).to.equal("1");
    });

    it("refuses round 2 with a warning, trains nothing and commits nothing", async function () {
      const [refused] = recorders.site1.of("privacy_budget_exhausted");
      expect(refused).to.include({ level: "warn", task: task.id.toString(), round: 2, roundsJoined: 1 });
      expect(refused.epsilonSpent).to.equal(oneRound);
      expect(refused.epsilonWithRound).to.equal(twoRounds);
      expect(refused.epsilonBudget).to.equal(budget);
      expect(recorders.site1.of("trained").map((e) => e.round)).to.deep.equal([1]);
      expect(await t.ledger.hasCommitted(task.id, 2, devAccountAddress("site1"))).to.equal(false);
    });

    it("finalises round 2 with the site that is within its budget", async function () {
      const round2 = await t.ledger.getRound(task.id, 2);
      expect(round2.status).to.equal(2n);
      expect(round2.includedCount).to.equal(1n);
      expect(recorders.site2.of("committed").map((e) => [e.round, e.metricsHash])).to.deep.equal([
        [2, metricsHash({ dpEpsilon: oneRound, dpRounds: 1 })],
      ]);
    });

    it("passes the audit, which recomputes each site's ε from the chain", async function () {
      const info = await t.ledger.getTask(task.id);
      const modelFile = path.join(here, "final.flm");
      const got = await (await openObjectSource(path.join(here, "store"))).fetch(info.latestModelHash);
      if (got.status !== "ok") throw new Error("the final model is not in the store");
      // The spec travels next to the model file (the store does not hold it).
      await writeModelFile(modelFile, got.bytes, task.spec);
      const report = await verifyModel({
        ledger: t.ledger,
        provider: t.provider,
        modelBytes: got.bytes,
        modelFile,
        source: await openObjectSource(path.join(here, "store")),
      });
      expect(report.brokenLinks).to.deep.equal([]);
      expect(report.verdict).to.equal("passed");
      const [privacy] = report.privacy;
      expect(privacy).to.include({ task: task.id.toString(), spec: "store" });
      expect(privacy.dp).to.include({ epsilonBudget: budget, stepsPerRound: 2 });
      expect(
        privacy.sites.map((s) => [
          s.site.toLowerCase(),
          s.roundsJoined,
          s.epsilon,
          s.withinBudget,
          s.reportsAgreeing,
        ]),
      ).to.deep.equal(
        [
          [devAccountAddress("site1").toLowerCase(), 1, oneRound, true, 1],
          [devAccountAddress("site2").toLowerCase(), 1, oneRound, true, 1],
        ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
      );
    });
  });
});
