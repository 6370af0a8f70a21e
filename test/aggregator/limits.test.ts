/**
 * The limits that keep hostile clients from wrecking the aggregator, at function level: the config's
 * documented defaults and checks, the in-flight byte budget, and the sample-count and norm limits shared by
 * the upload path and the round driver.
 */
import { expect } from "chai";
import { DEFAULT_HTTP, DEFAULT_LIMITS, parseAggregatorConfig } from "../../node/aggregator/config";
import { ApiError } from "../../node/aggregator/apiError";
import { isLoopbackHost } from "../../node/aggregator/service";
import { UploadBudget } from "../../node/aggregator/uploadBudget";
import {
  sampleCountProblem,
  updateLimitsFor,
  updateNorm,
  updateNormProblem,
} from "../../node/aggregator/updateLimits";
import { encodeModel, readModelHeader } from "../../node/model/format";

const base = {
  rpc: "http://127.0.0.1:8545",
  ledger: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  signer: { devAccount: "aggregator" },
  taskId: 1,
  modelSpec: "spec.json",
  genesisModel: "genesis.flm",
  storeDir: "store",
};

function problem(value: unknown): string {
  try {
    parseAggregatorConfig(value, "/cfg", "agg.json");
  } catch (err) {
    return (err as Error).message;
  }
  return "valid";
}

describe("aggregator limits", function () {
  it("fills the documented defaults of the limits and HTTP settings", function () {
    const c = parseAggregatorConfig(base, "/cfg");
    expect(c.http).to.deep.equal({
      requestTimeoutMs: 300_000,
      headersTimeoutMs: 20_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 256,
    });
    expect(c.http).to.deep.equal({ ...DEFAULT_HTTP });
    expect([
      c.maxUploadBytesInFlight,
      c.maxUploadBytesInFlightPerSite,
      c.retryAfterSeconds,
      c.maxNumSamples,
      c.maxUpdateNorm,
      c.maxRetryDelayMs,
    ]).to.deep.equal([256 << 20, 128 << 20, 5, 1_000_000, 1e6, 60_000]);
    expect(c.maxNumSamples).to.equal(DEFAULT_LIMITS.maxNumSamples);
    expect(parseAggregatorConfig({ ...base, maxUpdateNorm: null }, "/cfg").maxUpdateNorm).to.equal(null);
  });

  it("refuses limits that cannot work together", function () {
    expect(problem({ ...base, maxUploadBytesInFlightPerSite: 1 << 20 })).to.match(
      /maxUploadBytesInFlightPerSite: must be at least maxUploadBytes/,
    );
    expect(problem({ ...base, maxUploadBytesInFlight: 100 << 20 })).to.match(
      /maxUploadBytesInFlight: must be/,
    );
    expect(problem({ ...base, http: { headersTimeoutMs: 60_000, requestTimeoutMs: 30_000 } })).to.match(
      /http\.headersTimeoutMs/,
    );
    expect(problem({ ...base, http: { maxConnections: 0 } })).to.match(/http\.maxConnections/);
    expect(problem({ ...base, maxNumSamples: 0 })).to.match(/maxNumSamples/);
    expect(problem({ ...base, maxUpdateNorm: -1 })).to.match(/maxUpdateNorm/);
  });

  it("caps upload bytes in flight in total and per site, and gives them back once", function () {
    const budget = new UploadBudget({ total: 100, perSite: 60, retryAfterSeconds: 3 });
    const a = budget.reserve("0xA", 60);
    const busy = (site: string, n: number) => {
      try {
        budget.reserve(site, n);
      } catch (err) {
        expect(err).to.be.instanceOf(ApiError);
        expect([
          (err as ApiError).code,
          (err as ApiError).status,
          (err as ApiError).retryAfterSeconds,
        ]).to.deep.equal(["busy", 503, 3]);
        return (err as ApiError).message;
      }
      return "reserved";
    };
    expect(busy("0xa", 1)).to.match(/cap per site is 60/);
    expect(busy("0xB", 41)).to.match(/the cap is 100/);
    const b = budget.reserve("0xB", 40);
    expect(budget.bytesInFlight).to.equal(100);
    a();
    a();
    expect(budget.bytesInFlight).to.equal(40);
    expect(busy("0xA", 60)).to.equal("reserved");
    b();
  });

  it("refuses a sample count above the maximum, from one function the driver shares", function () {
    const limits = updateLimitsFor(1n);
    expect(limits).to.deep.equal({ maxNumSamples: 1_000_000n, maxUpdateNorm: 1e6 });
    expect(sampleCountProblem(1_000_000n, limits)).to.equal(undefined);
    expect(sampleCountProblem(1n << 60n, limits)?.code).to.equal("too_many_samples");
    expect(updateLimitsFor(1n, { maxNumSamples: 10, maxUpdateNorm: null })).to.deep.equal({
      maxNumSamples: 10n,
      maxUpdateNorm: null,
    });
  });

  it("measures the L2 norm of an update and refuses one above the bound", function () {
    const bytes = encodeModel([
      { name: "a", dtype: "float32", shape: [2], data: Float32Array.from([3, 0]) },
      { name: "b", dtype: "float32", shape: [1], data: Float32Array.from([4]) },
    ]);
    const norm = updateNorm(bytes, readModelHeader(bytes));
    expect(norm).to.equal(5);
    expect(updateNormProblem(norm, { maxNumSamples: 1n, maxUpdateNorm: 5 })).to.equal(undefined);
    expect(updateNormProblem(norm, { maxNumSamples: 1n, maxUpdateNorm: 4.9 })?.code).to.equal(
      "norm_too_large",
    );
    expect(updateNormProblem(1e30, { maxNumSamples: 1n, maxUpdateNorm: null })).to.equal(undefined);
  });

  it("tells loopback from other listen addresses", function () {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
      expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.5", "aggregator.example"])
      expect(isLoopbackHost(h), h).to.equal(false);
  });
});
