import { expect } from "chai";
import fc from "fast-check";
import { decodeModel, encodeModel, hashModelBytes } from "../../node/model/format";
import {
  AggregationError,
  fedAvgAggregate,
  fedAvgSparseAggregate,
  getAggregationRule,
  type UpdateSource,
} from "../../node/fl";
import { arbSites, arbValues, LAYOUT_SIZE, modelFrom } from "./helpers";

const A = "0x1000000000000000000000000000000000000001";
const B = "0x2000000000000000000000000000000000000002";
const C = "0xc000000000000000000000000000000000000003";

const src = (site: string, numSamples: number | bigint, bytes: Uint8Array): UpdateSource => ({
  site,
  numSamples,
  bytes: async () => bytes,
});

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Arbitrary deltas where roughly half the values are exactly zero (a site that left those rows alone). */
const arbSparseValues = fc.array(
  fc.oneof(fc.constant(0), fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true })),
  { minLength: LAYOUT_SIZE, maxLength: LAYOUT_SIZE },
);

/** Arbitrary deltas with no zero value (every site changed everything). */
const arbDenseValues = fc.array(
  fc
    .float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true })
    .filter((v) => Math.fround(v) !== 0),
  { minLength: LAYOUT_SIZE, maxLength: LAYOUT_SIZE },
);

/** Sites with weighted updates drawn from `values`. */
const arbUpdates = (values: fc.Arbitrary<number[]>) =>
  arbSites(1, 5).chain((sites) =>
    fc.tuple(
      fc.constant(sites),
      fc.array(fc.tuple(values, fc.integer({ min: 1, max: 100_000 })), {
        minLength: sites.length,
        maxLength: sites.length,
      }),
    ),
  );

describe("sparse FedAvg (rule 2)", () => {
  it("computes the worked example of docs/aggregation.md byte for byte", async () => {
    const siteA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const siteB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    const w = (d: number[]) =>
      encodeModel([{ name: "w", dtype: "float32", shape: [5], data: new Float32Array(d) }]);
    const parent = w([1, 2, 0.1, -0, 0.5]);
    const deltaA = w([0.5, 0.25, 0, 0, -1]);
    const deltaB = w([1, 0, -0.05, 0, 3]);
    expect(hashModelBytes(parent)).to.equal(
      "0x4ba3219adf8891cc207e5fca21ffb21bf0e01d34e7c560edcfc375beea70432a",
    );
    expect(hashModelBytes(deltaA)).to.equal(
      "0xedcfb4cee7e7f13fe4affa400d368bb7cb46299e026b633acdbdd9d3049622a3",
    );
    expect(hashModelBytes(deltaB)).to.equal(
      "0xf47093ea35aee12197df07420e30d5698dd7b6c936b3ff72b00d22707a90d28c",
    );
    const updates = [src(siteA, 3n, deltaA), src(siteB, 1, deltaB)];
    const out = await fedAvgSparseAggregate(parent, updates);
    const values = Array.from(decodeModel(out)[0].data);
    expect(values).to.deep.equal([1.625, 2.25, 0.05000000074505806, -0, 0.5]);
    expect(Object.is(values[3], -0)).to.equal(true);
    expect(Buffer.from(out).toString("hex")).to.equal(
      "464c4d3101000000010077010105000000" + "00000000000000" + "0000d03f00001040cdcc4c3d000000800000003f",
    );
    expect(hashModelBytes(out)).to.equal(
      "0x30fe5fdf7312a5a428e274101c726e204215dee8baad443acee4f7a088a08c0e",
    );
    // FedAvg on the same inputs: the one-site values move a quarter and a third as far.
    const plain = await fedAvgAggregate(parent, updates);
    expect(Array.from(decodeModel(plain)[0].data)).to.deep.equal([
      1.625, 2.1875, 0.08749999850988388, -0, 0.5,
    ]);
    expect(hashModelBytes(plain)).to.equal(
      "0xd7b94a5e1aa5ac898bfb92c0af46c273d01efe726983b677838c30472e0d499f",
    );
  });

  it("is rule 2 in the registry, named fedavg-sparse", () => {
    const rule = getAggregationRule(2);
    expect(rule.name).to.equal("fedavg-sparse");
    expect(rule.aggregate).to.equal(fedAvgSparseAggregate);
  });

  it("gives the same bytes for any input order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        arbUpdates(arbSparseValues),
        fc.infiniteStream(fc.nat()),
        async (parent, [sites, ups], rnd) => {
          const updates = sites.map((s, i) => src(s, ups[i][1], modelFrom(ups[i][0])));
          const shuffled = updates
            .map((u) => ({ u, k: rnd.next().value }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.u);
          const a = await fedAvgSparseAggregate(modelFrom(parent), updates);
          const b = await fedAvgSparseAggregate(modelFrom(parent), shuffled);
          expect(same(a, b)).to.equal(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("returns the parent bit for bit when every delta is zero (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        fc.array(fc.integer({ min: 1, max: 1e9 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (parent, weights, negativeZero) => {
          const p = modelFrom(parent.map((v, j) => (j % 3 === 0 ? -0 : v)));
          const zero = modelFrom(new Array<number>(LAYOUT_SIZE).fill(negativeZero ? -0 : 0));
          const out = await fedAvgSparseAggregate(
            p,
            weights.map((n, i) => src([A, B, C][i], n, zero)),
          );
          expect(same(out, p)).to.equal(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("equals FedAvg byte for byte when every delta is non-zero everywhere (property)", async () => {
    await fc.assert(
      fc.asyncProperty(arbValues, arbUpdates(arbDenseValues), async (parent, [sites, ups]) => {
        const updates = sites.map((s, i) => src(s, ups[i][1], modelFrom(ups[i][0])));
        const sparse = await fedAvgSparseAggregate(modelFrom(parent), updates);
        const plain = await fedAvgAggregate(modelFrom(parent), updates);
        expect(same(sparse, plain)).to.equal(true);
      }),
      { numRuns: 60 },
    );
  });

  it("gives a value changed by one site that site's full delta (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        arbValues,
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: LAYOUT_SIZE, maxLength: LAYOUT_SIZE }),
        async (p, d, weights, owner) => {
          // Value j is changed by site owner[j] only; the other sites leave it at zero.
          const sites = [A, B, C];
          const updates = sites.map((s, i) =>
            src(s, weights[i], modelFrom(d.map((v, j) => (owner[j] === i ? v : 0)))),
          );
          const out = await fedAvgSparseAggregate(modelFrom(p), updates);
          const pf = Float32Array.from(p);
          const df = Float32Array.from(d);
          const got = decodeModel(out).flatMap((t) => Array.from(t.data));
          const want = Array.from(pf, (v, j) => (df[j] === 0 ? v : Math.fround(v + df[j])));
          got.forEach((v, j) =>
            expect(Object.is(v, want[j]), `value ${j}: ${v} vs ${want[j]}`).to.equal(true),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it("averages only the sites that changed a value, by their sample counts", async () => {
    const parent = modelFrom(new Array<number>(LAYOUT_SIZE).fill(1));
    const only0 = (v: number) => modelFrom([v, ...new Array<number>(LAYOUT_SIZE - 1).fill(0)]);
    const out = await fedAvgSparseAggregate(parent, [
      src(A, 30, only0(0.5)),
      src(B, 10, only0(-0.5)),
      src(C, 1_000, modelFrom(new Array<number>(LAYOUT_SIZE).fill(0))),
    ]);
    const values = decodeModel(out).flatMap((t) => Array.from(t.data));
    // (30·0.5 + 10·(−0.5)) / 40 = 0.25; site C's 1,000 samples do not dilute it.
    expect(values[0]).to.equal(1.25);
    expect(values.slice(1)).to.deep.equal(new Array<number>(LAYOUT_SIZE - 1).fill(1));
  });

  it("refuses unusable inputs with a reason", async () => {
    const parent = modelFrom(new Array<number>(LAYOUT_SIZE).fill(0));
    const good = modelFrom(new Array<number>(LAYOUT_SIZE).fill(1));
    const nan = modelFrom([NaN, ...new Array<number>(LAYOUT_SIZE - 1).fill(0)]);
    const other = encodeModel([{ name: "w", dtype: "float32", shape: [1], data: new Float32Array([1]) }]);
    const huge = modelFrom(new Array<number>(LAYOUT_SIZE).fill(3e38));
    const cases: [Promise<unknown>, RegExp][] = [
      [fedAvgSparseAggregate(parent, []), /at least one update/],
      [
        fedAvgSparseAggregate(parent, [src(A, 1, good), src(A.toUpperCase().replace("0X", "0x"), 2, good)]),
        /appears twice/,
      ],
      [fedAvgSparseAggregate(parent, [src(A, 0, good)]), /must be positive/],
      [fedAvgSparseAggregate(parent, [src(A, 2n ** 53n, good)]), /above 2\^53/],
      [fedAvgSparseAggregate(parent, [src(A, 1, nan)]), /NaN at index 0/],
      [fedAvgSparseAggregate(parent, [src(A, 1, other)]), /unexpected tensor "w"/],
      [
        fedAvgSparseAggregate(modelFrom(new Array<number>(LAYOUT_SIZE).fill(3e38)), [src(A, 1, huge)]),
        /is Infinity/,
      ],
    ];
    for (const [p, re] of cases) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, String(re)).to.be.instanceOf(AggregationError);
      expect((err as Error).message).to.match(re);
    }
  });
});
