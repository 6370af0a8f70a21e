/**
 * The aggregator's secure-aggregation stages over real HTTP on the in-process chain: three sites advertise,
 * share, mask, commit and upload, and answer; the round is finalised from the sum with the material's hash on
 * the chain, and the model is FedAvg's within the quantisation step. Each bad message is refused with its own
 * code and changes nothing; a round with too few survivors is aborted with reason 3.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { requestAggregatorJson } from "../../node/aggregator/client";
import type { AggregatorService } from "../../node/aggregator/service";
import { fedAvgAggregate, type Metrics } from "../../node/fl";
import { decodeModel } from "../../node/model/format";
import { expectedTensors } from "../../node/model/params";
import { defaultSpec, type ModelSpec } from "../../node/model/spec";
import {
  advertiseKeys,
  answerUnmasking,
  createRoundSecrets,
  maskDelta,
  openShare,
  shareSecrets,
  signMessage,
  type EncryptedShare,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SiteRoundSecrets,
} from "../../node/secagg";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import {
  commitAndSign,
  createTask,
  deltaFor,
  deployConsortium,
  genesisFor,
  startTestAggregator,
  until,
  upload,
} from "./fixture";

const PARAMS = { threshold: 2, scaleBits: 16, clip: 1 };
const METRICS: Metrics = { numTrain: 10 };

function secureSpec(): ModelSpec {
  const base = defaultSpec();
  return defaultSpec({ dim: 4, features: { ...base.features, buckets: 64 }, secureAggregation: PARAMS });
}

interface TestSite {
  signer: HardhatEthersSigner;
  secrets: SiteRoundSecrets;
  ad: KeyAdvertisement;
  held: HeldShare[];
}

describe("aggregator: secure aggregation over HTTP", function () {
  const spec = secureSpec();
  const genesis = genesisFor(spec);
  let sites: HardhatEthersSigner[];
  let outsider: HardhatEthersSigner;
  let registry: ConsortiumRegistry;
  let ledger: TrainingLedger;
  let task: bigint;
  let dir: string;
  let service: AggregatorService;
  let chainId: bigint;
  let start: (pollIntervalMs?: number) => Promise<AggregatorService>;
  const logged: Record<string, unknown>[] = [];

  const base = (round: number) => `/tasks/${task}/rounds/${round}/secagg`;
  const call = (method: "GET" | "PUT", where: string, body?: unknown, raw?: string) =>
    requestAggregatorJson(service.url, where, {
      retries: 0,
      passStatuses: [401, 403, 404, 409, 413, 422],
      init:
        method === "GET"
          ? undefined
          : {
              method,
              headers: { "content-type": "application/json" },
              body: raw ?? JSON.stringify(body),
            },
    });
  const context = (round: number): SecAggContext => ({
    chainId,
    ledger: ledger.target as string,
    taskId: task,
    round,
  });

  before(async function () {
    const signers = await ethers.getSigners();
    const [admin, aggregator] = [signers[0], signers[3]];
    sites = signers.slice(5, 8);
    outsider = signers[9];
    ({ registry, ledger } = await deployConsortium(admin, await aggregator.getAddress(), sites));
    task = await createTask(ledger, spec, genesis, { minSites: 1, windowSeconds: 600, rounds: 2 });
    chainId = (await ethers.provider.getNetwork()).chainId;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-secagg-"));
    start = (pollIntervalMs = 20) =>
      startTestAggregator({
        pollIntervalMs,
        ledger: ledger.connect(aggregator),
        registry,
        taskId: task,
        spec,
        genesis,
        store: dir,
        uploadGraceSeconds: 2,
        log: (level, event, fields) => logged.push({ level, event, ...fields }),
      });
    service = await start();
    await until("round 1", async () => ((await ledger.getTask(task)).currentRound === 1n ? true : undefined));
  });
  after(async function () {
    await service?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("runs a round from advertisements to the finalised model, refusing every bad message on the way", async function () {
    // The driver polls once a minute here: the round closes within the test only because every accepted
    // upload and the last answer wake it (no nudge may be lost).
    await service.stop();
    service = await start(60_000);
    const c = context(1);
    const test: TestSite[] = [];
    for (const signer of sites) {
      const secrets = createRoundSecrets(signer.address);
      test.push({ signer, secrets, ad: await advertiseKeys(c, secrets, signer), held: [] });
    }
    // Advertisements: malformed, signed by another key, and a second set of keys are refused.
    expect((await call("PUT", `${base(1)}/advertisement`, { site: sites[0].address })).body).to.include({
      error: "bad_message",
    });
    expect((await call("PUT", `${base(1)}/advertisement`, undefined, "{not json")).body).to.include({
      error: "bad_message",
    });
    const forged = {
      ...test[0].ad,
      signature: (await advertiseKeys(c, test[0].secrets, outsider)).signature,
    };
    expect((await call("PUT", `${base(1)}/advertisement`, forged)).status).to.equal(401);
    const strangerSecrets = createRoundSecrets(outsider.address);
    const stranger = await advertiseKeys(c, strangerSecrets, outsider);
    expect((await call("PUT", `${base(1)}/advertisement`, stranger)).body).to.include({
      error: "not_active_site",
    });
    expect((await call("PUT", `${base(1)}/advertisement`, test[0].ad)).status).to.equal(201);
    const other = await advertiseKeys(c, createRoundSecrets(sites[0].address), sites[0]);
    expect((await call("PUT", `${base(1)}/advertisement`, other)).body).to.include({ error: "duplicate" });
    expect((await call("PUT", `${base(1)}/advertisement`, test[0].ad)).status).to.equal(200);
    // The stage waits for every Active site; shares before it closes are refused as pending.
    expect((await call("GET", `${base(1)}/advertisements`)).body).to.include({ ready: false });
    expect(
      (
        await call("PUT", `${base(1)}/shares`, {
          from: sites[0].address,
          shares: [],
          signature: test[0].ad.signature,
        })
      ).body,
    ).to.include({
      error: "bad_signature",
    });
    const early = { from: sites[0].address, shares: [] };
    const earlySigned = { ...early, signature: await signMessage(c, sites[0], "shares", early) };
    expect((await call("PUT", `${base(1)}/shares`, earlySigned)).body).to.include({ error: "stage_pending" });
    for (const s of test.slice(1))
      expect((await call("PUT", `${base(1)}/advertisement`, s.ad)).status).to.equal(201);
    const listed = (await call("GET", `${base(1)}/advertisements`)).body as {
      advertisements: KeyAdvertisement[];
    };
    expect(listed.advertisements.map((a) => a.site).sort()).to.deep.equal(sites.map((s) => s.address).sort());
    expect((await call("PUT", `${base(1)}/advertisement`, stranger)).body).to.include({
      error: "not_active_site",
    });

    // Shares: one for each other advertiser, signed; a missing recipient and an outsider are refused.
    const ads = listed.advertisements;
    const sent: EncryptedShare[][] = [];
    for (const s of test) {
      const { encrypted, own } = shareSecrets(c, PARAMS, s.secrets, ads);
      s.held.push(own);
      sent.push(encrypted);
    }
    const sharesOf = async (i: number, shares: EncryptedShare[], signer = test[i].signer) => {
      const body = { from: test[i].signer.address, shares };
      return call("PUT", `${base(1)}/shares`, {
        ...body,
        signature: await signMessage(c, signer, "shares", body),
      });
    };
    expect((await sharesOf(0, sent[0].slice(1))).body).to.include({ error: "bad_message" });
    expect((await sharesOf(0, sent[0], outsider)).status).to.equal(401);
    const outsiderBody = { from: outsider.address, shares: [] };
    const outsiderShares = await call("PUT", `${base(1)}/shares`, {
      ...outsiderBody,
      signature: await signMessage(c, outsider, "shares", outsiderBody),
    });
    expect(outsiderShares.body).to.include({ error: "not_in_round" });
    for (let i = 0; i < 3; i++) expect((await sharesOf(i, sent[i])).status).to.equal(201);
    expect((await sharesOf(0, sent[0])).status, "an exact repeat is accepted").to.equal(200);
    // A share is tampered with in transit: the recipient refuses it and the round goes on.
    for (const s of test) {
      const relayed = (await call("GET", `${base(1)}/shares/${s.signer.address}`)).body as {
        ready: boolean;
        sharedSites: string[];
        shares: EncryptedShare[];
      };
      expect(relayed.ready).to.equal(true);
      expect(relayed.sharedSites).to.have.length(3);
      expect(relayed.shares).to.have.length(2);
      for (const share of relayed.shares) s.held.push(openShare(c, s.secrets, ads, share));
    }
    const tampered = { ...sent[1][0], ciphertext: `${sent[1][0].ciphertext.slice(0, -2)}00` };
    const to = test.find((t) => t.signer.address === tampered.to) as TestSite;
    expect(() => openShare(c, to.secrets, ads, tampered)).to.throw(/fails to decrypt/);
    const elsewhere = test.find((t) => t.signer.address !== tampered.to && t !== test[1]) as TestSite;
    expect(() => openShare(c, elsewhere.secrets, ads, sent[1][0])).to.throw(/delivered to/);

    // Masked uploads: each commits the hash of its masked bytes and uploads them.
    const layout = expectedTensors(spec);
    const deltas = [1, 2, 3].map((seed) => deltaFor(spec, seed));
    for (const [i, s] of test.entries()) {
      const masked = maskDelta(c, PARAMS, 1, s.secrets, ads, deltas[i], layout, 10 + i, Math.random);
      const signed = await commitAndSign(s.signer, ledger, chainId, task, 1, masked, BigInt(10 + i), METRICS);
      const result = await upload(service.url, task, 1, signed);
      expect(result.created).to.equal(true);
    }

    // Unmasking: every site committed, so nothing is dropped; an outsider's answer is refused.
    const request = await until("the unmasking request", async () => {
      const { body } = await call("GET", `${base(1)}/unmasking`);
      return (body as { ready: boolean }).ready
        ? (body as { survivors: string[]; dropped: string[] })
        : undefined;
    });
    expect(request.dropped).to.deep.equal([]);
    const answers = test.map((s) =>
      answerUnmasking(
        PARAMS,
        s.secrets,
        s.held,
        ads.map((a) => a.site),
        request,
        () => true,
      ),
    );
    const fake = { ...answers[0], from: outsider.address };
    const fakeSigned = { answer: fake, signature: await signMessage(c, outsider, "answer", fake) };
    expect((await call("PUT", `${base(1)}/unmasking`, fakeSigned)).body).to.include({
      error: "not_in_round",
    });
    const unsigned = { answer: answers[0], signature: await signMessage(c, outsider, "answer", answers[0]) };
    expect((await call("PUT", `${base(1)}/unmasking`, unsigned)).status).to.equal(401);
    const relayedBefore = (await call("GET", `${base(1)}/advertisements`)).body;
    for (const [i, a] of answers.entries()) {
      const signed = { answer: a, signature: await signMessage(c, test[i].signer, "answer", a) };
      expect((await call("PUT", `${base(1)}/unmasking`, signed)).status).to.equal(201);
      if (i === 0) {
        // The aggregator is stopped mid-unmasking and started again on the same store: it relays the same
        // stages, keeps the answer it had, and finishes the round.
        await service.stop();
        service = await start(60_000);
        expect((await call("GET", `${base(1)}/advertisements`)).body).to.deep.equal(relayedBefore);
        expect((await call("PUT", `${base(1)}/unmasking`, signed)).status).to.equal(200);
      }
    }

    const finalized = await until("round 1 finalised", async () => {
      const events = await ledger.queryFilter(ledger.filters.RoundUnmasked(task, 1));
      return events[0];
    });
    const round = await ledger.getRound(task, 1);
    expect(round.includedCount).to.equal(3n);
    const model = await fetch(`${service.url}/models/${round.modelHash}`).then(async (r) =>
      Buffer.from(await r.arrayBuffer()),
    );
    const plain = await fedAvgAggregate(
      genesis,
      sites.map((s, i) => ({ site: s.address, numSamples: 10 + i, bytes: async () => deltas[i] })),
    );
    const [a, b] = [decodeModel(model), decodeModel(plain)];
    let max = 0;
    a.forEach((t, i) => t.data.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i].data[j])))));
    expect(max).to.be.below(2 ** -12);
    const material = (await fetch(`${service.url}/models/${finalized.args.unmaskingHash}`).then((r) =>
      r.json(),
    )) as { survivors: string[]; dropped: string[] };
    expect(material.survivors).to.have.length(3);
    expect(material.dropped).to.deep.equal([]);
    // Every refusal was logged with its code, and no log line carries a message's content.
    const codes = new Set(logged.filter((l) => l.event === "secagg_message_rejected").map((l) => l.error));
    for (const code of [
      "bad_message",
      "bad_signature",
      "not_active_site",
      "duplicate",
      "stage_pending",
      "not_in_round",
    ])
      expect(codes.has(code), code).to.equal(true);
    const text = JSON.stringify(logged, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    for (const share of sent.flat()) expect(text.includes(share.ciphertext.slice(2, 40))).to.equal(false);
    // The next test drives its round by the poll again.
    await service.stop();
    service = await start();
  });

  it("aborts with reason 3 when fewer survivors than the threshold remain", async function () {
    await until("round 2", async () => ((await ledger.getTask(task)).currentRound === 2n ? true : undefined));
    const c = context(2);
    const test: TestSite[] = [];
    for (const signer of sites) {
      const secrets = createRoundSecrets(signer.address);
      test.push({ signer, secrets, ad: await advertiseKeys(c, secrets, signer), held: [] });
      await call("PUT", `${base(2)}/advertisement`, test.at(-1)?.ad);
    }
    const ads = (
      (await call("GET", `${base(2)}/advertisements`)).body as { advertisements: KeyAdvertisement[] }
    ).advertisements;
    for (const s of test) {
      const { encrypted } = shareSecrets(c, PARAMS, s.secrets, ads);
      const body = { from: s.signer.address, shares: encrypted };
      await call("PUT", `${base(2)}/shares`, {
        ...body,
        signature: await signMessage(c, s.signer, "shares", body),
      });
    }
    // Only the first site uploads; the others drop out after sharing.
    const masked = maskDelta(
      c,
      PARAMS,
      1,
      test[0].secrets,
      ads,
      deltaFor(spec, 9),
      expectedTensors(spec),
      10,
      Math.random,
    );
    await upload(
      service.url,
      task,
      2,
      await commitAndSign(sites[0], ledger, chainId, task, 2, masked, 10n, METRICS),
    );
    await time.increase(601);
    const aborted = await until("round 2 aborted", async () => {
      const events = await ledger.queryFilter(ledger.filters.RoundAborted(task, 2));
      return events[0];
    });
    expect(aborted.args.reason).to.equal(3n);
    expect((await call("GET", `${base(2)}/unmasking`)).body).to.include({ ready: false });
  });
});
