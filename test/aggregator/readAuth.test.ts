import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { id, Wallet, type Provider, type Signer } from "ethers";
import { fetchModel } from "../../node/aggregator/client";
import { OffChainLedger } from "../../scripts/offLedger/ledger";
import {
  READ_HEADERS,
  ReadGuard,
  readDigest,
  signRead,
  signReadHeaders,
  type ReadCredentials,
} from "../../node/aggregator/readAuth";
import { type AggregatorService } from "../../node/aggregator/service";
import { connectChain, type ChainConnection } from "../../node/chain/connection";
import { saveDeployment } from "../../node/chain/deployment";
import { devAccountWallet } from "../../node/chain/devAccounts";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
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
  startTestAggregator,
} from "./fixture";

interface Answer {
  status: number;
  bytes: Buffer;
  body: { error?: string; message?: string; hint?: string };
  headers: Headers;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get("content-type")?.startsWith("application/json");
  return {
    status: res.status,
    bytes,
    body: json ? JSON.parse(bytes.toString("utf8")) : {},
    headers: res.headers,
  };
}

/** Starts the aggregator of a 3-site consortium on `provider`; two sites upload in round 1, which stays open. */
async function consortiumWithUploads(params: {
  admin: Signer;
  aggregator: Signer;
  auditor: Signer;
  sites: Signer[];
  provider: Provider;
  storeDir: string;
}) {
  const spec = tinySpec();
  const genesis = genesisFor(spec);
  const { admin, aggregator, auditor, sites } = params;
  const { registry, ledger } = await deployConsortium(admin, await aggregator.getAddress(), sites);
  await (await registry.voteRole(id("AUDITOR_ROLE"), await auditor.getAddress(), true)).wait();
  const task = await createTask(ledger, spec, genesis, { minSites: 2, windowSeconds: 3600, rounds: 1 });
  const chainId = (await params.provider.getNetwork()).chainId;
  const service = await startTestAggregator({
    ledger: ledger.connect(aggregator),
    registry,
    provider: params.provider,
    taskId: task,
    spec,
    genesis,
    store: params.storeDir,
  });
  await until("round 1", async () => ((await ledger.getRound(task, 1)).status === 1n ? true : undefined));
  const updates: Buffer[] = [];
  for (const i of [0, 1]) {
    const bytes = deltaFor(spec, 10 + i);
    const u = await commitAndSign(sites[i], ledger, chainId, task, 1, bytes, 100n + BigInt(i), {
      loss: 0.4,
      macroF1: 0.6,
    });
    await upload(service.url, task, 1, u);
    updates.push(bytes);
  }
  return { spec, genesis, registry, ledger, task, chainId, service, updates };
}

describe("signed reads of site updates (real aggregator HTTP)", function () {
  let admin: Signer;
  let aggregator: Signer;
  let auditor: Signer;
  let sites: Signer[];
  let registry: ConsortiumRegistry;
  let ledger: TrainingLedger;
  let task: bigint;
  let chainId: bigint;
  let dir: string;
  let service: AggregatorService;
  let updates: Buffer[];
  let genesis: Buffer;
  let spec: ReturnType<typeof tinySpec>;
  let ledgerAddress: string;

  const credentials = (signer: Signer, over: Partial<ReadCredentials> = {}): ReadCredentials => ({
    signer,
    chainId,
    ledger: ledgerAddress,
    ...over,
  });
  const updateUrl = (i: number) => `${service.url}/models/${sha256(updates[i])}`;
  const signedGet = async (signer: Signer, i: number, over: Partial<ReadCredentials> = {}) =>
    get(updateUrl(i), await signReadHeaders(credentials(signer, over), task, sha256(updates[i])));

  before(async function () {
    const signers = await ethers.getSigners();
    [admin, aggregator, auditor] = [signers[0], signers[3], signers[4]];
    sites = signers.slice(5, 8);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-readauth-"));
    ({ spec, genesis, registry, ledger, task, chainId, service, updates } = await consortiumWithUploads({
      admin,
      aggregator,
      auditor,
      sites,
      provider: ethers.provider,
      storeDir: dir,
    }));
    ledgerAddress = await ledger.getAddress();
  });

  after(async function () {
    await service?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("refuses an unsigned download of a site's update with 401 signature_required and says how to sign", async function () {
    const res = await get(updateUrl(0));
    expect(res.status).to.equal(401);
    expect(res.body.error).to.equal("signature_required");
    expect(res.body.hint)
      .to.contain("X-Fedledger-Signer")
      .and.contain("X-Fedledger-Timestamp")
      .and.contain("X-Fedledger-Signature")
      .and.contain("fedledger audit verify --store <url> --keystore");
    expect(JSON.stringify(res.body)).not.to.contain(dir);
    expect(res.bytes.includes(updates[0])).to.equal(false);
  });

  it("refuses a signature older than maxAgeSeconds or more than maxFutureSeconds ahead (401 signature_expired)", async function () {
    const hash = sha256(updates[0]);
    const old = await signReadHeaders(credentials(auditor), task, hash, Date.now() - 301_000);
    const ahead = await signReadHeaders(credentials(auditor), task, hash, Date.now() + 61_000 + 1_000);
    for (const headers of [old, ahead]) {
      const res = await get(updateUrl(0), headers);
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal("signature_expired");
    }
    // Just inside the window is accepted.
    const fresh = await signReadHeaders(credentials(auditor), task, hash, Date.now() - 290_000);
    const inside = await get(updateUrl(0), fresh);
    expect(inside.status, JSON.stringify(inside.body)).to.equal(200);
  });

  it("refuses a replayed signature with 401 signature_replayed", async function () {
    const headers = await signReadHeaders(credentials(auditor), task, sha256(updates[0]));
    const first = await get(updateUrl(0), headers);
    expect(first.status).to.equal(200);
    const again = await get(updateUrl(0), headers);
    expect(again.status).to.equal(401);
    expect(again.body.error).to.equal("signature_replayed");
  });

  it("refuses a signature over another hash with 401 bad_signature", async function () {
    const headers = await signReadHeaders(credentials(auditor), task, sha256(updates[1]));
    const res = await get(updateUrl(0), headers);
    expect(res.status).to.equal(401);
    expect(res.body.error).to.equal("bad_signature");
    // A signer header naming someone else than the key fails the same way.
    const forged = {
      ...(await signReadHeaders(credentials(sites[2]), task, sha256(updates[0]))),
      [READ_HEADERS.signer]: await auditor.getAddress(),
    };
    expect((await get(updateUrl(0), forged)).body.error).to.equal("bad_signature");
  });

  it("refuses a signature for another chain id, ledger or task with 401 bad_signature", async function () {
    const hash = sha256(updates[0]);
    const other = [
      await signReadHeaders(credentials(auditor, { chainId: 1n }), task, hash),
      await signReadHeaders(credentials(auditor, { ledger: await registry.getAddress() }), task, hash),
      await signReadHeaders(credentials(auditor), task + 1n, hash),
    ];
    for (const headers of other) {
      const res = await get(updateUrl(0), headers);
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal("bad_signature");
    }
  });

  it("refuses a valid signature from an address without a role, and from another site, with 403 not_a_reader", async function () {
    for (const stranger of [Wallet.createRandom(), sites[1], sites[2]]) {
      const res = await signedGet(stranger, 0);
      expect(res.status).to.equal(403);
      expect(res.body.error).to.equal("not_a_reader");
      expect(res.body.hint).to.contain("fedledger role grant auditor <address>");
      expect(res.bytes.includes(updates[0])).to.equal(false);
    }
  });

  it("serves the update to an auditor, an admin, the aggregator and the site that uploaded it", async function () {
    for (const reader of [auditor, admin, aggregator, sites[0]]) {
      const res = await signedGet(reader, 0);
      expect(res.status, await reader.getAddress()).to.equal(200);
      expect(res.bytes.equals(updates[0])).to.equal(true);
      expect(res.headers.get("cache-control")).to.equal("private, no-store");
    }
    const own = await signedGet(sites[1], 1);
    expect(own.status).to.equal(200);
    expect(own.bytes.equals(updates[1])).to.equal(true);
  });

  it("loses the role's access when the role is revoked", async function () {
    await (await registry.voteRole(id("AUDITOR_ROLE"), await auditor.getAddress(), false)).wait();
    try {
      expect((await signedGet(auditor, 0)).status).to.equal(403);
    } finally {
      await (await registry.voteRole(id("AUDITOR_ROLE"), await auditor.getAddress(), true)).wait();
    }
    expect((await signedGet(auditor, 0)).status).to.equal(200);
  });

  it("keeps models, round status and round metrics documents public", async function () {
    expect((await fetchModel(service.url, sha256(genesis))).equals(genesis)).to.equal(true);
    const status = await get(`${service.url}/tasks/${task}/rounds/1`);
    expect(status.status).to.equal(200);
    // The third site commits and uploads: every Active site is in, so the round closes early.
    const third = await commitAndSign(sites[2], ledger, chainId, task, 1, deltaFor(spec, 12), 102n, {
      loss: 0.4,
      macroF1: 0.6,
    });
    await upload(service.url, task, 1, third);
    const round = await until("round 1 finalised", async () => {
      const r = await ledger.getRound(task, 1);
      return r.status === 2n ? r : undefined;
    });
    const model = await get(`${service.url}/models/${round.modelHash}`);
    expect(model.status).to.equal(200);
    expect(sha256(model.bytes)).to.equal(round.modelHash);
    const [finalized] = await ledger.queryFilter(ledger.filters.RoundFinalized(task, 1));
    const doc = await get(`${service.url}/models/${finalized.args.metricsHash}`);
    expect(doc.status).to.equal(200);
    // The updates stay protected after the round.
    expect((await get(updateUrl(0))).status).to.equal(401);
    expect((await get(`${service.url}/models/${sha256(third.bytes)}`)).status).to.equal(401);
  });

  it("knows the updates of a store it did not receive itself (restart)", async function () {
    const again = await startTestAggregator({
      ledger: ledger.connect(aggregator),
      registry,
      taskId: task,
      spec,
      genesis,
      store: dir,
    });
    try {
      expect((await get(`${again.url}/models/${sha256(updates[0])}`)).status).to.equal(401);
      const headers = await signReadHeaders(credentials(auditor), task, sha256(updates[0]));
      const res = await get(`${again.url}/models/${sha256(updates[0])}`, headers);
      expect(res.bytes.equals(updates[0])).to.equal(true);
    } finally {
      await again.stop();
    }
  });
});

describe("ReadGuard and the off-ledger readers", function () {
  const ledger = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
  const hash = `0x${"ab".repeat(32)}`;
  const reader = Wallet.createRandom();
  const sign = async (issuedAt: number) => ({
    [READ_HEADERS.signer]: reader.address,
    [READ_HEADERS.timestamp]: String(issuedAt),
    [READ_HEADERS.signature]: await signRead(
      reader,
      { chainId: 31337, ledger },
      { taskId: 1, objectHash: hash, issuedAt },
    ),
  });

  it("remembers accepted reads only until they expire, and at most maxRemembered of them", async function () {
    let now = 1_000_000_000_000;
    const guard = new ReadGuard({
      domain: { chainId: 31337, ledger },
      taskId: 1n,
      readerRoles: async () => ["auditor"],
      settings: { maxAgeSeconds: 300, maxFutureSeconds: 60, maxRemembered: 2 },
      now: () => now,
    });
    await guard.authorize(await sign(now), hash, []);
    await guard.authorize(await sign(now + 1), hash, []);
    let refusal: unknown;
    await guard.authorize(await sign(now + 2), hash, []).catch((err: unknown) => (refusal = err));
    expect(refusal).to.deep.include({ code: "busy", status: 503 });
    now += 301_000;
    await guard.authorize(await sign(now), hash, []);
    expect(guard.remembered).to.equal(1);
  });

  it("forgets a refused signature, so strangers' keys do not fill the memory", async function () {
    const guard = new ReadGuard({
      domain: { chainId: 31337, ledger },
      taskId: 1n,
      readerRoles: async () => [],
    });
    const headers = await sign(Date.now());
    let refusal: unknown;
    await guard.authorize(headers, hash, []).catch((err: unknown) => (refusal = err));
    expect(refusal).to.deep.include({ code: "not_a_reader", status: 403 });
    expect(guard.remembered).to.equal(0);
    expect(readDigest({ chainId: 31337, ledger }, { taskId: 1, objectHash: hash, issuedAt: 1 })).to.match(
      /^0x[0-9a-f]{64}$/,
    );
  });

  it("off the ledger, lets only the aggregator's own address read every update", async function () {
    const aggregator = Wallet.createRandom().address;
    const site = Wallet.createRandom().address;
    const off = new OffChainLedger({
      task: {
        taskId: 1n,
        specHash: hash,
        genesisModelHash: hash,
        minSitesPerRound: 1,
        commitWindowSeconds: 60,
        roundsPlanned: 1,
      },
      sites: [site],
      aggregator,
      ledgerAddress: ledger,
    });
    expect(await off.readerRoles(aggregator)).to.deep.equal(["aggregator"]);
    expect(await off.readerRoles(site)).to.deep.equal([]);
  });
});

describe("fedledger audit verify --store <aggregator URL> (CLI, real Hardhat node)", function () {
  const chain = useEmbeddedChain();
  let connection: ChainConnection;
  let dir: string;
  let service: AggregatorService | undefined;
  let deploymentFile: string;
  let modelFile: string;

  before(async function () {
    this.timeout(120_000);
    dir = await makeTempDir("fedledger-readauth-cli-");
    connection = await connectChain({ rpc: chain().url });
    const wallet = (name: string) => devAccountWallet(name, connection.provider);
    const h = await consortiumWithUploads({
      admin: wallet("admin1"),
      aggregator: wallet("aggregator"),
      auditor: wallet("auditor"),
      sites: ["site1", "site2", "site3"].map(wallet),
      provider: connection.provider,
      storeDir: path.join(dir, "store"),
    });
    service = h.service;
    const third = await commitAndSign(
      wallet("site3"),
      h.ledger,
      h.chainId,
      h.task,
      1,
      deltaFor(h.spec, 12),
      102n,
      {
        loss: 0.4,
        macroF1: 0.6,
      },
    );
    await upload(service.url, h.task, 1, third);
    const round = await until(
      "round 1 finalised",
      async () => {
        const r = await h.ledger.getRound(h.task, 1);
        return r.status === 2n ? r : undefined;
      },
      60_000,
    );
    modelFile = path.join(dir, "global-r1.flm");
    await fs.writeFile(modelFile, await fetchModel(service.url, round.modelHash));
    deploymentFile = path.join(dir, "deployment.json");
    const deployBlock = (await h.registry.deploymentTransaction()?.wait())?.blockNumber ?? 0;
    await saveDeployment(deploymentFile, {
      chainId: Number(h.chainId),
      rpc: chain().url,
      registry: await h.registry.getAddress(),
      ledger: await h.ledger.getAddress(),
      deployBlock,
      deployBlockHash: (await connection.provider.getBlock(deployBlock))?.hash ?? undefined,
      deployer: wallet("admin1").address,
      quorum: 1,
      admins: [wallet("admin1").address],
      deployedAt: new Date().toISOString(),
    });
  });

  after(async function () {
    await service?.stop();
    connection?.provider.destroy();
    if (dir) await removeTempDir(dir);
  });

  const audit = (args: string[]) =>
    runCli(["audit", "verify", "--model", modelFile, "--store", service?.url ?? "", ...args], {
      cwd: dir,
      env: { FEDLEDGER_DEPLOYMENT: deploymentFile },
      timeoutMs: 90_000,
    });

  it("passes when the auditor's key signs the downloads", async function () {
    const res = await audit(["--dev-account", "auditor"]);
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
    expect(res.stdout).to.contain("verdict: PASSED");
  });

  it("exits 2 without a key, saying how to sign, and with a key that holds no role, naming the grant", async function () {
    const unsigned = await audit([]);
    expect(unsigned.code).to.equal(2);
    expect(unsigned.stderr).to.contain("HTTP 401");
    expect(unsigned.stderr).to.contain("--keystore");
    const stranger = await audit(["--dev-account", "site30"]);
    expect(stranger.code).to.equal(2);
    expect(stranger.stderr).to.contain("HTTP 403").and.contain("fedledger role grant auditor");
  });
});
