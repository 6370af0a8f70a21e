/**
 * Errors never show absolute server paths or file contents: a corrupted store object names its place inside
 * the store, and a malformed JSON file (a config, a password file read as JSON) is described by the name the
 * user gave, the line and column, and what to do, without quoting a character of it.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadAggregatorConfig } from "../../node/aggregator/config";
import { UsageError } from "../../node/errors";
import { describeJsonSyntax, readJsonFile } from "../../node/jsonFile";
import { ContentStore, StoreCorruptionError } from "../../node/store";

async function thrown(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("errors that leak nothing", function () {
  let dir: string;
  const cwd = process.cwd();

  beforeEach(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-leak-"));
  });
  afterEach(async function () {
    process.chdir(cwd);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("a corrupted store object names its store path, not the absolute one", async function () {
    const store = await ContentStore.open(path.join(dir, "store"));
    const hash = await store.put(Buffer.from("model bytes"));
    await fs.writeFile(path.join(dir, "store", "objects", hash.slice(2)), "secret replacement");
    const err = await thrown(store.get(hash));
    expect(err).to.be.instanceOf(StoreCorruptionError);
    expect(err.message).to.include(`objects/${hash.slice(2)} in the store directory`);
    expect(err.message).not.to.include(dir);
    expect(err.message).not.to.include("secret");
    expect((err as StoreCorruptionError).file).to.equal(path.join(dir, "store", "objects", hash.slice(2)));
  });

  it("a corrupted upload record names its store path, not the absolute one", async function () {
    const store = await ContentStore.open(path.join(dir, "store"));
    const roundDir = path.join(dir, "store", "rounds", "1", "1");
    await fs.mkdir(roundDir, { recursive: true });
    const site = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    await fs.writeFile(path.join(roundDir, `${site}.json`), "{ not json: hunter2");
    const err = await thrown(store.listRound(1n, 1));
    expect(err.message).to.include(`rounds/1/1/${site}.json in the store directory`);
    expect(err.message).not.to.include(dir);
    expect(err.message).not.to.include("hunter2");
  });

  it("a file that is not JSON is named as given, with line and column, and its content is not echoed", async function () {
    process.chdir(dir);
    await fs.writeFile(path.join(dir, "password.json"), "correct horse battery staple\n");
    const err = await thrown(readJsonFile("password.json", "the deployment file"));
    expect(err).to.be.instanceOf(UsageError);
    expect(err.message).to.equal(
      "the deployment file password.json is not valid JSON: unexpected character (a value should start here) at line 1, column 1",
    );
    expect((err as UsageError).hint).to.match(/content is not shown/);
    for (const word of ["correct", "horse", "staple"])
      expect((err as UsageError).toLine()).not.to.include(word);
  });

  it("finds the line and column of common JSON mistakes without quoting them", function () {
    expect(describeJsonSyntax('{\n  "a": 1,\n  "b": 2,\n}')).to.deep.equal({
      line: 4,
      column: 1,
      problem: "expected a property name in double quotes",
    });
    expect(describeJsonSyntax('{"a": "sec\nret"}')?.problem).to.equal(
      "a control character (such as a line break) inside a string",
    );
    expect(describeJsonSyntax('{"a": 1} trailing')).to.deep.equal({
      line: 1,
      column: 10,
      problem: "unexpected text after the end of the JSON value",
    });
    expect(describeJsonSyntax('{"a": [1, 2')?.problem).to.equal("the file ends too early");
    expect(describeJsonSyntax("\uFEFF{}")?.problem).to.equal("the file starts with a byte-order mark");
    expect(describeJsonSyntax('{"a": [1, 2.5e3, -0, "x\\u00e9", true, false, null]}')).to.equal(undefined);
  });

  it("an unreadable file is reported without the operating system's message (which holds the path)", async function () {
    const err = await thrown(readJsonFile(dir, "the site config"));
    expect(err.message).to.equal(`cannot read the site config ${dir}: it is a directory`);
  });

  it("a malformed aggregator config names the file and the place, not the content", async function () {
    process.chdir(dir);
    await fs.writeFile(path.join(dir, "aggregator.json"), '{\n  "signer": { "passwordEnv": "S3CRET" \n');
    const err = await thrown(loadAggregatorConfig("aggregator.json"));
    expect(err.message).to.match(
      /^the aggregator config aggregator\.json is not valid JSON: .* at line 3, column 1$/,
    );
    expect(err.message).not.to.include("S3CRET");
    expect(err.message).not.to.include(dir);
  });
});
