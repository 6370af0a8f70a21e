/**
 * The demo's pure parts: settings validation, the site plan, the round table and the per-round timings of the
 * ledger-overhead benchmark.
 */
import { expect } from "chai";
import { renderRoundTable } from "../../node/demo/display";
import { parseDemoSettings } from "../../node/demo/options";
import { roundTimings } from "../../node/demo/roundTimings";
import type { RoundProgress } from "../../node/demo/roundTracker";
import { planLanguages, planSites } from "../../node/demo/sitePlan";
import { UsageError } from "../../node/errors";

describe("demo parts", function () {
  it("fills the defaults and names the flag of a wrong setting", function () {
    const s = parseDemoSettings({ out: "demo-out" });
    expect(s).to.include({
      sites: 5,
      rounds: 5,
      localEpochs: 3,
      learningRate: 0.03,
      minSites: 5,
      keepRunning: false,
    });
    expect(() => parseDemoSettings({ sites: 31 })).to.throw(UsageError, /--sites is invalid/);
    expect(() => parseDemoSettings({ sites: 3, minSites: 4 })).to.throw(UsageError, /--min-sites 4 is more/);
    expect(() => parseDemoSettings({ rpc: "ftp://x" })).to.throw(UsageError, /unsupported RPC URL scheme/);
    expect(() => parseDemoSettings({ buckets: 1000 })).to.throw(UsageError, /--buckets is invalid/);
  });

  it("cycles the five Nordic languages over the sites, each with its own dev account", function () {
    const sites = planSites(7);
    expect(sites.map((s) => s.lang)).to.deep.equal(["nb", "sv", "da", "fi", "et", "nb", "sv"]);
    expect(sites.map((s) => s.account)).to.deep.equal([
      "site1",
      "site2",
      "site3",
      "site4",
      "site5",
      "site6",
      "site7",
    ]);
    expect(new Set(sites.map((s) => s.address)).size).to.equal(7);
    expect(sites[5].name).to.match(/Oslo demo hospital 2/);
    expect(planLanguages(sites)).to.deep.equal(["nb", "sv", "da", "fi", "et"]);
  });

  it("renders one table row per planned round with counts, state and model", function () {
    const round: RoundProgress = {
      round: 1,
      status: "Finalized",
      baseModelHash: `0x${"1".repeat(64)}`,
      deadline: 0,
      commits: new Map([
        ["a", "h1"],
        ["b", "h2"],
      ]),
      uploads: new Map([["a", "h1"]]),
      verified: 1,
      sealed: true,
      modelHash: `0x${"ab".repeat(32)}`,
      includedCount: 2,
      openedAt: 0,
      closedAt: 2_500,
    };
    const lines = renderRoundTable({ rounds: [round], done: false }, 3, 2, 10_000);
    expect(lines).to.have.length(4);
    expect(lines[2]).to.match(/^1\s+finalised\s+2\/3\s+1\/2\s+1\/1\s+done \(2\)\s+0xabab.*2\.5 s$/);
    expect(lines[3]).to.match(/^2\s+waiting$/);
  });

  it("splits a run into round spans and the ledger's share of each", function () {
    const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString();
    const aggregator = [
      { event: "round_opened", round: 1, time: at(10), ledgerSeconds: 0.5 },
      { event: "round_finalized", round: 1, time: at(20), ledgerSeconds: 0.25 },
      { event: "round_opened", round: 2, time: at(21), ledgerSeconds: 0.5 },
      { event: "round_aborted", round: 2, time: at(26), ledgerSeconds: 0.25 },
    ];
    const sites = [
      { event: "committed", round: 1, ms: 100 },
      { event: "committed", round: 1, ms: 300 },
      { event: "committed", round: 2, ms: 200 },
    ];
    expect(roundTimings(aggregator, sites)).to.deep.equal([
      { round: 1, seconds: 10.5, ledgerSeconds: 0.5 + 0.3 + 0.25 },
      { round: 2, seconds: 6, ledgerSeconds: 0.5 + 0.2 + 0.25 },
    ]);
  });
});
