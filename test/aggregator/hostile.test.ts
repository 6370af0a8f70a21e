/**
 * Hostile clients against a real aggregator (real HTTP server, in-process Hardhat chain): every refusal is
 * asserted together with what did not change (the store, the round, the upload bytes the server read).
 */
import { promises as fs } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet, type Signer } from "ethers";
import { AggregatorRequestError, uploadUpdate } from "../../node/aggregator/client";
import { encodeMetricsHeader } from "../../node/aggregator/envelope";
import type { Logger } from "../../node/aggregator/log";
import { OffChainLedger } from "../../scripts/offLedger/ledger";
import { startAggregatorService, type AggregatorService } from "../../node/aggregator/service";
import { metricsHash, signUpdate } from "../../node/fl";
import { specHash } from "../../node/model/spec";
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
  type SiteUpdate,
  startTestAggregator,
} from "./fixture";

const MiB = 1024 * 1024;

interface Answer {
  status?: number;
  headers: http.IncomingHttpHeaders;
  body: { error?: string; message?: string };
  /** The connection was reset or closed before a full answer arrived. */
  reset: boolean;
  /** Whether the body was sent (false: the server answered before asking for it). */
  bodySent: boolean;
}

function parse(text: string): Answer["body"] {
  try {
    return JSON.parse(text) as Answer["body"];
  } catch {
    return {};
  }
}

/**
 * PUTs a body the way a careless or hostile client does: all of it at once, without waiting for an answer
 * (`expect` false), or the way the fedledger client does (`Expect: 100-continue`, body only after the 100).
 */
function put(
  url: string,
  urlPath: string,
  headers: Record<string, string>,
  body: Buffer,
  opts: { expect?: boolean; hold?: number } = {},
): { answer: Promise<Answer>; finish: () => void } {
  let bodySent = false;
  let finish = () => undefined as void;
  const answer = new Promise<Answer>((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, "bodySent">) => {
      if (settled) return;
      settled = true;
      resolve({ ...a, bodySent });
    };
    const req = http.request(`${url}${urlPath}`, {
      method: "PUT",
      headers: {
        ...headers,
        "content-length": String(body.length),
        ...(opts.expect ? { expect: "100-continue" } : {}),
      },
      agent: false,
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString("utf8")));
      res.on("end", () =>
        done({ status: res.statusCode, headers: res.headers, body: parse(text), reset: false }),
      );
      res.on("error", () => done({ status: res.statusCode, headers: res.headers, body: {}, reset: true }));
    });
    req.on("error", () => done({ headers: {}, body: {}, reset: true }));
    const send = () => {
      bodySent = true;
      if (opts.hold !== undefined) {
        req.write(body.subarray(0, opts.hold));
        finish = () => void req.end(body.subarray(opts.hold));
      } else req.end(body);
    };
    if (opts.expect) {
      req.on("continue", send);
      req.flushHeaders();
    } else send();
  });
  return { answer, finish: () => finish() };
}

function envelopeHeaders(u: SiteUpdate): Record<string, string> {
  return {
    "content-type": "application/octet-stream",
    "x-fedledger-site": u.site,
    "x-fedledger-update-hash": sha256(u.bytes),
    "x-fedledger-num-samples": u.numSamples.toString(),
    "x-fedledger-metrics": encodeMetricsHeader(u.metrics),
    "x-fedledger-signature": u.signature,
  };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("aggregator under hostile clients (in-process chain, real HTTP)", function () {
  this.timeout(120_000);
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  const chainId = 31337n;
  let sites: Signer[];
  let ledger: TrainingLedger;
  let registry: ConsortiumRegistry;
  let task: bigint;
  let dir: string;
  let store: ContentStore;
  let service: AggregatorService;
  let url: string;
  const logged: { level: string; event: string }[] = [];
  const log: Logger = (level, event) => logged.push({ level, event });
  const route = () => `/tasks/${task}/rounds/1/updates`;
  const bytesRead = () => metric(url, "fedledger_aggregator_upload_body_bytes_read_total");
  const inFlight = () => metric(url, "fedledger_aggregator_upload_bytes_in_flight");
  const commit = (i: number, bytes: Uint8Array, n: bigint, o: { commitBytes?: Uint8Array } = {}) =>
    commitAndSign(sites[i], ledger, chainId, task, 1, bytes, n, { loss: 0.5 }, o);

  /** Signs an upload with a key that is not a site (the envelope is otherwise valid). */
  async function strangerUpload(bytes: Uint8Array, seed: number): Promise<SiteUpdate> {
    const stranger = new Wallet(`0x${seed.toString(16).padStart(64, "0")}`);
    const metrics = { loss: 0.5 };
    const signature = await signUpdate(
      stranger,
      { chainId, ledger: await ledger.getAddress() },
      {
        taskId: task,
        round: 1,
        updateHash: sha256(bytes),
        numSamples: 10n,
        metricsHash: metricsHash(metrics),
      },
    );
    return { site: stranger.address, bytes, numSamples: 10n, metrics, signature };
  }

  before(async function () {
    const signers = await ethers.getSigners();
    const admin = signers[0];
    const aggregator = signers[3];
    sites = signers.slice(5, 17);
    ({ registry, ledger } = await deployConsortium(admin, await aggregator.getAddress(), sites));
    task = await createTask(ledger, spec, genesis, { minSites: 10, windowSeconds: 3600, rounds: 1 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-hostile-"));
    store = await ContentStore.open(dir);
    service = await startTestAggregator({
      ledger: ledger.connect(aggregator),
      registry,
      taskId: task,
      spec,
      genesis,
      store,
      maxUploadBytes: 64 * MiB,
      limits: {
        maxUploadBytesInFlight: 2.5 * MiB,
        maxUploadBytesInFlightPerSite: 2 * MiB,
        retryAfterSeconds: 7,
        maxNumSamples: 1000,
        maxUpdateNorm: 1,
      },
      log,
    });
    url = service.url;
    await until("round 1", async () => ((await ledger.getRound(task, 1)).status === 1n ? true : undefined));
  });

  after(async function () {
    await service?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("refuses 20 concurrent 60 MiB uploads signed by keys that are not sites without reading their bodies", async function () {
    const body = Buffer.alloc(60 * MiB, 7);
    const before = { read: await bytesRead(), uploads: await store.listRound(task, 1) };
    const probes = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) => put(url, route(), envelopeHeaders(await strangerUpload(body, 1000 + i)), body).answer,
      ),
    );
    for (const p of probes) {
      if (!p.reset) expect([p.status, p.body.error]).to.deep.equal([403, "not_active_site"]);
    }
    expect(probes.filter((p) => !p.reset).length, "some refusals reach the client").to.be.greaterThan(0);
    expect(await bytesRead()).to.equal(before.read);
    expect(await store.listRound(task, 1)).to.deep.equal(before.uploads);
    expect(await inFlight()).to.equal(0);
  });

  it("answers a refused upload sent with Expect: 100-continue before its body is sent", async function () {
    const body = Buffer.alloc(8 * MiB, 3);
    const before = await bytesRead();
    const probe = await put(url, route(), envelopeHeaders(await strangerUpload(body, 77)), body, {
      expect: true,
    }).answer;
    expect([probe.status, probe.body.error, probe.bodySent]).to.deep.equal([403, "not_active_site", false]);
    // The site's own client does the same.
    const u = await strangerUpload(body, 78);
    try {
      await uploadUpdate(url, { task, round: 1, ...u }, { retries: 0 });
      expect.fail("the upload should be refused");
    } catch (err) {
      expect((err as AggregatorRequestError).code).to.equal("not_active_site");
    }
    expect(await bytesRead()).to.equal(before);
  });

  it("refuses a forged signature, an uncommitted update and a mismatched commit before reading the body", async function () {
    const body = Buffer.alloc(4 * MiB, 5);
    const before = { read: await bytesRead(), uploads: await store.listRound(task, 1) };
    // Signed by a stranger but claiming to be site 0.
    const forged = { ...(await strangerUpload(body, 99)), site: await sites[0].getAddress() };
    // Site 1 signs correctly but never committed; site 2 committed other bytes.
    const sig = async (i: number, bytes: Uint8Array) =>
      signUpdate(
        sites[i],
        { chainId, ledger: await ledger.getAddress() },
        {
          taskId: task,
          round: 1,
          updateHash: sha256(bytes),
          numSamples: 10n,
          metricsHash: metricsHash({ loss: 0.5 }),
        },
      );
    const uncommitted: SiteUpdate = {
      site: await sites[1].getAddress(),
      bytes: body,
      numSamples: 10n,
      metrics: { loss: 0.5 },
      signature: await sig(1, body),
    };
    const mismatched = await commit(2, body, 10n, { commitBytes: deltaFor(spec, 2) });
    const answers = [];
    for (const u of [forged, uncommitted, mismatched])
      answers.push(await put(url, route(), envelopeHeaders(u), body, { expect: true }).answer);
    expect(answers.map((a) => [a.status, a.body.error, a.bodySent])).to.deep.equal([
      [401, "bad_signature", false],
      [409, "no_commit", false],
      [409, "commit_mismatch", false],
    ]);
    expect(await bytesRead()).to.equal(before.read);
    expect(await store.listRound(task, 1)).to.deep.equal(before.uploads);
  });

  it("refuses a committed sample count above the maximum with too_many_samples, before the body", async function () {
    const before = { read: await bytesRead(), uploads: await store.listRound(task, 1) };
    const inflated = await commit(3, deltaFor(spec, 3), 1n << 60n);
    const justAbove = await commit(4, deltaFor(spec, 4), 1001n);
    for (const u of [inflated, justAbove]) {
      const a = await put(url, route(), envelopeHeaders(u), Buffer.from(u.bytes), { expect: true }).answer;
      expect([a.status, a.body.error, a.bodySent]).to.deep.equal([422, "too_many_samples", false]);
      expect(a.body.message).to.match(/above this task's maximum of 1000/);
    }
    expect(await bytesRead()).to.equal(before.read);
    expect(await store.listRound(task, 1)).to.deep.equal(before.uploads);
    // Exactly the maximum is accepted.
    const atMax = await commit(5, deltaFor(spec, 5), 1000n);
    expect((await uploadUpdate(url, { task, round: 1, ...atMax }, { retries: 0 })).created).to.equal(true);
  });

  it("refuses an update above the norm bound with norm_too_large and stores nothing", async function () {
    const before = await store.listRound(task, 1);
    const loud = await commit(6, deltaFor(spec, 6, 1), 100n);
    try {
      await uploadUpdate(url, { task, round: 1, ...loud }, { retries: 0 });
      expect.fail("the upload should be refused");
    } catch (err) {
      const e = err as AggregatorRequestError;
      expect([e.code, e.status]).to.deep.equal(["norm_too_large", 422]);
      expect(e.message).to.match(/L2 norm .* above this task's bound of 1/);
    }
    expect(await store.listRound(task, 1)).to.deep.equal(before);
    expect(await store.has(sha256(loud.bytes))).to.equal(false);
  });

  it("answers 503 busy with Retry-After when the bytes in flight would pass the total cap, and frees them after", async function () {
    const a = await commit(7, Buffer.alloc(2 * MiB, 1), 10n);
    const b = await commit(8, Buffer.alloc(1 * MiB, 2), 10n);
    const held = put(url, route(), envelopeHeaders(a), Buffer.from(a.bytes), { expect: true, hold: 1024 });
    await until("2 MiB in flight", async () => ((await inFlight()) === 2 * MiB ? true : undefined));
    const busy = await put(url, route(), envelopeHeaders(b), Buffer.from(b.bytes), { expect: true }).answer;
    expect([busy.status, busy.body.error, busy.headers["retry-after"], busy.bodySent]).to.deep.equal([
      503,
      "busy",
      "7",
      false,
    ]);
    held.finish();
    const first = await held.answer;
    expect([first.status, first.body.error]).to.deep.equal([422, "unparseable"]);
    await until("nothing in flight", async () => ((await inFlight()) === 0 ? true : undefined));
    const again = await put(url, route(), envelopeHeaders(b), Buffer.from(b.bytes), { expect: true }).answer;
    expect([again.status, again.body.error]).to.deep.equal([422, "unparseable"]);
  });

  it("answers 503 busy when one site's uploads in flight pass the cap per site", async function () {
    const c = await commit(9, Buffer.alloc(1.5 * MiB, 3), 10n);
    const held = put(url, route(), envelopeHeaders(c), Buffer.from(c.bytes), { expect: true, hold: 1024 });
    await until("1.5 MiB in flight", async () => ((await inFlight()) === 1.5 * MiB ? true : undefined));
    const second = await put(url, route(), envelopeHeaders(c), Buffer.from(c.bytes), { expect: true }).answer;
    expect([second.status, second.body.error, second.headers["retry-after"]]).to.deep.equal([
      503,
      "busy",
      "7",
    ]);
    expect(second.body.message).to.match(/cap per site/);
    held.finish();
    await held.answer;
    await until("nothing in flight", async () => ((await inFlight()) === 0 ? true : undefined));
  });

  it("answers a corrupted store object with a 500 that names no server path", async function () {
    const hash = await store.put(Buffer.from("an object that will rot"));
    await fs.writeFile(path.join(dir, "objects", hash.slice(2)), "rotten");
    const res = await fetch(`${url}/models/${hash}`);
    const text = await res.text();
    expect(res.status).to.equal(500);
    expect(JSON.parse(text).error).to.equal("internal");
    expect(text).not.to.include(dir);
    expect(text).not.to.include(os.tmpdir());
    expect(text).not.to.include("rotten");
  });

  it("checks the body of a repeated upload against the committed hash while streaming, storing nothing", async function () {
    const [accepted] = await store.listRound(task, 1);
    const bytes = await store.get(accepted.updateHash);
    const headers = {
      "content-type": "application/octet-stream",
      "x-fedledger-site": accepted.site,
      "x-fedledger-update-hash": accepted.updateHash,
      "x-fedledger-num-samples": accepted.numSamples,
      "x-fedledger-metrics": encodeMetricsHeader(accepted.metrics),
      "x-fedledger-signature": accepted.signature,
    };
    const tampered = Buffer.from(bytes as Buffer);
    tampered[tampered.length - 1] ^= 1;
    const bad = await put(url, route(), headers, tampered, { expect: true }).answer;
    expect([bad.status, bad.body.error]).to.deep.equal([409, "body_hash_mismatch"]);
    const same = await put(url, route(), headers, bytes as Buffer, { expect: true }).answer;
    expect(same.status).to.equal(200);
    expect(await store.listRound(task, 1)).to.deep.equal([accepted]);
  });

  it("left the round as it was: only the one valid upload is stored", async function () {
    const uploads = await store.listRound(task, 1);
    expect(uploads.map((u) => u.site)).to.deep.equal([await sites[5].getAddress()]);
    const status = (await (await fetch(`${url}/tasks/${task}/rounds/1`)).json()) as { status: string };
    expect(status.status).to.equal("Open");
  });

  it("refuses to start with a signer that lacks the aggregator role, naming `fedledger role grant`", async function () {
    const signers = await ethers.getSigners();
    const otherDir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-hostile-role-"));
    try {
      await startTestAggregator({
        ledger: ledger.connect(signers[4]),
        registry,
        taskId: task,
        spec,
        genesis,
        store: otherDir,
        maxUploadBytes: MiB,
      });
      expect.fail("the service should not start");
    } catch (err) {
      expect((err as { hint?: string }).hint).to.include("fedledger role grant aggregator <address>");
      expect((err as { hint?: string }).hint).not.to.include("role vote");
    } finally {
      await fs.rm(otherDir, { recursive: true, force: true });
    }
  });
});

describe("aggregator HTTP server settings (off-chain ledger, real HTTP)", function () {
  this.timeout(60_000);
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  let dir: string;
  let service: AggregatorService;
  const logged: { event: string; fields: Record<string, unknown> }[] = [];

  before(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-http-"));
    const aggregator = Wallet.createRandom().address;
    service = await startAggregatorService({
      ledger: new OffChainLedger({
        task: {
          taskId: 1n,
          specHash: specHash(spec),
          genesisModelHash: sha256(genesis),
          minSitesPerRound: 1,
          commitWindowSeconds: 3600,
          roundsPlanned: 1,
        },
        sites: [Wallet.createRandom().address],
        aggregator,
        ledgerAddress: Wallet.createRandom().address,
      }),
      chainId: 31337,
      taskId: 1n,
      spec,
      genesis,
      store: await ContentStore.open(dir),
      host: "0.0.0.0",
      port: 0,
      maxUploadBytes: MiB,
      pollIntervalMs: 50,
      uploadGraceSeconds: 0,
      http: { requestTimeoutMs: 30_000, headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500, maxConnections: 3 },
      log: (_level, event, fields = {}) => logged.push({ event, fields }),
    });
  });
  after(async function () {
    await service?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("sets the HTTP timeouts and the connection cap explicitly", function () {
    const s = service.server;
    expect([s.requestTimeout, s.headersTimeout, s.keepAliveTimeout, s.maxConnections]).to.deep.equal([
      30_000, 1_000, 500, 3,
    ]);
  });

  it("warns when it listens beyond loopback", function () {
    const warning = logged.find((l) => l.event === "listening_beyond_loopback");
    expect(warning?.fields.host).to.equal("0.0.0.0");
    expect(String(warning?.fields.hint)).to.match(/firewall/);
  });

  it("cuts off a client that never finishes its headers", async function () {
    const socket = net.connect(service.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("PUT /tasks/1/rounds/1/updates HTTP/1.1\r\nHost: x\r\nX-Fedledger-Site: 0x");
    let answer = "";
    socket.on("data", (c: Buffer) => (answer += c.toString("utf8")));
    await until(
      "the connection closed",
      async () => (socket.readyState === "closed" || socket.destroyed ? true : undefined),
      10_000,
    );
    expect(answer === "" || answer.startsWith("HTTP/1.1 408")).to.equal(true);
  });

  it("closes connections beyond maxConnections at once", async function () {
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = net.connect(service.port, "127.0.0.1");
        await new Promise((resolve) => s.once("connect", resolve));
        sockets.push(s);
      }
      await new Promise((r) => setTimeout(r, 50));
      const extra = net.connect(service.port, "127.0.0.1");
      sockets.push(extra);
      const closed = await new Promise<boolean>((resolve) => {
        extra.once("close", () => resolve(true));
        extra.once("data", () => resolve(false));
        extra.once("connect", () => extra.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
      });
      expect(closed).to.equal(true);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // Once the others are gone, a new connection is served.
    await until("health answers", async () => {
      try {
        return (await fetch(`http://127.0.0.1:${service.port}/health`)).status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  });
});
