/**
 * The aggregator's off-chain ledger (benchmarks only) follows the TrainingLedger's round rules: who may
 * commit and until when, when a round may be finalised or aborted, and which base a round starts from.
 */
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { devAccountAddress } from "../../node/chain/devAccounts";
import { OffChainCommitError, OffChainLedger } from "../../scripts/offLedger/ledger";
import { commitLeaf } from "../../node/fl/merkle";

const h = (byte: string) => `0x${byte.repeat(32)}`;

async function rejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected a refusal matching ${message}`);
}

describe("off-chain ledger (benchmarks)", function () {
  const [site1, site2, stranger] = ["site1", "site2", "site3"].map(devAccountAddress);
  let now = 1_000;
  const ledger = () =>
    new OffChainLedger({
      task: {
        taskId: 1n,
        specHash: h("11"),
        genesisModelHash: h("22"),
        minSitesPerRound: 1,
        commitWindowSeconds: 60,
        roundsPlanned: 2,
      },
      sites: [site1, site2],
      aggregator: devAccountAddress("aggregator"),
      ledgerAddress: devAccountAddress("admin1"),
      now: () => now,
    });
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      if (err instanceof OffChainCommitError) return err.refusal;
      throw err;
    }
    return undefined;
  };

  beforeEach(function () {
    now = 1_000;
  });

  it("takes one commit per active site while the window is open, and records its leaf", async function () {
    const l = ledger();
    expect(refusal(() => l.commit(1n, 1, site1, h("33"), 5n, h("44")))).to.equal("round_not_open");
    await l.openRound(1n, h("22"));
    expect(refusal(() => l.commit(1n, 1, stranger, h("33"), 5n, h("44")))).to.equal("not_active_site");
    l.commit(1n, 1, site1, h("33"), 5n, h("44"));
    expect(refusal(() => l.commit(1n, 1, site1, h("33"), 5n, h("44")))).to.equal("already_committed");
    expect(await l.commitLeaves(1n, 1, [site1, site2])).to.deep.equal([
      commitLeaf(site1, h("33"), 5n),
      ZeroHash,
    ]);
    now += 60;
    expect(refusal(() => l.commit(1n, 1, site2, h("35"), 5n, h("44")))).to.equal("commit_window_closed");
    expect((await l.round(1n, 1)).commitCount).to.equal(1);
  });

  it("finalises only when every site committed or the deadline passed, then starts from the new model", async function () {
    const l = ledger();
    await l.openRound(1n, h("22"));
    l.commit(1n, 1, site1, h("33"), 5n, h("44"));
    await rejects(
      l.finalizeRound(1n, 1, {
        modelHash: h("55"),
        updatesRoot: h("66"),
        includedCount: 1,
        metricsHash: ZeroHash,
      }),
      /still open/,
    );
    await rejects(l.abortRound(1n, 1, 1), /deadline/);
    l.commit(1n, 1, site2, h("34"), 5n, h("44"));
    await rejects(
      l.finalizeRound(1n, 1, {
        modelHash: h("55"),
        updatesRoot: h("66"),
        includedCount: 3,
        metricsHash: ZeroHash,
      }),
      /outside/,
    );
    await l.finalizeRound(1n, 1, {
      modelHash: h("55"),
      updatesRoot: h("66"),
      includedCount: 2,
      metricsHash: ZeroHash,
    });
    expect((await l.task(1n))?.latestModelHash).to.equal(h("55"));
    await rejects(l.openRound(1n, h("22")), /latest model/);
    await l.openRound(1n, h("55"));
    now += 61;
    await l.abortRound(1n, 2, 1);
    expect((await l.round(1n, 2)).status).to.equal("Aborted");
    await rejects(l.openRound(1n, h("55")), /all 2 rounds/);
  });
});
