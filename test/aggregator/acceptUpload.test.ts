/**
 * The acceptance rules' gates around aggregation, at function level (a process adds nothing to a race inside
 * one call): a sealed round refuses an upload before its body is read, a round sealed while the body streams
 * refuses it at admission and stores no record, and an upload that finds another update of the same site
 * stored at admission (a concurrent upload won) is refused as a duplicate and does not replace it.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import { acceptUpload, type AcceptUploadDependencies } from "../../node/aggregator/acceptUpload";
import { ApiError } from "../../node/aggregator/apiError";
import type { UploadEnvelope } from "../../node/aggregator/envelope";
import type { AggregatorLedger, UploadContext } from "../../node/aggregator/ledgerPort";
import { RoundGates } from "../../node/aggregator/roundGates";
import { updateLimitsFor } from "../../node/aggregator/updateLimits";
import { commitLeaf, metricsHash, signUpdate } from "../../node/fl";
import { expectedTensors } from "../../node/model/params";
import { ContentStore } from "../../node/store";
import { deltaFor, sha256, tinySpec } from "./fixture";

const CHAIN_ID = 31337n;
const LEDGER = "0x00000000000000000000000000000000000000aa";
const TASK = 1n;
const spec = tinySpec();

/** A site's signed envelope for `bytes` in round 1. */
async function envelopeFor(
  site: Signer & { address: string },
  bytes: Uint8Array,
  numSamples = 10n,
): Promise<UploadEnvelope> {
  const metrics = { loss: 1 };
  const updateHash = sha256(bytes);
  const signature = await signUpdate(
    site,
    { chainId: CHAIN_ID, ledger: LEDGER },
    { taskId: TASK, round: 1, updateHash, numSamples, metricsHash: metricsHash(metrics) },
  );
  return {
    task: TASK,
    round: 1,
    site: site.address,
    updateHash,
    numSamples,
    metrics,
    metricsHash: metricsHash(metrics),
    signature,
  };
}

/** A ledger on which every site is Active, round 1 is Open and the envelope's update is what was committed. */
function ledgerCommitting(env: UploadEnvelope): AggregatorLedger {
  const context: UploadContext = {
    siteStatus: "Active",
    round: {
      round: 1,
      status: "Open",
      minSitesPerRound: 1,
      commitCount: 1,
      includedCount: 0,
      deadline: 2 ** 40,
      openedAtBlock: 1,
      baseModelHash: `0x${"11".repeat(32)}`,
      updatesRoot: `0x${"00".repeat(32)}`,
      modelHash: `0x${"00".repeat(32)}`,
    },
    leaf: commitLeaf(env.site, env.updateHash, env.numSamples),
    commit: {
      site: env.site,
      updateHash: env.updateHash,
      numSamples: env.numSamples,
      metricsHash: env.metricsHash,
      blockNumber: 2,
    },
  };
  return { uploadContext: async () => context } as unknown as AggregatorLedger;
}

async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected the upload to be refused");
}

describe("upload acceptance around aggregation (function level)", function () {
  let dir: string;
  let store: ContentStore;
  const site = Wallet.createRandom();

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-accept-"));
    store = await ContentStore.open(dir);
  });
  afterEach(async function () {
    await fs.rm(dir, { recursive: true, force: true });
  });

  function deps(env: UploadEnvelope, gates: RoundGates): AcceptUploadDependencies {
    return {
      taskId: TASK,
      chainId: CHAIN_ID,
      ledgerAddress: LEDGER,
      ledger: ledgerCommitting(env),
      store,
      gates,
      layout: expectedTensors(spec),
      limits: updateLimitsFor(TASK),
    };
  }

  it("accepts the upload when no gate is closed (the fixture itself is valid)", async function () {
    const bytes = deltaFor(spec, 1);
    const env = await envelopeFor(site, bytes);
    const accepted = await acceptUpload(deps(env, new RoundGates()), env, async () => bytes);
    expect(accepted.created).to.equal(true);
    expect((await store.listRound(TASK, 1)).map((r) => r.updateHash)).to.deep.equal([env.updateHash]);
  });

  it("refuses an upload to a sealed round with round_closed before reading its body", async function () {
    const bytes = deltaFor(spec, 1);
    const env = await envelopeFor(site, bytes);
    const gates = new RoundGates();
    await gates.seal(1);
    let bodyRead = false;
    const err = await refusal(
      acceptUpload(deps(env, gates), env, async () => {
        bodyRead = true;
        return bytes;
      }),
    );
    expect(err.code).to.equal("round_closed");
    expect(bodyRead, "the body must not be read").to.equal(false);
    expect(await store.listRound(TASK, 1)).to.deep.equal([]);
  });

  it("refuses with round_closed when the round is sealed while the body streams, storing no record", async function () {
    const bytes = deltaFor(spec, 1);
    const env = await envelopeFor(site, bytes);
    const gates = new RoundGates();
    const err = await refusal(
      acceptUpload(deps(env, gates), env, async () => {
        await gates.seal(1); // the driver seals the round meanwhile
        return bytes;
      }),
    );
    expect(err.code).to.equal("round_closed");
    expect(await store.listRound(TASK, 1), "the sealed round's uploads are unchanged").to.deep.equal([]);
  });

  it("refuses as duplicate an upload that finds another update of the site stored at admission", async function () {
    const bytes = deltaFor(spec, 1);
    const env = await envelopeFor(site, bytes);
    const winner = await envelopeFor(site, deltaFor(spec, 2));
    const err = await refusal(
      acceptUpload(deps(env, new RoundGates()), env, async () => {
        // A concurrent upload of another update by the same site is stored while this body streams.
        await store.putUpload({
          task: TASK.toString(),
          round: 1,
          site: winner.site,
          updateHash: winner.updateHash,
          numSamples: winner.numSamples.toString(),
          metrics: winner.metrics,
          metricsHash: winner.metricsHash,
          signature: winner.signature,
          receivedAt: new Date().toISOString(),
        });
        return bytes;
      }),
    );
    expect(err.code).to.equal("duplicate");
    const stored = await store.listRound(TASK, 1);
    expect(
      stored.map((r) => r.updateHash),
      "the first stored update stays",
    ).to.deep.equal([winner.updateHash]);
  });
});
