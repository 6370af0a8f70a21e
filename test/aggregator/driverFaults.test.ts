/**
 * The round driver under faults, at function level: a scripted ledger (no chain) and a real store. Each test
 * asserts the outcome (what was finalised, aborted or logged) and that nothing loops forever.
 */
import type { AbortReasonId, RoundStatusName, SiteStatusName } from "../../node/chain/vocabulary";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import type {
  AggregatorLedger,
  ChainSnapshot,
  CommitEvent,
  RoundResult,
  UploadContext,
} from "../../node/aggregator/ledgerPort";
import type { Logger } from "../../node/aggregator/log";
import { createAggregatorMetrics } from "../../node/aggregator/metrics";
import { driverRetryDelay, RoundDriver } from "../../node/aggregator/roundDriver";
import { RoundGates } from "../../node/aggregator/roundGates";
import { updateLimitsFor, type UpdateLimits } from "../../node/aggregator/updateLimits";
import type { RoundInfo, TaskInfo } from "../../node/chain/tasks";
import { commitLeaf, fedAvgAggregate } from "../../node/fl";
import { decodeModel, encodeModel } from "../../node/model/format";
import { ContentStore, type UploadRecord } from "../../node/store";
import { deltaFor, genesisFor, sha256, tinySpec, until } from "./fixture";

const TASK = 1n;
const ZERO = `0x${"00".repeat(32)}`;
const FLT_MAX = 3.4028234663852886e38;

/** A ledger whose round 1 is Open with its deadline passed; records what the driver sends. */
class ScriptedLedger implements AggregatorLedger {
  readonly ledgerAddress = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  snapshotCalls = 0;
  failSnapshot: (() => Error) | undefined;
  finalized: { modelHash: string; includedCount: number; updatesRoot: string }[] = [];
  aborted: number[] = [];
  status: RoundStatusName = "Open";
  leaves = new Map<string, string>();

  constructor(
    readonly base: string,
    readonly minSites: number,
    readonly commitCount: number,
    public deadline = 1,
  ) {}

  private info(): RoundInfo {
    return {
      round: 1,
      status: this.status,
      minSitesPerRound: this.minSites,
      commitCount: this.commitCount,
      includedCount: this.finalized.length ? this.finalized[0].includedCount : 0,
      deadline: this.deadline,
      openedAtBlock: 1,
      baseModelHash: this.base,
      updatesRoot: ZERO,
      modelHash: ZERO,
    };
  }
  private taskInfo(): TaskInfo {
    return {
      taskId: 1,
      creator: this.ledgerAddress,
      aggregationRule: 1,
      aggregationRuleName: "fedavg",
      minSitesPerRound: this.minSites,
      commitWindowSeconds: 60,
      roundsPlanned: 1,
      currentRound: 1,
      createdAtBlock: 1,
      specHash: ZERO,
      genesisModelHash: this.base,
      latestModelHash: this.base,
    };
  }
  async signerAddress() {
    return this.ledgerAddress;
  }
  async isAggregator() {
    return true;
  }
  async readerRoles() {
    return [];
  }
  async task() {
    return this.taskInfo();
  }
  async round() {
    return this.info();
  }
  async snapshot(): Promise<ChainSnapshot> {
    this.snapshotCalls++;
    if (this.failSnapshot) throw this.failSnapshot();
    return {
      task: this.taskInfo(),
      round: this.info(),
      activeSites: this.commitCount,
      earlyCloseAllowed: true,
      chainTime: 0,
    };
  }
  async commits(): Promise<CommitEvent[]> {
    return [];
  }
  async uploadContext(): Promise<UploadContext> {
    throw new Error("not used");
  }
  async siteStatuses(sites: readonly string[]) {
    return sites.map((): SiteStatusName => "Active");
  }
  async commitLeaves(_t: bigint, _r: number, sites: readonly string[]) {
    return sites.map((s) => this.leaves.get(s.toLowerCase()) ?? ZERO);
  }
  async isRecorded() {
    return false;
  }
  async openRound() {
    throw new Error("no round to open in these tests");
  }
  async finalizeRound(_t: bigint, _r: number, { modelHash, updatesRoot, includedCount }: RoundResult) {
    this.finalized.push({ modelHash, updatesRoot, includedCount });
    this.status = "Finalized";
  }
  async abortRound(_t: bigint, _r: number, reason: AbortReasonId) {
    this.aborted.push(reason);
    this.status = "Aborted";
  }
}

describe("round driver faults (scripted ledger, real store)", function () {
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  const base = sha256(genesis);
  let dir: string;
  let store: ContentStore;
  let lines: { level: string; event: string; fields: Record<string, unknown> }[];
  const log: Logger = (level, event, fields = {}) => lines.push({ level, event, fields });
  const wallets = [1, 2, 3, 4].map((i) => new Wallet(`0x${String(i).padStart(64, "0")}`));

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-driver-"));
    store = await ContentStore.open(dir);
    await store.put(genesis);
    lines = [];
  });
  afterEach(async function () {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Stores an accepted upload (bytes and record) and its commit leaf on the scripted ledger. */
  async function stored(ledger: ScriptedLedger, i: number, bytes: Uint8Array, numSamples: bigint) {
    const site = wallets[i].address;
    const updateHash = await store.put(bytes);
    const record: UploadRecord = {
      task: "1",
      round: 1,
      site,
      updateHash,
      numSamples: numSamples.toString(),
      metrics: {},
      metricsHash: ZERO.replace(/0$/, "1"),
      signature: `0x${"11".repeat(65)}`,
      receivedAt: new Date(0).toISOString(),
    };
    await store.putUpload(record);
    ledger.leaves.set(site.toLowerCase(), commitLeaf(site, updateHash, numSamples));
    return { site, bytes, numSamples };
  }

  function driver(
    ledger: ScriptedLedger,
    limits: UpdateLimits = updateLimitsFor(TASK),
    maxRetryDelayMs = 40,
    pollIntervalMs = 1,
  ) {
    return new RoundDriver({
      taskId: TASK,
      ledger,
      store,
      gates: new RoundGates(),
      metrics: createAggregatorMetrics(),
      log,
      pollIntervalMs,
      uploadGraceSeconds: 0,
      limits,
      maxRetryDelayMs,
    });
  }

  const events = (name: string) => lines.filter((l) => l.event === name);

  it("backs off exponentially up to the cap", function () {
    expect([0, 1, 2, 3, 4, 5, 10, 50].map((n) => driverRetryDelay(n, 100, 1_000))).to.deep.equal([
      100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000,
    ]);
    expect(driverRetryDelay(3, 2_000, 1_000)).to.equal(2_000);
  });

  it("logs a failure that repeats at every poll once, then its recovery once", async function () {
    const ledger = new ScriptedLedger(base, 1, 1, Number.MAX_SAFE_INTEGER);
    ledger.failSnapshot = () => new Error("connect ECONNREFUSED 127.0.0.1:8545");
    const d = driver(ledger);
    const running = d.run();
    await until("30 failed steps", async () => (ledger.snapshotCalls >= 30 ? true : undefined), 20_000);
    ledger.failSnapshot = undefined;
    await until("recovery", async () => (events("driver_recovered").length > 0 ? true : undefined));
    d.stop();
    await running;
    expect(events("driver_step_failed")).to.have.length(1);
    expect(events("driver_recovered")).to.have.length(1);
    expect(events("driver_recovered")[0].fields.failures).to.be.at.least(30);
    expect(d.status().lastError).to.equal(undefined);
  });

  it("logs each distinct failure, and shows no absolute file path in /health's lastError", async function () {
    const ledger = new ScriptedLedger(base, 1, 1, Number.MAX_SAFE_INTEGER);
    const secret = path.join(dir, "objects", "secret");
    let n = 0;
    ledger.failSnapshot = () =>
      ++n <= 5
        ? Object.assign(new Error(`EACCES: permission denied, open '${secret}'`), {
            code: "EACCES",
            syscall: "open",
            path: secret,
          })
        : new Error("the chain stopped answering");
    const d = driver(ledger);
    const running = d.run();
    await until("10 failed steps", async () => (ledger.snapshotCalls >= 10 ? true : undefined), 20_000);
    const lastErrors = events("driver_step_failed").map((l) => String(l.fields.error));
    d.stop();
    await running;
    expect(lastErrors).to.have.length(2);
    expect(lastErrors[0]).to.equal("open failed with EACCES (the aggregator's log has the file)");
    expect(lastErrors.join(" ")).not.to.include(dir);
  });

  it("keeps a nudge that arrives while a step runs: the next step follows at once, not after the poll", async function () {
    const ledger = new ScriptedLedger(base, 1, 2);
    ledger.status = "Finalized";
    const d = driver(ledger, updateLimitsFor(TASK), 40, 60_000);
    let nudged = false;
    const snapshot = ledger.snapshot.bind(ledger);
    ledger.snapshot = async () => {
      // The first step is under way when the nudge comes (an upload accepted, every answer in).
      if (!nudged) {
        nudged = true;
        d.nudge();
      }
      return snapshot();
    };
    void d.run();
    await until(
      "a second step without waiting a minute",
      async () => (ledger.snapshotCalls >= 2 ? true : undefined),
      5_000,
    );
    d.stop();
    d.nudge();
    await d.stopped();
  });

  it("keeps watching a done task, and finalises again the same model when the chain lost the finalisation", async function () {
    const ledger = new ScriptedLedger(base, 1, 2);
    await stored(ledger, 0, deltaFor(spec, 1), 100n);
    await stored(ledger, 1, deltaFor(spec, 2), 50n);
    const d = driver(ledger);
    await d.run();
    expect(d.status().state).to.equal("done");
    expect(ledger.finalized).to.have.length(1);
    // A chain node restarted from a state saved just before the finalisation: the round is open again.
    ledger.status = "Open";
    await until(
      "the second finalisation",
      async () => (ledger.finalized.length === 2 ? true : undefined),
      10_000,
    );
    d.stop();
    await d.stopped();
    expect(ledger.finalized[1]).to.deep.equal(ledger.finalized[0]);
    expect(events("task_resumed")).to.have.length(1);
    expect(events("task_done")).to.have.length(2);
  });

  it("leaves out a stored update above the sample-count limit and finalises the others once", async function () {
    const ledger = new ScriptedLedger(base, 1, 2);
    const ok = await stored(ledger, 0, deltaFor(spec, 1), 100n);
    await stored(ledger, 1, deltaFor(spec, 2), 1n << 60n);
    const d = driver(ledger);
    await d.step();
    await d.step();
    expect(ledger.finalized).to.have.length(1);
    expect(ledger.finalized[0].includedCount).to.equal(1);
    const expected = await fedAvgAggregate(genesis, [{ ...ok, bytes: async () => ok.bytes }]);
    expect(ledger.finalized[0].modelHash).to.equal(sha256(expected));
    const excluded = events("update_excluded");
    expect(excluded).to.have.length(1);
    expect(String(excluded[0].fields.reason)).to.match(/sample count 1152921504606846976 is above/);
  });

  it("leaves out an upload whose record was changed on disk after it was accepted", async function () {
    const ledger = new ScriptedLedger(base, 1, 2);
    const ok = await stored(ledger, 0, deltaFor(spec, 1), 100n);
    const changed = await stored(ledger, 1, deltaFor(spec, 2), 100n);
    // Someone with access to the disk points the record at other bytes (also in the store).
    const other = await store.put(deltaFor(spec, 9, 0.5));
    const files = (await fs.readdir(dir, { recursive: true })).filter((f) =>
      f.endsWith(`${changed.site.toLowerCase()}.json`),
    );
    expect(files).to.have.length(1);
    const file = path.join(dir, files[0]);
    const record = JSON.parse(await fs.readFile(file, "utf8")) as UploadRecord;
    await fs.writeFile(file, JSON.stringify({ ...record, updateHash: other }));
    const d = driver(ledger);
    await d.step();
    expect(ledger.finalized).to.have.length(1);
    expect(ledger.finalized[0].includedCount).to.equal(1);
    const expected = await fedAvgAggregate(genesis, [{ ...ok, bytes: async () => ok.bytes }]);
    expect(ledger.finalized[0].modelHash).to.equal(sha256(expected));
    const [excluded] = events("update_excluded");
    expect(excluded.fields.site).to.equal(changed.site);
    expect(String(excluded.fields.reason)).to.equal("the stored record differs from the site's commit");
  });

  it("leaves out the update the rule names when it cannot use it, instead of retrying forever", async function () {
    // A sample count FedAvg refuses (above 2^53 - 1) that the configured limit lets through.
    const ledger = new ScriptedLedger(base, 1, 2);
    await stored(ledger, 0, deltaFor(spec, 1), 100n);
    const bad = await stored(ledger, 1, deltaFor(spec, 2), 1n << 60n);
    const d = driver(ledger, { maxNumSamples: 1n << 62n, maxUpdateNorm: null });
    await d.step();
    expect(ledger.finalized).to.have.length(1);
    expect(ledger.finalized[0].includedCount).to.equal(1);
    const [excluded] = events("update_excluded");
    expect(excluded.fields.site).to.equal(bad.site);
    expect(String(excluded.fields.reason)).to.match(/^the rule cannot use it/);
  });

  it("leaves out the update that makes the aggregate overflow, and records only a finite model", async function () {
    // A parent near FLT_MAX (a model an earlier poisoned round left behind) plus an FLT_MAX delta overflows.
    const parent = decodeModel(genesis).map((t) => ({ ...t, data: t.data.map(() => FLT_MAX * 0.9) }));
    const parentBytes = encodeModel(parent);
    const ledger = new ScriptedLedger(await store.put(parentBytes), 1, 3);
    await stored(ledger, 0, deltaFor(spec, 1), 100n);
    await stored(ledger, 1, deltaFor(spec, 2), 100n);
    const huge = decodeModel(deltaFor(spec, 3)).map((t) => ({ ...t, data: t.data.map(() => FLT_MAX) }));
    const poisoned = await stored(ledger, 2, encodeModel(huge), 100n);
    const d = driver(ledger, { maxNumSamples: 1_000_000n, maxUpdateNorm: null });
    await d.step();
    expect(ledger.finalized).to.have.length(1);
    expect(ledger.finalized[0].includedCount).to.equal(2);
    const model = await store.get(ledger.finalized[0].modelHash);
    for (const t of decodeModel(model as Buffer)) expect(t.data.every(Number.isFinite)).to.equal(true);
    const [excluded] = events("update_excluded");
    expect(excluded.fields.site).to.equal(poisoned.site);
  });

  it("aborts with a reason when no update is usable, once, after the deadline", async function () {
    const ledger = new ScriptedLedger(base, 1, 2);
    await stored(ledger, 0, deltaFor(spec, 1, 5), 100n);
    await stored(ledger, 1, deltaFor(spec, 2, 5), 100n);
    const d = driver(ledger, { maxNumSamples: 1_000_000n, maxUpdateNorm: 0.5 });
    await d.step();
    await d.step();
    expect(ledger.aborted).to.deep.equal([2]);
    expect(ledger.finalized).to.have.length(0);
    expect(events("update_excluded").map((l) => String(l.fields.reason))).to.have.length(2);
    for (const l of events("update_excluded")) expect(String(l.fields.reason)).to.match(/L2 norm .* above/);
  });

  it("before the deadline, waits (unsealed) and logs each exclusion once however often it polls", async function () {
    const ledger = new ScriptedLedger(base, 2, 2, Number.MAX_SAFE_INTEGER);
    await stored(ledger, 0, deltaFor(spec, 1), 100n);
    await stored(ledger, 1, deltaFor(spec, 2), 1n << 60n);
    const d = driver(ledger);
    for (let i = 0; i < 20; i++) await d.step();
    expect(ledger.finalized).to.have.length(0);
    expect(ledger.aborted).to.have.length(0);
    expect(events("update_excluded")).to.have.length(1);
    // Once the deadline passes, the round is aborted (too few usable updates), not retried.
    ledger.deadline = 1;
    await d.step();
    await d.step();
    expect(ledger.aborted).to.deep.equal([2]);
  });
});
