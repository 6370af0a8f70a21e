import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { freePort } from "../../node/chain/freePort";
import { API_ERRORS, isFinalRefusal } from "../../node/aggregator/apiError";
import {
  aggregatorHoldsUpdate,
  AggregatorRequestError,
  fetchModel,
  uploadUpdate,
} from "../../node/aggregator/client";
import { parseEnvelope } from "../../node/aggregator/envelope";
import { sha256 } from "./fixture";

/**
 * A scripted HTTP server standing in for an aggregator that fails in ways the real one cannot be made to on
 * demand (5xx, wrong bytes, foreign error pages). Answers come from `script` in order; the last one repeats.
 */
async function scripted(script: ((req: http.IncomingMessage, body: Buffer) => [number, string | Buffer])[]) {
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const [status, payload] = script[Math.min(seen.length - 1, script.length - 1)](req, body);
      res.statusCode = status;
      res.setHeader(
        "content-type",
        typeof payload === "string" ? "application/json" : "application/octet-stream",
      );
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const upload = {
  task: 3n,
  round: 2,
  bytes: Buffer.from("update bytes"),
  numSamples: 42n,
  metrics: { loss: 0.25, note: "ok" },
  signature: "0x" + "ab".repeat(65),
  site: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
};
const fast = { minDelayMs: 1, maxDelayMs: 2 };
const record = JSON.stringify({ accepted: true, created: true, record: { site: upload.site } });
const refusal = (code: string) =>
  JSON.stringify({ error: code, message: `refused: ${code}`, hint: "do this" });

async function failure(p: Promise<unknown>): Promise<AggregatorRequestError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AggregatorRequestError) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("aggregator HTTP client", function () {
  it("sends the documented envelope, which the server's parser accepts", async function () {
    const server = await scripted([() => [201, record]]);
    try {
      const res = await uploadUpdate(`${server.url}/`, upload, fast);
      expect(res.created).to.equal(true);
      const [req] = server.seen;
      expect([req.method, req.url]).to.deep.equal(["PUT", "/tasks/3/rounds/2/updates"]);
      expect(req.body.equals(upload.bytes)).to.equal(true);
      const env = parseEnvelope({ task: "3", round: "2" }, req.headers);
      expect(env).to.deep.include({ site: upload.site, numSamples: 42n, updateHash: sha256(upload.bytes) });
      expect(env.metrics).to.deep.equal(upload.metrics);
    } finally {
      await server.close();
    }
  });

  it("retries 5xx answers with backoff, then succeeds", async function () {
    const server = await scripted([
      () => [503, refusal("chain_unavailable")],
      () => [500, "oops"],
      () => [201, record],
    ]);
    try {
      expect((await uploadUpdate(server.url, upload, fast)).created).to.equal(true);
      expect(server.seen).to.have.length(3);
    } finally {
      await server.close();
    }
  });

  it("does not retry a 4xx answer and carries the server's code", async function () {
    const server = await scripted([() => [409, refusal("commit_mismatch")]]);
    try {
      const err = await failure(uploadUpdate(server.url, upload, fast));
      expect([err.code, err.status, err.hint]).to.deep.equal(["commit_mismatch", 409, "do this"]);
      expect(err.message).to.match(/409 commit_mismatch/);
      expect(server.seen).to.have.length(1);
    } finally {
      await server.close();
    }
  });

  it("gives up after the retries when nothing listens", async function () {
    const port = await freePort();
    const err = await failure(uploadUpdate(`http://127.0.0.1:${port}`, upload, { ...fast, retries: 2 }));
    expect(err.code).to.equal("network");
    expect(err.message).to.match(/ECONNREFUSED/);
  });

  it("keeps the last 5xx error when every attempt fails, and flags foreign error pages", async function () {
    const server = await scripted([() => [502, "<html>bad gateway</html>"]]);
    try {
      const err = await failure(uploadUpdate(server.url, upload, { ...fast, retries: 1 }));
      expect([err.code, err.status]).to.deep.equal(["bad_response", 502]);
      expect(server.seen).to.have.length(2);
    } finally {
      await server.close();
    }
  });

  it("says for every server code whether a client stops or retries", function () {
    const final = Object.keys(API_ERRORS).filter(isFinalRefusal);
    expect(final).to.include.members([
      "wrong_shape",
      "non_finite",
      "too_many_samples",
      "norm_too_large",
      "duplicate",
    ]);
    expect(final).to.not.include.members([
      "busy",
      "internal",
      "chain_unavailable",
      "no_commit",
      "unknown_round",
    ]);
    expect(isFinalRefusal("network")).to.equal(false);
    expect(isFinalRefusal("toString")).to.equal(false);
  });

  it("reads the round status to tell whether the aggregator holds an update", async function () {
    const status = JSON.stringify({
      uploads: [{ site: upload.site.toLowerCase(), updateHash: "0x" + "cd".repeat(32) }],
    });
    const server = await scripted([
      () => [200, status],
      () => [200, status],
      () => [200, "{}"],
      () => [503, refusal("chain_unavailable")],
    ]);
    try {
      expect(await aggregatorHoldsUpdate(server.url, 3n, 2, upload.site, "0x" + "CD".repeat(32))).to.equal(
        true,
      );
      expect(await aggregatorHoldsUpdate(server.url, 3n, 2, upload.site, "0x" + "ef".repeat(32))).to.equal(
        false,
      );
      expect(
        (await failure(aggregatorHoldsUpdate(server.url, 3n, 2, upload.site, "0x" + "cd".repeat(32)))).code,
      ).to.equal("bad_response");
      const down = await failure(
        aggregatorHoldsUpdate(server.url, 3n, 2, upload.site, "0x" + "cd".repeat(32)),
      );
      expect([down.code, down.status]).to.deep.equal(["chain_unavailable", 503]);
      expect(server.seen.map((r) => r.url)).to.deep.equal(Array(4).fill("/tasks/3/rounds/2"));
    } finally {
      await server.close();
    }
  });

  it("verifies the hash of a fetched model", async function () {
    const model = Buffer.from("model bytes");
    const server = await scripted([
      (req) => (req.url === `/models/${sha256(model)}` ? [200, model] : [404, refusal("not_found")]),
    ]);
    try {
      expect(
        (await fetchModel(server.url, sha256(model).toUpperCase().replace("0X", "0x"))).equals(model),
      ).to.equal(true);
      const other = sha256(Buffer.from("other"));
      expect((await failure(fetchModel(server.url, other, fast))).code).to.equal("not_found");
    } finally {
      await server.close();
    }
    const liar = await scripted([() => [200, Buffer.from("not the model")]]);
    try {
      expect((await failure(fetchModel(liar.url, sha256(model), fast))).code).to.equal("hash_mismatch");
    } finally {
      await liar.close();
    }
  });
});
