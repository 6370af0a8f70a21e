import { expect } from "chai";
import fc from "fast-check";
import { decodeModel, encodeModel, hashModelBytes } from "../../node/model/format";
import { AggregationError, fedAvgAggregate, getAggregationRule, type UpdateSource } from "../../node/fl";
import { arbSites, arbValues, LAYOUT_SIZE, modelFrom } from "./helpers";

const A = "0x1000000000000000000000000000000000000001";
const B = "0x2000000000000000000000000000000000000002";
const C = "0xc000000000000000000000000000000000000003";

const src = (site: string, numSamples: number | bigint, bytes: Uint8Array): UpdateSource => ({
  site,
  numSamples,
  bytes: async () => bytes,
});

function flat(bytes: Uint8Array): number[] {
  return decodeModel(bytes).flatMap((t) => Array.from(t.data));
}

describe("FedAvg", () => {
  it("computes the worked example of docs/aggregation.md byte for byte", async () => {
    const siteA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const siteB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    const w = (d: number[]) =>
      encodeModel([{ name: "w", dtype: "float32", shape: [3], data: new Float32Array(d) }]);
    const parent = w([1, 2, 0.1]);
    expect(hashModelBytes(parent)).to.equal(
      "0x2cc8cb589128c75e27348d64259f3c50c96d802994e45e9b865722e09a2f4353",
    );
    const out = await fedAvgAggregate(parent, [
      src(siteA, 3n, w([0.5, -1, 0.2])),
      src(siteB, 1, w([1, 3, -0.1])),
    ]);
    expect(Array.from(decodeModel(out)[0].data)).to.deep.equal([1.625, 2, 0.22500000894069672]);
    expect(Buffer.from(out).toString("hex")).to.equal(
      "464c4d3101000000010077010103000000" + "00000000000000" + "0000d03f000000406766663e",
    );
    expect(hashModelBytes(out)).to.equal(
      "0x73ea747c82d3b368449296eafaf904885c264ab43ea15b8668889eaf1677e240",
    );
  });

  it("is rule 1 in the registry and refuses unknown rules", () => {
    expect(getAggregationRule(1).name).to.equal("fedavg");
    expect(() => getAggregationRule(7)).to.throw(/unknown aggregation rule 7/);
  });

  it("gives the same bytes for any input order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        arbSites(1, 5).chain((sites) =>
          fc.tuple(
            fc.constant(sites),
            fc.array(fc.tuple(arbValues, fc.integer({ min: 1, max: 100_000 })), {
              minLength: sites.length,
              maxLength: sites.length,
            }),
          ),
        ),
        fc.infiniteStream(fc.nat()),
        async (parent, [sites, ups], rnd) => {
          const updates = sites.map((s, i) => src(s, ups[i][1], modelFrom(ups[i][0])));
          const shuffled = updates
            .map((u) => ({ u, k: rnd.next().value }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.u);
          const a = await fedAvgAggregate(modelFrom(parent), updates);
          const b = await fedAvgAggregate(modelFrom(parent), shuffled);
          expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("returns the parent unchanged for one zero delta (property)", async () => {
    await fc.assert(
      fc.asyncProperty(arbValues, fc.integer({ min: 1, max: 1e9 }), async (parent, n) => {
        const p = modelFrom(parent);
        const out = await fedAvgAggregate(p, [src(A, n, modelFrom(new Array(LAYOUT_SIZE).fill(0)))]);
        expect(Buffer.from(out).equals(Buffer.from(p))).to.equal(true);
      }),
      { numRuns: 50 },
    );
  });

  it("weights by sample count: k samples count as k sites of one sample (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        arbValues,
        arbValues,
        fc.integer({ min: 1, max: 4 }),
        async (p, a, b, k) => {
          const parent = modelFrom(p);
          const one = await fedAvgAggregate(parent, [src(A, k, modelFrom(a)), src(C, 1, modelFrom(b))]);
          // k copies of A's delta at addresses that all sort before C.
          const copies = Array.from({ length: k }, (_, i) =>
            src(
              `0x10000000000000000000000000000000000000${(i + 10).toString(16).padStart(2, "0")}`,
              1,
              modelFrom(a),
            ),
          );
          const many = await fedAvgAggregate(parent, [...copies, src(C, 1, modelFrom(b))]);
          expect(Buffer.from(one).equals(Buffer.from(many))).to.equal(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("moves the parent by exactly d when every site sends the same delta d (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        arbValues,
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 4 }),
        async (p, d, weights) => {
          const sites = [A, B, C, "0xd000000000000000000000000000000000000004"];
          const out = await fedAvgAggregate(
            modelFrom(p),
            weights.map((n, i) => src(sites[i], n, modelFrom(d))),
          );
          const pf = Float32Array.from(p);
          const df = Float32Array.from(d);
          expect(flat(out)).to.deep.equal(
            Array.from(pf, (v, j) => (df[j] === 0 ? v : Math.fround(v + df[j]))),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it("loads one update at a time, in ascending site order", async () => {
    const parent = modelFrom(new Array(LAYOUT_SIZE).fill(1));
    const log: string[] = [];
    let open = 0;
    const lazy = (site: string): UpdateSource => ({
      site,
      numSamples: 1,
      bytes: async () => {
        open++;
        expect(open).to.equal(1);
        log.push(site);
        await new Promise((r) => setImmediate(r));
        open--;
        return modelFrom(new Array(LAYOUT_SIZE).fill(0.5));
      },
    });
    await fedAvgAggregate(parent, [lazy(C), lazy(A), lazy(B)]);
    expect(log).to.deep.equal([A, B, C]);
  });

  it("refuses unusable inputs with a reason", async () => {
    const parent = modelFrom(new Array(LAYOUT_SIZE).fill(0));
    const good = modelFrom(new Array(LAYOUT_SIZE).fill(1));
    const nan = modelFrom([NaN, ...new Array(LAYOUT_SIZE - 1).fill(0)]);
    const other = encodeModel([{ name: "w", dtype: "float32", shape: [1], data: new Float32Array([1]) }]);
    const huge = modelFrom(new Array(LAYOUT_SIZE).fill(3e38));
    const cases: [Promise<unknown>, RegExp][] = [
      [fedAvgAggregate(parent, []), /at least one update/],
      [
        fedAvgAggregate(parent, [src(A, 1, good), src(A.toUpperCase().replace("0X", "0x"), 2, good)]),
        /appears twice/,
      ],
      [fedAvgAggregate(parent, [src(A, 0, good)]), /must be positive/],
      [fedAvgAggregate(parent, [src(A, 2n ** 60n, good)]), /above 2\^53/],
      [fedAvgAggregate(parent, [src(A, 1, nan)]), /NaN at index 0/],
      [fedAvgAggregate(parent, [src(A, 1, other)]), /unexpected tensor "w"/],
      [fedAvgAggregate(parent, [src(A, 1, Buffer.from("junk"))]), /not a valid fedledger model/],
      [fedAvgAggregate(modelFrom(new Array(LAYOUT_SIZE).fill(3e38)), [src(A, 1, huge)]), /is Infinity/],
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
