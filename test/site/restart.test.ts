import { rm } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import type { AggregatorService } from "../../node/aggregator/service";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { runSite, SiteState, type SiteConfig, type SiteEventType } from "../../node/site";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import {
  createTestTask,
  deployTestLedger,
  EventRecorder,
  siteConfig,
  siteConfigJson,
  startTestAggregator,
  writeNotes,
  type TestLedger,
  type TestTask,
} from "./fixtures";
import { RecordingProxy } from "./proxy";

interface RoundStatus {
  status: string;
  commitCount: number;
  uploads: { site: string; updateHash: string }[];
}

/*
 * Restart idempotency, steps in order on one chain: a site stopped right after its commit, restarted (no second
 * commit, upload of the saved bytes), restarted against an aggregator that lost its store (re-upload), restarted
 * with its state deleted (deterministic retraining finds the committed update), then a second site completes the
 * round and the aggregator finalises it with both updates.
 */
describe("site service: restarts never commit twice and re-upload what the aggregator lacks", function () {
  const chain = useEmbeddedChain();
  const site1 = devAccountAddress("site1");
  let dir: string;
  let t: TestLedger;
  let task: TestTask;
  let aggregator: AggregatorService;
  let config1: SiteConfig;
  let stateDir: string;
  let committedHash: string;

  /** Runs site1 until `stopAt` is emitted (then aborts it) and returns its events. */
  async function runUntil(config: SiteConfig, stopAt: SiteEventType): Promise<EventRecorder> {
    const recorder = new EventRecorder();
    const controller = new AbortController();
    recorder.onRecord = (event) => {
      if (event.type === stopAt) controller.abort();
    };
    const result = await runSite(config, { signal: controller.signal, onEvent: recorder.handler });
    expect(result.reason).to.equal("signal");
    expect(recorder.of(stopAt), `${stopAt} event`).to.have.length(1);
    return recorder;
  }

  async function roundStatus(): Promise<RoundStatus> {
    return (await (await fetch(`${aggregator.url}/tasks/${task.id}/rounds/1`)).json()) as RoundStatus;
  }

  async function site1Commits(): Promise<number> {
    return (await t.ledger.queryFilter(t.ledger.filters.UpdateCommitted(task.id, 1, site1))).length;
  }

  before(async function () {
    dir = await makeTempDir("fedledger-site-restart-");
    t = await deployTestLedger(chain().url, dir, ["site1", "site2"]);
    task = await createTestTask(t, dir, { rounds: 1, minSites: 1 });
    aggregator = await startTestAggregator(t, task, path.join(dir, "store-a"));
    const dataFile = path.join(dir, "notes-1.jsonl");
    await writeNotes(dataFile, 24, 21);
    stateDir = path.join(dir, "state-1");
    config1 = siteConfig(
      siteConfigJson(t, task, { site: "site1", aggregator: aggregator.url, dataFile, stateDir }),
      dir,
    );
  });
  after(async function () {
    await aggregator?.stop();
    t?.close();
    await removeTempDir(dir);
  });

  it("stops after the commit, before the upload, with its state saved", async function () {
    const events = await runUntil(config1, "committed");
    expect(events.of("uploaded")).to.have.length(0);
    committedHash = events.of("committed")[0].updateHash;
    expect(await site1Commits()).to.equal(1);
    const state = await SiteState.open(stateDir, {
      chainId: t.deployment.chainId,
      ledger: t.deployment.ledger,
      site: site1,
    });
    const record = await state.read(task.id, 1);
    expect(record).to.include({ phase: "committed", updateHash: committedHash });
    expect((await roundStatus()).uploads).to.deep.equal([]);
  });

  it("on restart uploads the saved bytes without training or committing again", async function () {
    const events = await runUntil(config1, "uploaded");
    expect(events.of("round_seen")[0].resumed).to.equal(true);
    expect(events.of("trained")).to.have.length(0);
    expect(events.of("committed")).to.have.length(0);
    expect(events.of("uploaded")[0]).to.include({ updateHash: committedHash, created: true, resent: false });
    expect(await site1Commits()).to.equal(1);
    const status = await roundStatus();
    expect(status.status).to.equal("Open");
    expect(status.uploads).to.have.length(1);
    expect(status.uploads[0]).to.include({ site: site1, updateHash: committedHash });
  });

  it("re-uploads the same bytes to an aggregator that lost its store", async function () {
    await aggregator.stop();
    aggregator = await startTestAggregator(t, task, path.join(dir, "store-b"));
    config1 = { ...config1, tasks: config1.tasks.map((x) => ({ ...x, aggregator: aggregator.url })) };
    expect((await roundStatus()).uploads).to.deep.equal([]);

    const events = await runUntil(config1, "uploaded");
    expect(events.of("upload_missing")[0]).to.include({ updateHash: committedHash });
    expect(events.of("uploaded")[0]).to.include({ updateHash: committedHash, created: true, resent: true });
    expect(events.of("trained")).to.have.length(0);
    expect(events.of("committed")).to.have.length(0);
    expect(await site1Commits()).to.equal(1);
    expect((await roundStatus()).uploads[0]).to.include({ site: site1, updateHash: committedHash });
  });

  it("does not upload again when the aggregator already holds the update", async function () {
    const events = await runUntil(config1, "upload_confirmed");
    expect(events.of("upload_confirmed")[0]).to.include({ updateHash: committedHash });
    expect(events.of("uploaded")).to.have.length(0);
    expect(events.of("upload_missing")).to.have.length(0);
    expect(events.of("trained")).to.have.length(0);
  });

  it("with its state lost, retrains to the committed bytes and delivers them", async function () {
    await rm(stateDir, { recursive: true, force: true });
    const events = await runUntil(config1, "uploaded");
    expect(events.of("trained")).to.have.length(1);
    expect(events.of("trained")[0].updateHash).to.equal(committedHash);
    expect(events.of("commit_found")[0]).to.include({ updateHash: committedHash, source: "retrained" });
    expect(events.of("committed")).to.have.length(0);
    // The aggregator already held it: the repeat is accepted as the same update.
    expect(events.of("uploaded")[0]).to.include({ updateHash: committedHash, created: false });
    expect(await site1Commits()).to.equal(1);
  });

  it("rides out a chain and aggregator outage, then re-uploads to the restarted aggregator", async function () {
    const rpc = await RecordingProxy.start(t.deployment.rpc);
    const recorder = new EventRecorder();
    const controller = new AbortController();
    const run = runSite(
      { ...config1, rpc: rpc.url },
      { signal: controller.signal, onEvent: recorder.handler },
    );
    try {
      await recorder.waitFor("upload_confirmed");
      // The aggregator goes away (its store with it) and the chain stops answering.
      rpc.down = true;
      const port = aggregator.port;
      await aggregator.stop();
      await recorder.waitFor("retrying", (e) => e.attempt >= 2);
      rpc.down = false;
      aggregator = await startTestAggregator(t, task, path.join(dir, "store-c"), port);
      await recorder.waitFor("uploaded");
    } finally {
      controller.abort();
      await run;
      await rpc.stop();
    }
    const retries = recorder.of("retrying");
    expect(retries.every((e) => e.transient)).to.equal(true);
    expect(retries.map((e) => e.delayMs)).to.satisfy((delays: number[]) =>
      delays.every((d, i) => d > 0 && d <= config1.maxRetryDelayMs && (i === 0 || d >= delays[i - 1] / 2)),
    );
    expect(recorder.of("upload_missing")).to.have.length(1);
    expect(recorder.of("uploaded")[0]).to.include({ updateHash: committedHash, resent: true, created: true });
    expect(recorder.of("trained")).to.have.length(0);
    expect(recorder.of("committed")).to.have.length(0);
    expect(await site1Commits()).to.equal(1);
  });

  it("the round is finalised with both sites' updates once the second site joins", async function () {
    const dataFile = path.join(dir, "notes-2.jsonl");
    await writeNotes(dataFile, 20, 22);
    const config2 = siteConfig(
      siteConfigJson(t, task, {
        site: "site2",
        aggregator: aggregator.url,
        dataFile,
        stateDir: path.join(dir, "state-2"),
      }),
      dir,
    );
    const recorder = new EventRecorder();
    const result = await runSite(config2, { onEvent: recorder.handler });
    expect(result.reason).to.equal("done");
    const round = await t.ledger.getRound(task.id, 1);
    expect(round.status).to.equal(2n); // Finalized
    expect(round.includedCount).to.equal(2n);
    expect(recorder.of("round_closed")[0]).to.include({
      status: "Finalized",
      includedCount: 2,
      participated: true,
    });
    expect(await site1Commits()).to.equal(1);
  });
});
