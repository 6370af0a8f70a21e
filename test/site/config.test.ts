import path from "node:path";
import { writeFile } from "node:fs/promises";
import { expect } from "chai";
import { UsageError } from "../../node/errors";
import { loadSiteConfig, parseSiteConfig, splitNotes, type SiteConfig } from "../../node/site";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";

const VALID = {
  signer: { devAccount: "site1" },
  deployment: "deployment.json",
  aggregator: "http://127.0.0.1:8760",
  tasks: [{ id: 1, modelSpec: "spec.json" }],
  data: ["notes.jsonl"],
  stateDir: "state",
};

function refusal(value: unknown): UsageError {
  try {
    parseSiteConfig(value, "/srv/site", "site.json");
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected the config to be refused");
}

function without(key: keyof typeof VALID): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...VALID };
  delete copy[key];
  return copy;
}

describe("site config", function () {
  it("accepts a minimal config, fills defaults and resolves paths against the config's folder", function () {
    const c: SiteConfig = parseSiteConfig(VALID, "/srv/site");
    expect(c.deployment).to.equal("/srv/site/deployment.json");
    expect(c.tasks).to.deep.equal([
      { id: 1n, modelSpec: "/srv/site/spec.json", aggregator: VALID.aggregator },
    ]);
    expect(c.data).to.deep.equal(["/srv/site/notes.jsonl"]);
    expect(c.stateDir).to.equal("/srv/site/state");
    expect(c).to.include({
      validationShare: 0.2,
      pollIntervalMs: 2000,
      keepRunning: false,
      skipInvalidNotes: false,
    });
    expect(c.training).to.deep.equal({ seed: 1 });
  });

  it("takes addresses instead of a deployment file, and a per-task aggregator", function () {
    const c = parseSiteConfig(
      {
        ...without("deployment"),
        rpc: "http://127.0.0.1:8545",
        chainId: 31337,
        ledger: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        tasks: [{ id: "7", modelSpec: "/abs/spec.json", aggregator: "https://agg.example.org/" }],
      },
      "/srv/site",
    );
    expect(c.ledger).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(c.tasks[0]).to.deep.equal({
      id: 7n,
      modelSpec: "/abs/spec.json",
      aggregator: "https://agg.example.org/",
    });
  });

  it("names a missing field and what to put there", function () {
    const err = refusal(without("stateDir"));
    expect(err.message).to.equal("site.json is invalid: stateDir: is missing");
    expect(err.hint).to.match(/Set "stateDir"/);
    expect(refusal(without("aggregator")).message).to.match(
      /tasks\.0\.aggregator: no aggregator URL: set the top-level aggregator or this task's aggregator/,
    );
    expect(refusal(without("deployment")).message).to.match(
      /deployment: give a deployment file or the ledger and registry addresses/,
    );
  });

  it("refuses a malformed address, URL, task id or number", function () {
    const bad = { ...without("deployment"), rpc: "http://127.0.0.1:8545", registry: VALID.aggregator };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...bad, ledger: "0x1234" }, /ledger: must be a 0x-prefixed 20-byte address/],
      [{ ...VALID, aggregator: "ftp://agg" }, /aggregator: must be an http:\/\/ or https:\/\/ URL/],
      [{ ...VALID, tasks: [{ id: 0, modelSpec: "s.json" }] }, /tasks\.0\.id: must be a positive integer/],
      [{ ...VALID, validationShare: 0.95 }, /validationShare: Too big/],
      [{ ...VALID, training: { epochs: 1.5 } }, /training\.epochs: /],
      [{ ...VALID, tasks: [] }, /tasks: list at least one task/],
    ];
    for (const [value, message] of cases) expect(refusal(value).message).to.match(message);
    expect(refusal({ ...bad, ledger: "0x1234" }).hint).to.match(/"ledger" and "registry"/);
  });

  it("refuses unknown fields, a task listed twice, and a signer that is neither or both", function () {
    expect(refusal({ ...VALID, stateDirectory: "x" }).message).to.match(
      /unknown field\(s\) "stateDirectory"/,
    );
    expect(
      refusal({ ...VALID, tasks: [VALID.tasks[0], { id: "1", modelSpec: "other.json" }] }).message,
    ).to.match(/tasks\.1\.id: task 1 is listed twice/);
    expect(refusal({ ...VALID, signer: {} }).message).to.match(
      /signer: give exactly one of keystore and devAccount/,
    );
    expect(refusal({ ...VALID, signer: { devAccount: "site1", keystore: "k.json" } }).message).to.match(
      /signer: give exactly one/,
    );
    expect(refusal({ ...VALID, signer: { devAccount: "site1", passwordFile: "p" } }).message).to.match(
      /passwordFile and passwordEnv belong to a keystore/,
    );
  });

  it("reads a file, and names a missing file or bad JSON", async function () {
    const dir = await makeTempDir();
    try {
      const file = path.join(dir, "site.json");
      await writeFile(file, JSON.stringify(VALID));
      expect((await loadSiteConfig(file)).stateDir).to.equal(path.join(dir, "state"));
      await writeFile(file, "{ not json");
      let err: unknown;
      await loadSiteConfig(file).catch((e: unknown) => (err = e));
      expect((err as Error).message).to.match(/site\.json is not valid JSON/);
      err = undefined;
      await loadSiteConfig(path.join(dir, "none.json")).catch((e: unknown) => (err = e));
      expect((err as Error).message).to.match(/cannot read the site config .*none\.json: no such file/);
    } finally {
      await removeTempDir(dir);
    }
  });

  it("the CLI prints a config error on one line and exits with code 2", async function () {
    const dir = await makeTempDir();
    try {
      const file = path.join(dir, "site.json");
      await writeFile(file, JSON.stringify({ ...VALID, registry: "0xnope" }));
      const res = await runCli(["site", "run", "--config", file]);
      expect(res.code).to.equal(2);
      expect(res.stdout).to.equal("");
      expect(res.stderr.trim().split("\n")).to.have.length(1);
      expect(res.stderr).to.match(
        /^error: the site config .*site\.json is invalid: registry: must be a 0x-prefixed/,
      );
    } finally {
      await removeTempDir(dir);
    }
  });
});

describe("validation split", function () {
  const notes = Array.from({ length: 50 }, (_, i) => ({ id: `n${i}` }));

  it("keeps the share apart, the same way for the same seed, whatever the file order", function () {
    const a = splitNotes(notes, 0.2, 3);
    expect(a.validation).to.have.length(10);
    expect(a.train).to.have.length(40);
    const b = splitNotes([...notes].reverse(), 0.2, 3);
    expect(b.validation.map((n) => n.id).sort()).to.deep.equal(a.validation.map((n) => n.id).sort());
    const c = splitNotes(notes, 0.2, 4);
    expect(c.validation.map((n) => n.id)).to.not.deep.equal(a.validation.map((n) => n.id));
  });

  it("keeps at least one note on each side, and refuses when none is left to train on", function () {
    expect(splitNotes(notes.slice(0, 2), 0.1, 1).validation).to.have.length(1);
    expect(splitNotes(notes.slice(0, 3), 0, 1).validation).to.have.length(0);
    expect(() => splitNotes([], 0.2, 1)).to.throw(/no training notes/);
  });
});
