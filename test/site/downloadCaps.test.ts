/**
 * Download size caps in every client of an aggregator: the site's client (fetchModel) and the auditor's HTTP
 * object source, against a small local server that sends too much, with and without Content-Length. Each test
 * asserts the clear error and that the client stopped reading (the server could not send it all).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { AggregatorRequestError, fetchModel, uploadUpdate } from "../../node/aggregator/client";
import { openObjectSource } from "../../node/audit/objectSource";
import { AuditSourceError } from "../../node/audit/errors";

const HASH = `0x${"ab".repeat(32)}`;
const MiB = 1024 * 1024;

/** A server that answers every request with `total` bytes, declared or chunked, and counts what it got out. */
async function flooding(total: number, declareLength: boolean) {
  const sent = { bytes: 0, finished: false, requests: 0 };
  const server = http.createServer((req, res) => {
    sent.requests++;
    res.writeHead(200, {
      "content-type": "application/octet-stream",
      ...(declareLength ? { "content-length": String(total) } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = () => {
      while (sent.bytes < total) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      sent.finished = true;
      res.end();
    };
    res.on("close", () => undefined);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function failure<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  throw new Error("expected a failure");
}

describe("download size caps (site client, auditor's object source)", function () {
  this.timeout(30_000);

  for (const declared of [true, false]) {
    const how = declared ? "with Content-Length" : "chunked, without Content-Length";

    it(`the site client refuses a model larger than its cap (${how})`, async function () {
      const server = await flooding(300 * MiB, declared);
      try {
        const err = await failure(
          fetchModel(server.url, HASH, { retries: 0, maxResponseBytes: 2 * MiB }),
          AggregatorRequestError,
        );
        expect(err.code).to.equal("response_too_large");
        expect(err.message).to.match(
          declared ? /Content-Length 314572800/ : /more than 2097152 bytes received/,
        );
        expect(err.hint).to.match(/maxDownloadBytes/);
        expect(server.sent.finished).to.equal(false);
        expect(server.sent.requests, "a too-large answer is not retried").to.equal(1);
      } finally {
        await server.close();
      }
    });

    it(`the auditor's HTTP source refuses an object larger than its cap (${how})`, async function () {
      const server = await flooding(300 * MiB, declared);
      try {
        const source = await openObjectSource(server.url, { maxObjectBytes: 2 * MiB });
        const err = await failure(source.fetch(HASH), AuditSourceError);
        expect(err.message).to.match(/sent more than 2097152 bytes for object/);
        expect(err.message).to.match(/download was stopped/);
        expect(server.sent.finished).to.equal(false);
      } finally {
        await server.close();
      }
    });
  }

  it("the default caps let a model below them through and still check its hash", async function () {
    const server = await flooding(1 * MiB, true);
    try {
      const err = await failure(fetchModel(server.url, HASH, { retries: 0 }), AggregatorRequestError);
      expect(err.code).to.equal("hash_mismatch");
      expect(server.sent.finished).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it("the upload client sends no body when the server refuses on its headers, and honours Retry-After", async function () {
    const seen: { bodyBytes: number; at: number }[] = [];
    const server = http.createServer();
    let calls = 0;
    server.on("checkContinue", (req, res) => {
      calls++;
      const entry = { bodyBytes: 0, at: Date.now() };
      seen.push(entry);
      req.on("data", (c: Buffer) => (entry.bodyBytes += c.length));
      if (calls === 1) {
        res.writeHead(503, { "content-type": "application/json", "retry-after": "1", connection: "close" });
        res.end(JSON.stringify({ error: "busy", message: "busy", hint: "retry" }));
        return;
      }
      res.writeHead(403, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ error: "not_active_site", message: "no", hint: "ask the admins" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const err = await failure(
        uploadUpdate(
          url,
          {
            task: 1n,
            round: 1,
            bytes: Buffer.alloc(4 * MiB, 2),
            numSamples: 3n,
            metrics: {},
            signature: `0x${"ab".repeat(65)}`,
            site: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          },
          { retries: 2, minDelayMs: 1, maxDelayMs: 5_000 },
        ),
        AggregatorRequestError,
      );
      expect([err.code, err.status]).to.deep.equal(["not_active_site", 403]);
      expect(seen.map((s) => s.bodyBytes)).to.deep.equal([0, 0]);
      expect(seen[1].at - seen[0].at, "waited for Retry-After").to.be.at.least(900);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
