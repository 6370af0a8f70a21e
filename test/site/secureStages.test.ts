/**
 * A site's secure-aggregation stages (node/site/securePart.ts) against a hostile aggregator over real HTTP: the
 * relay (a small HTTP server in the test) tampers with one share and addresses another to the wrong site, and
 * lists a stranger's keys in another run. The site refuses each bad share with its own event and still masks its
 * update with the shares it holds; it sits the round out rather than use a stranger's keys; and it refuses an
 * unmasking request that would reveal a committed site's update.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import type { RoundInfo } from "../../node/chain";
import { encodeModel } from "../../node/model/format";
import { expectedTensors } from "../../node/model/params";
import { defaultSpec } from "../../node/model/spec";
import {
  advertiseKeys,
  createRoundSecrets,
  readMasked,
  shareSecrets,
  type EncryptedShare,
  type KeyAdvertisement,
  type SecAggContext,
} from "../../node/secagg";
import type { SiteEvent } from "../../node/site";
import type { SiteRuntime, SiteTask } from "../../node/site/runtime";
import { answerUnmaskingOnce, prepareMaskedUpdate, SecureRoundUnavailable } from "../../node/site/securePart";

const PARAMS = { threshold: 2, scaleBits: 16, clip: 1 };
const LEDGER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

/** A relay that answers the stages with what the test gives it. */
async function relay(answer: (method: string, url: string, body: unknown) => unknown) {
  const server = http.createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString("utf8")));
    req.on("end", () => {
      const body = answer(req.method ?? "", req.url ?? "", text ? JSON.parse(text) : undefined);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(body ?? { accepted: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("site: secure-aggregation stages against a hostile relay", function () {
  const spec = defaultSpec({
    dim: 4,
    features: { ...defaultSpec().features, buckets: 64 },
    secureAggregation: PARAMS,
  });
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const [me, peerA, peerB] = [40, 41, 42].map((i) =>
    HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`),
  );
  const round: RoundInfo = {
    round: 1,
    status: "Open",
    baseModelHash: `0x${"11".repeat(32)}`,
    deadline: Math.floor(Date.now() / 1000) + 600,
    openedAtBlock: 5,
    minSitesPerRound: 2,
    commitCount: 0,
    includedCount: 0,
    updatesRoot: `0x${"00".repeat(32)}`,
    modelHash: `0x${"00".repeat(32)}`,
  } as unknown as RoundInfo;
  const context: SecAggContext = { chainId: 31337n, ledger: LEDGER, taskId: 1n, round: 1 };
  const delta = encodeModel(
    expectedTensors(spec).map((t) => ({
      ...t,
      data: Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, (_, j) => (j % 5) * 0.001),
    })),
  );

  function runtime(
    events: SiteEvent[],
    active: (site: string) => boolean,
    committed: (s: string) => boolean,
  ) {
    return {
      site: me.address,
      signer: me as unknown as Wallet,
      chainId: 31337,
      ledgerAddress: LEDGER,
      pollIntervalMs: 50,
      secureRounds: new Map(),
      emit: (e: SiteEvent) => events.push(e),
      signal: new AbortController().signal,
      ledger: {
        siteStatus: async (s: string) => (active(s) ? "Active" : "None"),
        hasCommitted: async (_t: bigint, _r: number, s: string) => committed(s),
      },
    } as unknown as SiteRuntime;
  }
  const train = async () => ({
    bytes: delta,
    updateHash: "0x",
    numSamples: 10,
    metrics: { numTrain: 10 },
    metricsHash: "0x",
  });

  it("refuses a tampered and a misaddressed share, still masks, and refuses to reveal a committed site's key", async function () {
    const peerSecrets = [peerA, peerB].map((w) => createRoundSecrets(w.address));
    const peerAds = await Promise.all(
      peerSecrets.map((s, i) => advertiseKeys(context, s, [peerA, peerB][i])),
    );
    let mine: KeyAdvertisement | undefined;
    let relayed: EncryptedShare[] = [];
    const server = await relay((method, url, body) => {
      if (method === "PUT" && url.endsWith("/advertisement")) mine = body as KeyAdvertisement;
      if (url.endsWith("/advertisements"))
        return mine ? { ready: true, advertisements: [mine, ...peerAds] } : { ready: false, closesAt: 0 };
      if (method === "GET" && url.includes("/shares/")) {
        const ads = [mine as KeyAdvertisement, ...peerAds];
        const fromA = shareSecrets(context, PARAMS, peerSecrets[0], ads).encrypted;
        const fromB = shareSecrets(context, PARAMS, peerSecrets[1], ads).encrypted;
        const toMe = fromA.find((e) => e.to === me.address) as EncryptedShare;
        const tampered = { ...toMe, ciphertext: `${toMe.ciphertext.slice(0, -4)}0000` };
        const misaddressed = fromB.find((e) => e.to === peerA.address) as EncryptedShare;
        relayed = [tampered, misaddressed];
        return { ready: true, sharedSites: ads.map((a) => a.site), shares: relayed };
      }
      if (url.endsWith("/unmasking") && method === "GET")
        return { ready: true, survivors: [me.address, peerA.address], dropped: [peerB.address] };
      return undefined;
    });
    try {
      const events: SiteEvent[] = [];
      // peerB committed on the ledger: the relay's request to treat it as dropped must be refused.
      const rt = runtime(
        events,
        () => true,
        () => true,
      );
      const task: SiteTask = { id: 1n, spec, aggregator: server.url, roundsPlanned: 1, aggregationRule: 1 };
      const update = await prepareMaskedUpdate(rt, task, round, train);
      expect(readMasked(update.bytes, expectedTensors(spec), 1)).to.have.length(
        expectedTensors(spec).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
      );
      const refused = events.filter((e) => e.type === "secagg_share_refused") as Extract<
        SiteEvent,
        { type: "secagg_share_refused" }
      >[];
      expect(refused.map((e) => e.code).sort()).to.deep.equal(["share_misaddressed", "share_undecryptable"]);
      expect(JSON.stringify(events)).to.not.include(relayed[0].ciphertext.slice(2, 30));

      const done = await answerUnmaskingOnce(
        rt,
        task,
        { ...round, deadline: 0 },
        Math.floor(Date.now() / 1000),
      );
      expect(done).to.equal(true);
      const unmask = events.find((e) => e.type === "secagg_unmask_refused") as
        Extract<SiteEvent, { type: "secagg_unmask_refused" }> | undefined;
      expect(unmask?.code).to.equal("unmask_committed_site");
      expect(events.some((e) => e.type === "secagg_answered")).to.equal(false);
    } finally {
      await server.close();
    }
  });

  it("sits the round out when the relay lists the keys of a site that is not Active", async function () {
    const stranger = Wallet.createRandom();
    const strangerAd = await advertiseKeys(context, createRoundSecrets(stranger.address), stranger);
    let mine: KeyAdvertisement | undefined;
    const server = await relay((method, url, body) => {
      if (method === "PUT" && url.endsWith("/advertisement")) mine = body as KeyAdvertisement;
      if (url.endsWith("/advertisements")) return { ready: true, advertisements: [mine, strangerAd] };
      return undefined;
    });
    try {
      const rt = runtime(
        [],
        (s) => s !== stranger.address,
        () => false,
      );
      const task: SiteTask = { id: 1n, spec, aggregator: server.url, roundsPlanned: 1, aggregationRule: 1 };
      let error: unknown;
      try {
        await prepareMaskedUpdate(rt, task, round, train);
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SecureRoundUnavailable);
      expect((error as Error).message).to.match(/not an Active site/);
    } finally {
      await server.close();
    }
  });
});
