import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "chai";
import express from "express";
import type { AggregatorService } from "../../node/aggregator/service";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { freePort } from "../../node/chain/freePort";
import { FedledgerError } from "../../node/errors";
import { metricsHash } from "../../node/fl/metrics";
import { createInitialModel } from "../../node/model/params";
import { eventLogLine, runSite, SiteState, type SiteConfig } from "../../node/site";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import {
  createTestTask,
  deployTestLedger,
  EventRecorder,
  siteConfig,
  siteConfigJson,
  startTestAggregator,
  until,
  writeNotes,
  type TestLedger,
  type TestTask,
} from "./fixtures";

function sha256(bytes: Uint8Array): string {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

/*
 * The site service in-process against a real Hardhat node and a real aggregator on 127.0.0.1: a full task, a
 * base model that does not match the chain, and the checks made at start-up.
 */
describe("site service: rounds end to end", function () {
  const chain = useEmbeddedChain();
  let dir: string;

  before(async function () {
    dir = await makeTempDir("fedledger-site-");
  });
  after(async function () {
    await removeTempDir(dir);
  });

  describe("a site on a two-round task", function () {
    let t: TestLedger;
    let task: TestTask;
    let aggregator: AggregatorService;
    const recorder = new EventRecorder();
    let result: Awaited<ReturnType<typeof runSite>>;
    let stateDir: string;
    let config: SiteConfig;

    before(async function () {
      const here = path.join(dir, "two-rounds");
      t = await deployTestLedger(chain().url, here, ["site1"]);
      task = await createTestTask(t, here, { rounds: 2 });
      aggregator = await startTestAggregator(t, task, path.join(here, "store"));
      const dataFile = path.join(here, "notes.jsonl");
      await writeNotes(dataFile, 40, 11);
      stateDir = path.join(here, "state");
      config = siteConfig(
        siteConfigJson(t, task, { site: "site1", aggregator: aggregator.url, dataFile, stateDir }),
        here,
      );
      result = await runSite(config, { onEvent: recorder.handler });
    });
    after(async function () {
      await aggregator?.stop();
      t?.close();
    });

    it("joins both rounds, and stops once the planned rounds are over", async function () {
      expect(result.reason).to.equal("done");
      expect(result.tasks).to.have.length(1);
      expect(result.tasks[0]).to.include({ task: task.id.toString(), roundsJoined: 2, finished: true });
      expect(recorder.of("committed").map((e) => e.round)).to.deep.equal([1, 2]);
      expect(recorder.of("uploaded").map((e) => [e.round, e.created, e.resent])).to.deep.equal([
        [1, true, false],
        [2, true, false],
      ]);
      expect(recorder.events.at(-1)).to.include({ type: "site_stopped", reason: "done" });
    });

    it("trains each round from the base model recorded on the chain", async function () {
      const site = devAccountAddress("site1");
      for (const round of [1, 2]) {
        const info = await t.ledger.getRound(task.id, round);
        const fetched = recorder.of("base_model_fetched").find((e) => e.round === round);
        expect(fetched?.hash).to.equal(info.baseModelHash);
        expect(recorder.of("model_evaluated").find((e) => e.round === round)?.model).to.equal(
          info.baseModelHash,
        );
        expect(await t.ledger.hasCommitted(task.id, round, site)).to.equal(true);
      }
      expect((await t.ledger.getRound(task.id, 1)).baseModelHash).to.equal(task.genesisHash);
    });

    it("commits exactly the bytes, sample count and metrics it uploaded, and each round is finalised", async function () {
      const site = devAccountAddress("site1");
      const state = await SiteState.open(stateDir, {
        chainId: t.deployment.chainId,
        ledger: t.deployment.ledger,
        site,
      });
      for (const round of [1, 2]) {
        const committed = recorder.of("committed").find((e) => e.round === round);
        const record = await state.read(task.id, round);
        expect(record?.phase).to.equal("uploaded");
        const bytes = await state.readUpdate(record!);
        expect(sha256(bytes!)).to.equal(committed?.updateHash);
        expect(metricsHash(record!.metrics)).to.equal(committed?.metricsHash);
        expect(
          await t.ledger.commitMatches(task.id, round, site, committed!.updateHash, committed!.numSamples),
        ).to.be.true;
        // 40 notes, a quarter kept for validation.
        expect(committed?.numSamples).to.equal(30);
        expect(record?.metrics.numValidation).to.equal(10);

        const [event] = await t.ledger.queryFilter(t.ledger.filters.UpdateCommitted(task.id, round, site));
        expect(event.args.metricsHash).to.equal(committed?.metricsHash);

        const status = (await (await fetch(`${aggregator.url}/tasks/${task.id}/rounds/${round}`)).json()) as {
          status: string;
          uploads: { site: string; updateHash: string; metrics: Record<string, unknown> }[];
        };
        expect(status.status).to.equal("Finalized");
        expect(status.uploads).to.have.length(1);
        expect(status.uploads[0]).to.deep.include({ site, updateHash: committed?.updateHash });
        expect(status.uploads[0].metrics).to.deep.equal(record?.metrics);
      }
    });

    it("reports each closed round and evaluates the final model", async function () {
      const info = await t.ledger.getTask(task.id);
      expect(recorder.of("round_closed").map((e) => [e.round, e.status, e.participated])).to.deep.equal([
        [1, "Finalized", true],
        [2, "Finalized", true],
      ]);
      expect(recorder.of("round_closed")[1].modelHash).to.equal(info.latestModelHash);
      const final = recorder.of("final_model_evaluated");
      expect(final).to.have.length(1);
      expect(final[0]).to.include({ model: info.latestModelHash, numValidation: 10 });
      expect(result.tasks[0].finalModel).to.equal(info.latestModelHash);
      // Round 2 started from round 1's result, which the site evaluated as round 2's base.
      const round1 = await t.ledger.getRound(task.id, 1);
      expect(recorder.of("model_evaluated")[1].model).to.equal(round1.modelHash);
    });

    it("with keepRunning, stays up after the task is finished until told to stop", async function () {
      const recorder = new EventRecorder();
      const controller = new AbortController();
      recorder.onRecord = (event) => {
        // Without keepRunning the service returns right after task_done; give it time to do so wrongly.
        if (event.type === "task_done") setTimeout(() => controller.abort(), 300);
      };
      const again = await runSite(
        { ...config, keepRunning: true },
        { signal: controller.signal, onEvent: recorder.handler },
      );
      expect(again.reason).to.equal("signal");
      expect(again.tasks[0]).to.include({ finished: true, roundsJoined: 0 });
      expect(recorder.of("final_model_evaluated")).to.have.length(1);
      expect(recorder.of("committed")).to.have.length(0);
    });

    it("logs one JSON line per event", function () {
      for (const event of recorder.events) {
        const line = eventLogLine(event);
        expect(line.endsWith("\n")).to.equal(true);
        expect(line.slice(0, -1)).to.not.include("\n");
        expect(JSON.parse(line)).to.include({ event: event.type, level: event.level });
      }
    });
  });

  describe("an aggregator that serves a model other than the chain's base", function () {
    it("refuses the model, never commits, and keeps looking", async function () {
      const here = path.join(dir, "wrong-model");
      const t = await deployTestLedger(chain().url, here, ["site2"]);
      const task = await createTestTask(t, here, { rounds: 1 });
      // Open round 1 from the genesis model, then serve another (valid, same-spec) model under every hash.
      await (await t.aggregatorLedger.openRound(task.id, task.genesisHash)).wait();
      const wrong = createInitialModel(task.spec, 99);
      const requested: string[] = [];
      const app = express();
      app.get("/models/:hash", (req, res) => {
        requested.push(req.params.hash);
        res.type("application/octet-stream").send(wrong);
      });
      const server = app.listen(0, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dataFile = path.join(here, "notes.jsonl");
      await writeNotes(dataFile, 12, 12);
      const stateDir = path.join(here, "state");
      const recorder = new EventRecorder();
      const controller = new AbortController();
      const run = runSite(
        siteConfig(siteConfigJson(t, task, { site: "site2", aggregator: url, dataFile, stateDir }), here),
        { signal: controller.signal, onEvent: recorder.handler },
      );
      try {
        const rejected = await recorder.waitFor("base_model_rejected");
        expect(rejected.expected).to.equal(task.genesisHash);
        expect(rejected.reason).to.include(sha256(wrong));
        await recorder.waitFor("retrying", (e) => e.attempt >= 2);
      } finally {
        controller.abort();
        server.close();
      }
      const result = await run;
      expect(result.reason).to.equal("signal");
      expect(requested[0]).to.equal(task.genesisHash);
      expect(recorder.of("base_model_rejected").length).to.be.at.least(2);
      expect(recorder.of("trained")).to.have.length(0);
      expect(recorder.of("committed")).to.have.length(0);
      expect(await t.ledger.hasCommitted(task.id, 1, devAccountAddress("site2"))).to.equal(false);
      const state = await SiteState.open(stateDir, {
        chainId: t.deployment.chainId,
        ledger: t.deployment.ledger,
        site: devAccountAddress("site2"),
      });
      expect(await state.read(task.id, 1)).to.equal(undefined);
      t.close();
    });
  });

  describe("a site suspended while it runs", function () {
    it("waits while suspended and joins the open round once reinstated", async function () {
      const here = path.join(dir, "suspended");
      const t = await deployTestLedger(chain().url, here, ["site5"]);
      const task = await createTestTask(t, here, { rounds: 1 });
      const site = devAccountAddress("site5");
      const dataFile = path.join(here, "notes.jsonl");
      await writeNotes(dataFile, 12, 14);
      // The aggregator starts later, on a port chosen now, so no round is open when the site starts.
      const port = await freePort("127.0.0.1");
      const config = siteConfig(
        siteConfigJson(t, task, {
          site: "site5",
          aggregator: `http://127.0.0.1:${port}`,
          dataFile,
          stateDir: path.join(here, "state"),
        }),
        here,
      );
      const recorder = new EventRecorder();
      const run = runSite(config, { onEvent: recorder.handler });
      let aggregator: AggregatorService | undefined;
      try {
        await recorder.waitFor("waiting_for_round");
        await (await t.registry.suspendSite(site, `0x${"11".repeat(32)}`)).wait();
        expect((await recorder.waitFor("site_not_active")).status).to.equal("Suspended");
        aggregator = await startTestAggregator(t, task, path.join(here, "store"), port);
        await until(async () => (await t.ledger.getRound(task.id, 1)).status === 1n);
        const whileSuspended = recorder.events.length;
        await (await t.registry.reinstateSite(site)).wait();
        const result = await run;
        expect(result.reason).to.equal("done");
        expect(result.tasks[0].roundsJoined).to.equal(1);
        const types = recorder.events.map((e) => e.type);
        expect(types.slice(0, whileSuspended)).to.not.include("round_seen");
        expect(types.slice(0, whileSuspended)).to.not.include("committed");
        expect(types.indexOf("round_seen")).to.be.greaterThan(whileSuspended - 1);
        expect(await t.ledger.hasCommitted(task.id, 1, site)).to.equal(true);
      } finally {
        await aggregator?.stop();
        t.close();
      }
    });
  });

  describe("start-up checks", function () {
    let t: TestLedger;
    let task: TestTask;
    let here: string;
    let dataFile: string;

    before(async function () {
      here = path.join(dir, "start-up");
      t = await deployTestLedger(chain().url, here, ["site3"]);
      task = await createTestTask(t, here, { rounds: 1 });
      dataFile = path.join(here, "notes.jsonl");
      await writeNotes(dataFile, 8, 13);
    });
    after(function () {
      t?.close();
    });

    async function startError(overrides: Record<string, unknown>, site = "site3"): Promise<FedledgerError> {
      const json = {
        ...siteConfigJson(t, task, {
          site,
          aggregator: "http://127.0.0.1:9",
          dataFile,
          stateDir: path.join(here, "state"),
        }),
        ...overrides,
      };
      try {
        await runSite(siteConfig(json, here));
      } catch (err) {
        expect(err).to.be.instanceOf(FedledgerError);
        return err as FedledgerError;
      }
      throw new Error("expected the site to refuse to start");
    }

    it("refuses a model spec whose hash differs from the task's", async function () {
      const other = path.join(here, "other-spec.json");
      const spec = JSON.parse(await readFile(task.specFile, "utf8")) as { dim: number };
      await writeFile(other, JSON.stringify({ ...spec, dim: 16 }));
      const err = await startError({ tasks: [{ id: Number(task.id), modelSpec: other }] });
      expect(err.message).to.match(
        /other-spec\.json hashes to 0x[0-9a-f]{64}, but task \d+ was created with spec hash/,
      );
      expect(err.hint).to.match(/tasks\.0\.modelSpec/);
    });

    it("refuses a data file that does not exist, naming it", async function () {
      const missing = path.join(here, "no-such-notes.jsonl");
      const err = await startError({ data: [missing] });
      expect(err.toLine()).to.include(missing);
    });

    it("refuses a task that does not exist", async function () {
      const err = await startError({ tasks: [{ id: 999, modelSpec: task.specFile }] });
      expect(err.message).to.match(/task 999 \(tasks\.0\.id\) does not exist/);
    });

    it("refuses a key that is not an Active site", async function () {
      const err = await startError({}, "site30");
      expect(err.message).to.match(
        /site 0x[0-9a-fA-F]{40} is not registered in the registry; only Active sites take part/,
      );
      expect(err.hint).to.match(/propose/);
    });

    it("refuses ledger and registry addresses where no contract lives", async function () {
      const err = await startError({
        deployment: undefined,
        rpc: chain().url,
        ledger: devAccountAddress("site20"),
        registry: t.deployment.registry,
      });
      expect(err.message).to.match(/no contract at the ledger address 0x[0-9a-fA-F]{40}/);
    });
  });
});
