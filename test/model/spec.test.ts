import { createHash } from "node:crypto";
import { expect } from "chai";
import { canonicalJson, defaultSpec, parseSpec, SpecError, specHash } from "../../node/model/spec";
import { LEXICON_HASH } from "../../node/text/lexicon";

describe("model spec and spec hash", () => {
  it("hashes the canonical JSON: sorted keys at every level, no whitespace", () => {
    const spec = defaultSpec({ labels: ["heart_valve", "adr"] });
    const expected =
      '{"dim":32,"features":{"buckets":65536,"charNgramMax":5,"charNgramMin":3,' +
      `"lexicon":{"hash":"${LEXICON_HASH}","weight":8},"wordNgrams":2},"hidden":0,` +
      '"labels":["heart_valve","adr"],"scale":"sqrt","threshold":0.3,"training":{"batchSize":64,"epochs":3,' +
      '"idDropout":0,"lr":0.03,"optimizer":"adam","posWeight":1},"unit":"sentence","version":1}';
    expect(canonicalJson(spec)).to.equal(expected);
    expect(specHash(spec)).to.equal(`0x${createHash("sha256").update(expected, "utf8").digest("hex")}`);
  });

  it("does not depend on key order, and changes with any setting", () => {
    const spec = defaultSpec();
    const reverseKeys = (v: unknown): unknown =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reverseKeys(x)]),
          )
        : v;
    const reordered = reverseKeys(spec) as Record<string, unknown>;
    expect(Object.keys(reordered)[0]).to.not.equal(Object.keys(spec)[0]);
    expect(specHash(parseSpec(reordered))).to.equal(specHash(spec));
    expect(specHash(defaultSpec({ dim: 16 }))).to.not.equal(specHash(spec));
    expect(specHash({ ...spec, training: { ...spec.training, lr: 0.031 } })).to.not.equal(specHash(spec));
  });

  it("rejects invalid specs with the field at fault", () => {
    const spec = defaultSpec();
    const bad = (value: unknown, message: RegExp) =>
      expect(() => parseSpec(value, "x.json")).to.throw(SpecError, message);
    bad(
      { ...spec, features: { ...spec.features, buckets: 1000 } },
      /in x\.json: features\.buckets: buckets must be a power of two/,
    );
    bad({ ...spec, labels: ["pacemaker"] }, /labels\.0: must be one of/);
    bad({ ...spec, labels: ["adr", "adr"] }, /labels must be unique/);
    bad({ ...spec, unit: "paragraph" }, /unit/);
    bad({ ...spec, extra: 1 }, /extra/);
    bad({ ...spec, training: { ...spec.training, epochs: 0 } }, /training\.epochs/);
  });
});
