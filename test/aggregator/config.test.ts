import path from "node:path";
import { expect } from "chai";
import { DEFAULT_AGGREGATOR_PORT, parseAggregatorConfig } from "../../node/aggregator/config";
import { UsageError } from "../../node/errors";

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
    expect(err).to.be.instanceOf(UsageError);
    return (err as UsageError).message;
  }
  return "valid";
}

describe("aggregator config", function () {
  it("fills defaults and resolves paths against the config's directory", function () {
    const c = parseAggregatorConfig(
      { ...base, signer: { keystore: "keys/agg.json", passwordEnv: "AGG_PASSWORD" }, taskId: "12" },
      "/cfg",
    );
    expect(c.taskId).to.equal(12n);
    expect(c.ledger).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(c.listen).to.deep.equal({ host: "127.0.0.1", port: DEFAULT_AGGREGATOR_PORT });
    expect([c.maxUploadBytes, c.pollIntervalMs, c.uploadGraceSeconds]).to.deep.equal([
      64 * 1024 * 1024,
      2000,
      30,
    ]);
    expect([c.modelSpec, c.genesisModel, c.storeDir]).to.deep.equal(
      ["/cfg/spec.json", "/cfg/genesis.flm", "/cfg/store"].map((p) => path.resolve(p)),
    );
    expect(c.signer).to.deep.equal({
      keystore: path.resolve("/cfg/keys/agg.json"),
      passwordEnv: "AGG_PASSWORD",
    });
  });

  it("names the first wrong field", function () {
    expect(problem({ ...base, taskId: 0 })).to.match(/agg\.json is invalid: taskId/);
    expect(problem({ ...base, listen: { port: 70000 } })).to.match(/listen\.port/);
    expect(problem({ ...base, ledger: "0x12" })).to.match(/ledger: must be a 0x-prefixed 20-byte address/);
    expect(problem({ ...base, registry: undefined })).to.match(/both ledger and registry/);
    expect(problem({ ...base, ledger: undefined, registry: undefined })).to.match(
      /deployment file or the ledger/,
    );
    expect(problem({ ...base, deployment: "d.json" })).to.match(/not both/);
    expect(problem({ ...base, rpc: undefined })).to.match(/rpc is required/);
    expect(problem({ ...base, portt: 1 })).to.match(/portt/);
    expect(problem({ ...base, signer: { keystore: "k.json", devAccount: "aggregator" } })).to.match(/signer/);
    expect(problem({ ...base, signer: { keystore: "k.json", passwordEnv: "not valid" } })).to.match(/signer/);
    expect(problem({ ...base, maxUploadBytes: 10 })).to.match(/maxUploadBytes/);
  });
});
