import { promises as fs } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, type Signer } from "ethers";
import { AggregatorRequestError, fetchModel } from "../../node/aggregator/client";
import { encodeMetricsHeader } from "../../node/aggregator/envelope";
import type { Logger } from "../../node/aggregator/log";
import { type AggregatorService } from "../../node/aggregator/service";
import { buildUpdateTree, fedAvgAggregate, metricsHash, signUpdate, type Metrics } from "../../node/fl";
import { decodeModel, encodeModel } from "../../node/model/format";
import { defaultSpec, specBytes } from "../../node/model/spec";
import { ContentStore } from "../../node/store";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  commitAndSign,
  createTask,
  deltaFor,
  deployConsortium,
  genesisFor,
  sha256,
  tinySpec,
  until,
  upload,
  type SiteUpdate,
  startTestAggregator,
} from "./fixture";

const MAX_UPLOAD = 16_384;

async function rejection(p: Promise<unknown>): Promise<AggregatorRequestError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AggregatorRequestError) return err;
    throw err;
  }
  throw new Error("expected the upload to be refused");
}

/** A raw HTTP request (for bodies and headers the client never produces). */
function raw(
  url: string,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  chunks: Buffer[],
): Promise<{ status: number; body: { error?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${urlPath}`, { method, headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

function envelopeHeaders(u: SiteUpdate, updateHash = sha256(u.bytes)): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "x-fedledger-site": u.site,
    "x-fedledger-update-hash": updateHash,
    "x-fedledger-num-samples": u.numSamples.toString(),
    "x-fedledger-metrics": encodeMetricsHeader(u.metrics),
    "x-fedledger-signature": u.signature,
  };
}

describe("aggregator service (in-process chain, real HTTP)", function () {
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  const chainId = 31337n;
  let admin: Signer;
  let sites: Signer[];
  let registry: ConsortiumRegistry;
  let ledger: TrainingLedger;
  let task: bigint;
  let dir: string;
  let store: ContentStore;
  let service: AggregatorService;
  let url: string;
  const accepted: SiteUpdate[] = [];
  let round1Model: string;
  const logged: { level: string; event: string }[] = [];
  const log: Logger = (level, event) => logged.push({ level, event });

  before(async function () {
    const signers = await ethers.getSigners();
    admin = signers[0];
    const aggregator = signers[3];
    sites = signers.slice(5, 17);
    ({ registry, ledger } = await deployConsortium(admin, await aggregator.getAddress(), sites));
    task = await createTask(ledger, spec, genesis, { minSites: 2, windowSeconds: 3600, rounds: 3 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-agg-"));
    store = await ContentStore.open(dir);
    service = await startTestAggregator({
      ledger: ledger.connect(aggregator),
      registry,
      taskId: task,
      spec,
      genesis,
      store,
      maxUploadBytes: MAX_UPLOAD,
      log,
    });
    url = service.url;
  });

  after(async function () {
    await service?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const commit = (
    i: number,
    bytes: Uint8Array,
    n: bigint,
    metrics: Metrics = { loss: 0.5 + i / 10, macroF1: 0.6 },
    o: { commitBytes?: Uint8Array; commitMetrics?: Metrics } = {},
  ) => commitAndSign(sites[i], ledger, chainId, task, 1, bytes, n, metrics, o);

  it("opens round 1 from the genesis model and serves that model", async function () {
    const round = await until("round 1", async () => {
      const r = await ledger.getRound(task, 1);
      return r.status === 1n ? r : undefined;
    });
    expect(round.baseModelHash).to.equal(sha256(genesis));
    expect((await fetchModel(url, sha256(genesis))).equals(genesis)).to.equal(true);
  });

  it("serves the task's spec under its on-chain spec hash, for auditors", async function () {
    const onChain = (await ledger.getTask(task)).specHash;
    const bytes = await fetchModel(url, onChain);
    expect(sha256(bytes)).to.equal(onChain);
    expect(JSON.parse(bytes.toString("utf8"))).to.deep.equal(JSON.parse(specBytes(spec).toString("utf8")));
  });

  it("accepts signed uploads of committed updates, and a repeat is idempotent", async function () {
    for (const i of [0, 1, 2]) {
      const u = await commit(i, deltaFor(spec, i + 1), BigInt(100 * (i + 1)));
      const res = await upload(url, task, 1, u);
      expect(res.created).to.equal(true);
      expect(res.record).to.include({
        site: u.site,
        updateHash: sha256(u.bytes),
        numSamples: u.numSamples.toString(),
      });
      accepted.push(u);
    }
    const again = await upload(url, task, 1, accepted[0]);
    expect(again.created).to.equal(false);
    expect(again.record).to.deep.equal(await store.getUpload(task, 1, accepted[0].site));
  });

  it("refuses each bad upload with its own error and leaves the round unchanged", async function () {
    const before = await store.listRound(task, 1);
    const expectRefused = async (p: Promise<unknown>, code: string, status: number) => {
      const err = await rejection(p);
      expect(err.code, err.message).to.equal(code);
      expect(err.status).to.equal(status);
      expect(err.hint).to.match(/\w/);
    };

    // Site 3 commits one update and uploads another (signed for the other).
    const committed = deltaFor(spec, 30);
    const other = deltaFor(spec, 31);
    await expectRefused(
      upload(url, task, 1, await commit(3, other, 300n, undefined, { commitBytes: committed })),
      "commit_mismatch",
      409,
    );
    // The right hash in the header (and signature) but other bytes in the body.
    const sig3 = await signUpdate(
      sites[3],
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(committed),
        numSamples: 300n,
        metricsHash: metricsHash({ loss: 0.8, macroF1: 0.6 }),
      },
    );
    const swapped = await raw(
      url,
      "PUT",
      `/tasks/${task}/rounds/1/updates`,
      envelopeHeaders(
        {
          site: await sites[3].getAddress(),
          bytes: other,
          numSamples: 300n,
          metrics: { loss: 0.8, macroF1: 0.6 },
          signature: sig3,
        },
        sha256(committed),
      ),
      [Buffer.from(other)],
    );
    expect(swapped.status).to.equal(409);
    expect(swapped.body.error).to.equal("body_hash_mismatch");

    // Signed by another key than the site it claims to be.
    const u4 = await commit(4, deltaFor(spec, 4), 400n);
    const stranger = new Wallet("0x" + "42".repeat(32));
    const strangerSig = await signUpdate(
      stranger,
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(u4.bytes),
        numSamples: 400n,
        metricsHash: metricsHash(u4.metrics),
      },
    );
    await expectRefused(upload(url, task, 1, { ...u4, signature: strangerSig }), "bad_signature", 401);
    // A key that is not a site, signing for itself.
    await expectRefused(
      upload(url, task, 1, { ...u4, site: stranger.address, signature: strangerSig }),
      "not_active_site",
      403,
    );

    // A suspended site.
    const u5 = await commit(5, deltaFor(spec, 5), 500n);
    await (await registry.suspendSite(u5.site, ethers.id("misbehaved"))).wait();
    await expectRefused(upload(url, task, 1, u5), "site_suspended", 403);

    // Replays: an accepted upload sent to another round or task; a signature for a round not opened.
    await expectRefused(upload(url, task, 2, accepted[0]), "bad_signature", 401);
    await expectRefused(upload(url, task + 1n, 1, accepted[0]), "unknown_task", 404);
    const forRound2 = await signUpdate(
      sites[4],
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 2,
        updateHash: sha256(u4.bytes),
        numSamples: 400n,
        metricsHash: metricsHash(u4.metrics),
      },
    );
    await expectRefused(upload(url, task, 2, { ...u4, signature: forRound2 }), "unknown_round", 404);

    // Bytes that are not a model, a model of another shape, a NaN, an oversized body.
    await expectRefused(
      upload(url, task, 1, await commit(6, Buffer.from("not a model"), 10n)),
      "unparseable",
      422,
    );
    const otherSpec = defaultSpec({ dim: 4, features: { ...spec.features, buckets: 32 } });
    await expectRefused(
      upload(url, task, 1, await commit(7, deltaFor(otherSpec, 7), 10n)),
      "wrong_shape",
      422,
    );
    const nanModel = decodeModel(deltaFor(spec, 8));
    nanModel[1].data[0] = NaN;
    await expectRefused(upload(url, task, 1, await commit(8, encodeModel(nanModel), 10n)), "non_finite", 422);
    const big = await commit(9, Buffer.alloc(MAX_UPLOAD + 1, 1), 10n);
    await expectRefused(upload(url, task, 1, big), "too_large", 413);
    // The same without Content-Length: counted while streaming.
    const chunked = await raw(
      url,
      "PUT",
      `/tasks/${task}/rounds/1/updates`,
      { ...envelopeHeaders(big), "transfer-encoding": "chunked" },
      [Buffer.alloc(8192, 1), Buffer.alloc(8192, 1), Buffer.alloc(8192, 1)],
    );
    expect(chunked.status).to.equal(413);
    expect(chunked.body.error).to.equal("too_large");

    // Metrics other than the committed ones; no commit at all; a second, different update from an accepted site.
    await expectRefused(
      upload(
        url,
        task,
        1,
        await commit(10, deltaFor(spec, 10), 10n, { loss: 2 }, { commitMetrics: { loss: 1 } }),
      ),
      "metrics_mismatch",
      409,
    );
    const uncommitted = deltaFor(spec, 11);
    const sig11 = await signUpdate(
      sites[11],
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(uncommitted),
        numSamples: 5n,
        metricsHash: metricsHash({}),
      },
    );
    const site11 = await sites[11].getAddress();
    await expectRefused(
      upload(url, task, 1, {
        site: site11,
        bytes: uncommitted,
        numSamples: 5n,
        metrics: {},
        signature: sig11,
      }),
      "no_commit",
      409,
    );
    const second = deltaFor(spec, 99);
    const sig0 = await signUpdate(
      sites[0],
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(second),
        numSamples: 100n,
        metricsHash: metricsHash(accepted[0].metrics),
      },
    );
    await expectRefused(
      upload(url, task, 1, { ...accepted[0], bytes: second, signature: sig0 }),
      "duplicate",
      409,
    );

    // Malformed envelopes.
    const noSig = envelopeHeaders(u4);
    delete noSig["x-fedledger-signature"];
    const missing = await raw(url, "PUT", `/tasks/${task}/rounds/1/updates`, noSig, [Buffer.from(u4.bytes)]);
    expect([missing.status, missing.body.error]).to.deep.equal([400, "bad_request"]);
    const text = await raw(
      url,
      "PUT",
      `/tasks/${task}/rounds/1/updates`,
      { ...envelopeHeaders(u4), "content-type": "text/plain" },
      [Buffer.from(u4.bytes)],
    );
    expect([text.status, text.body.error]).to.deep.equal([415, "unsupported_media_type"]);
    expect((await raw(url, "GET", "/models/xyz", {}, [])).body.error).to.equal("bad_hash");
    expect((await raw(url, "GET", `/models/0x${"00".repeat(32)}`, {}, [])).status).to.equal(404);

    expect(await store.listRound(task, 1)).to.deep.equal(before);

    // A refused site can still deliver its committed update properly.
    expect((await upload(url, task, 1, u4)).created).to.equal(true);
    accepted.push(u4);
  });

  it("reports the round's state: commits seen, uploads accepted", async function () {
    const res = await fetch(`${url}/tasks/${task}/rounds/1`);
    const body = (await res.json()) as {
      status: string;
      commits: { site: string; uploaded: boolean }[];
      uploads: { site: string }[];
      acceptingUploads: boolean;
      metricsMean: Record<string, number>;
    };
    expect(body.status).to.equal("Open");
    expect(body.acceptingUploads).to.equal(true);
    expect(body.commits).to.have.length(11); // sites 0 to 10
    expect(body.uploads.map((u) => u.site).sort()).to.deep.equal(accepted.map((u) => u.site).sort());
    expect(body.commits.filter((c) => c.uploaded)).to.have.length(accepted.length);
    expect(body.metricsMean.macroF1).to.be.closeTo(0.6, 1e-12);
    expect((await raw(url, "GET", `/tasks/${task}/rounds/3`, {}, [])).body.error).to.equal("unknown_round");
  });

  it("finalises the round after the deadline with exactly the valid updates", async function () {
    await time.increase(3601);
    const round = await until("round 1 finalised", async () => {
      const r = await ledger.getRound(task, 1);
      return r.status === 2n ? r : undefined;
    });
    const expected = await fedAvgAggregate(
      genesis,
      accepted.map((u) => ({ site: u.site, numSamples: u.numSamples, bytes: async () => u.bytes })),
    );
    round1Model = sha256(expected);
    expect(round.modelHash).to.equal(round1Model);
    expect((await store.get(round.modelHash))?.equals(Buffer.from(expected))).to.equal(true);
    expect((await fetchModel(url, round.modelHash)).equals(Buffer.from(expected))).to.equal(true);
    expect(round.includedCount).to.equal(BigInt(accepted.length));

    const tree = buildUpdateTree(
      accepted.map((u) => ({ site: u.site, updateHash: sha256(u.bytes), numSamples: u.numSamples })),
    );
    expect(round.updatesRoot).to.equal(tree.root);
    for (const u of accepted)
      expect(
        await ledger.verifyUpdateIncluded(task, 1, u.site, sha256(u.bytes), u.numSamples, tree.proof(u.site)),
      ).to.equal(true);
    const site3 = await sites[3].getAddress();
    expect(await ledger.hasCommitted(task, 1, site3)).to.equal(true);
    const committed3 = deltaFor(spec, 30);
    expect(await ledger.verifyUpdateIncluded(task, 1, site3, sha256(committed3), 300n, [])).to.equal(false);

    const [event] = await ledger.queryFilter(ledger.filters.RoundFinalized(task, 1));
    const doc = JSON.parse((await fetchModel(url, event.args.metricsHash)).toString("utf8")) as {
      modelHash: string;
      sites: { site: string; metrics: unknown }[];
    };
    expect(doc.modelHash).to.equal(round1Model);
    expect(doc.sites.map((s) => s.site)).to.have.length(accepted.length);

    const site3Late = await signUpdate(
      sites[3],
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(committed3),
        numSamples: 300n,
        metricsHash: metricsHash({}),
      },
    );
    const late = await rejection(
      upload(url, task, 1, {
        site: site3,
        bytes: committed3,
        numSamples: 300n,
        metrics: {},
        signature: site3Late,
      }),
    );
    expect(late.code).to.equal("round_not_open");
    expect((await upload(url, task, 1, accepted[0])).created).to.equal(false);
  });

  it("aborts a round with too few commits (reason 1), starting the next from the same base", async function () {
    await until("round 2 open", async () =>
      (await ledger.getRound(task, 2)).status === 1n ? true : undefined,
    );
    expect((await ledger.getRound(task, 2)).baseModelHash).to.equal(round1Model);
    const u = await commitAndSign(sites[0], ledger, chainId, task, 2, deltaFor(spec, 50), 10n, { loss: 1 });
    await upload(url, task, 2, u);
    await time.increase(3601);
    await until("round 2 aborted", async () =>
      (await ledger.getRound(task, 2)).status === 3n ? true : undefined,
    );
    const [aborted] = await ledger.queryFilter(ledger.filters.RoundAborted(task, 2));
    expect(aborted.args.reason).to.equal(1n);
    await until("round 3 open", async () =>
      (await ledger.getRound(task, 3)).status === 1n ? true : undefined,
    );
    expect((await ledger.getRound(task, 3)).baseModelHash).to.equal(round1Model);
  });

  it("aborts a round with too few valid updates (reason 2), then stops and keeps serving models", async function () {
    const a = await commitAndSign(sites[0], ledger, chainId, task, 3, deltaFor(spec, 60), 10n, { loss: 1 });
    await commitAndSign(sites[1], ledger, chainId, task, 3, deltaFor(spec, 61), 10n, { loss: 1 });
    await upload(url, task, 3, a);
    await time.increase(3601);
    await service.driverDone;
    expect(service.driver.status().state).to.equal("done");
    const [aborted] = await ledger.queryFilter(ledger.filters.RoundAborted(task, 3));
    expect(aborted.args.reason).to.equal(2n);

    expect((await fetchModel(url, round1Model)).length).to.be.greaterThan(0);
    const health = (await (await fetch(`${url}/health`)).json()) as { driver: { state: string } };
    expect(health.driver.state).to.equal("done");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).to.match(/fedledger_aggregator_uploads_rejected_total\{reason="commit_mismatch"\} 1/);
    expect(metrics).to.match(/fedledger_aggregator_uploads_rejected_total\{reason="too_large"\} 2/);
    expect(metrics).to.match(/fedledger_aggregator_rounds_finalized_total 1/);
    expect(metrics).to.match(/fedledger_aggregator_rounds_aborted_total\{reason="1"\} 1/);
    expect(metrics).to.match(/fedledger_aggregator_rounds_aborted_total\{reason="2"\} 1/);
    expect(metrics).to.match(/fedledger_aggregator_aggregation_seconds_count 1/);
    expect(logged.filter((l) => l.level === "error")).to.deep.equal([]);
    expect(logged.map((l) => l.event)).to.include.members([
      "round_opened",
      "round_finalized",
      "round_aborted",
      "task_done",
    ]);
  });
});
