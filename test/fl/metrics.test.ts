import { createHash } from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { canonicalJson, metricsHash, parseMetrics } from "../../node/fl";

describe("metrics hashing", () => {
  it("writes canonical JSON: sorted keys at every level, no whitespace, shortest numbers", () => {
    const text = canonicalJson({ z: [1.0, { b: 2, a: "x" }], a: 1e21, m: -0, n: null, t: true, é: 0.1 });
    expect(text).to.equal('{"a":1e+21,"m":0,"n":null,"t":true,"z":[1,{"a":"x","b":2}],"é":0.1}');
  });

  it("hashes the canonical text with SHA-256", () => {
    const metrics = { macroF1: 0.71, loss: 0.42, numValidation: 200 };
    const expected = createHash("sha256")
      .update('{"loss":0.42,"macroF1":0.71,"numValidation":200}')
      .digest("hex");
    expect(metricsHash(metrics)).to.equal(`0x${expected}`);
    expect(
      metricsHash(parseMetrics(' { "numValidation" : 200.0, "macroF1": 0.710, "loss": 4.2e-1 } ')),
    ).to.equal(`0x${expected}`);
  });

  it("gives the same hash for any key order and re-parsing (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string().filter((key) => key !== "__proto__"),
          fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string()),
        ),
        (obj) => {
          const reversed = Object.fromEntries(Object.entries(obj).reverse());
          expect(metricsHash(reversed)).to.equal(metricsHash(obj));
          expect(canonicalJson(parseMetrics(canonicalJson(obj)))).to.equal(canonicalJson(obj));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses the key __proto__, which a plain object cannot hold", () => {
    expect(() => parseMetrics('{"__proto__":""}')).to.throw(RangeError, /may not use the key "__proto__"/);
    expect(() => parseMetrics('{"a":{"__proto__":1}}')).to.throw(RangeError, /\(at a\)/);
  });

  it("refuses what is not a JSON object of finite values", () => {
    expect(() => parseMetrics("{")).to.throw(/not valid JSON/);
    expect(() => parseMetrics("[1]")).to.throw(/JSON object/);
    expect(() => parseMetrics('{"loss": 1e999}')).to.throw(/finite/);
    expect(() => parseMetrics(JSON.stringify({ x: "y".repeat(5000) }))).to.throw(/more than 4096/);
    expect(() => canonicalJson({ x: NaN })).to.throw(/NaN/);
    expect(() => canonicalJson({ x: undefined })).to.throw(/undefined/);
  });
});
