import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ContentStore, StoreCorruptionError, type UploadRecord } from "../../node/store";

const SITE_A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SITE_B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

async function expectRejection(p: Promise<unknown>, type: new (...args: never[]) => Error, re: RegExp) {
  let error: unknown;
  try {
    await p;
  } catch (err) {
    error = err;
  }
  expect(error).to.be.instanceOf(type);
  expect((error as Error).message).to.match(re);
}

function record(site: string, updateHash: string, extra: Partial<UploadRecord> = {}): UploadRecord {
  return {
    task: "1",
    round: 2,
    site,
    updateHash,
    numSamples: "500",
    metrics: { loss: 0.5 },
    metricsHash: "0x" + "cd".repeat(32),
    signature: "0x" + "11".repeat(65),
    receivedAt: new Date(0).toISOString(),
    ...extra,
  };
}

describe("content-addressed store", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "fedledger-store-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("stores bytes under their SHA-256 and returns them verified", async () => {
    const store = await ContentStore.open(dir);
    const bytes = Buffer.from("model bytes");
    const hash = await store.put(bytes);
    expect(hash).to.equal("0x" + createHash("sha256").update(bytes).digest("hex"));
    expect(await store.put(bytes)).to.equal(hash);
    expect((await store.get(hash))?.equals(bytes)).to.equal(true);
    expect((await store.get(hash.toUpperCase().replace("0X", "0x")))?.equals(bytes)).to.equal(true);
    expect(await fs.readdir(path.join(dir, "objects"))).to.deep.equal([hash.slice(2)]);
    expect(await store.get("0x" + "00".repeat(32))).to.equal(undefined);
    expect(await store.has(hash)).to.equal(true);
    await expectRejection(store.get("0x1234"), RangeError, /32-byte hex/);
  });

  it("reports a corrupted object instead of serving it, and put repairs it", async () => {
    const store = await ContentStore.open(dir);
    const bytes = Buffer.from("the real bytes");
    const hash = await store.put(bytes);
    await fs.writeFile(path.join(dir, "objects", hash.slice(2)), "tampered");
    await expectRejection(store.get(hash), StoreCorruptionError, /do not match their hash/);
    await store.put(bytes);
    expect((await store.get(hash))?.equals(bytes)).to.equal(true);
  });

  it("keeps the first upload record of a site and round, even under concurrent writers", async () => {
    const store = await ContentStore.open(dir);
    const hashes = Array.from({ length: 8 }, (_, i) => "0x" + String(i).repeat(64));
    const results = await Promise.all(hashes.map((h) => store.putUpload(record(SITE_A.toLowerCase(), h))));
    expect(results.filter((r) => r.created)).to.have.length(1);
    const winner = results.find((r) => r.created)!.record;
    expect(winner.site).to.equal(SITE_A);
    for (const r of results) expect(r.record).to.deep.equal(winner);
    expect(await store.getUpload(1, 2, SITE_A)).to.deep.equal(winner);
    const entries = await fs.readdir(path.join(dir, "rounds", "1", "2"));
    expect(entries).to.deep.equal([`${SITE_A.toLowerCase()}.json`]);
  });

  it("lists a round in ascending site order and survives reopening", async () => {
    const store = await ContentStore.open(dir);
    await store.putUpload(record(SITE_A, "0x" + "aa".repeat(32)));
    await store.putUpload(record(SITE_B, "0x" + "bb".repeat(32)));
    await store.putUpload(record(SITE_B, "0x" + "bb".repeat(32), { round: 3 }));
    await fs.writeFile(path.join(dir, "rounds", "1", "2", ".tmp-left-by-a-crash"), "x");
    await fs.writeFile(path.join(dir, "objects", ".tmp-left-by-a-crash"), "x");
    const reopened = await ContentStore.open(dir);
    const list = await reopened.listRound("1", 2);
    expect(list.map((r) => r.site)).to.deep.equal([SITE_B, SITE_A]);
    expect(await reopened.listRound(1, 4)).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, "rounds", "1", "2"))).to.have.length(2);
    expect(await fs.readdir(path.join(dir, "objects"))).to.deep.equal([]);
  });

  it("refuses a record that does not belong where it lies", async () => {
    const store = await ContentStore.open(dir);
    await store.putUpload(record(SITE_A, "0x" + "aa".repeat(32)));
    const file = path.join(dir, "rounds", "1", "2", `${SITE_A.toLowerCase()}.json`);
    const moved = path.join(dir, "rounds", "1", "2", `${SITE_B.toLowerCase()}.json`);
    await fs.copyFile(file, moved);
    await expectRejection(store.listRound(1, 2), StoreCorruptionError, /another task, round or site/);
    await fs.writeFile(moved, "{");
    await expectRejection(store.getUpload(1, 2, SITE_B), StoreCorruptionError, /not JSON/);
  });
});
