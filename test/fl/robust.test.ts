import { expect } from "chai";
import fc from "fast-check";
import { decodeModel, encodeModel, hashModelBytes } from "../../node/model/format";
import {
  AggregationError,
  clipFactors,
  fedAvgAggregate,
  getAggregationRule,
  krumByzantine,
  krumSelect,
  medianAggregate,
  multiKrumAggregate,
  normClippedAggregate,
  trimCount,
  trimmedMeanAggregate,
  type UpdateSource,
} from "../../node/fl";
import { arbSites, arbValues, LAYOUT_SIZE, modelFrom } from "./helpers";

/*
 * The robust rules (3 median, 4 trimmed mean, 5 norm-clipped FedAvg, 6 multi-Krum) against docs/aggregation.md's worked
 * example, and their determinism: any input order, any chunk size, one huge update.
 */
const src = (site: string, numSamples: number | bigint, bytes: Uint8Array): UpdateSource => ({
  site,
  numSamples,
  bytes: async () => bytes,
});
const w = (d: number[]) =>
  encodeModel([{ name: "w", dtype: "float32", shape: [d.length], data: new Float32Array(d) }]);
const values = (bytes: Uint8Array) => decodeModel(bytes).flatMap((t) => Array.from(t.data));
const site = (i: number) => `0x${i.toString(16)}${"0".repeat(38)}${i.toString(16)}`;

// docs/aggregation.md, "Robust rules: worked example".
const PARENT = w([1, 2, 0.1, -0, 0.5]);
const DELTAS = [
  [0.5, 0.25, 0.1, 0, 1],
  [1, -0.5, 0.2, 0, 1],
  [0.25, 0.5, -0.1, -0, 1],
  [100, 0.125, 0.3, 0, 2],
  [-1, 0, 0.05, 0, 2],
];
const EXAMPLE = DELTAS.map((d, i) => src(site(i + 1), 10 * (i + 1), w(d)));
const HEADER = "464c4d310100000001007701010500000000000000000000";

type Run = (parent: Uint8Array, updates: readonly UpdateSource[]) => Promise<Uint8Array>;
const RULES: [string, Run][] = [
  ["median", medianAggregate],
  ["trimmed mean", trimmedMeanAggregate],
  ["norm-clipped FedAvg", normClippedAggregate],
  ["multi-Krum", multiKrumAggregate],
];

describe("robust aggregation rules", () => {
  it("are rules 3 to 6 in the registry", () => {
    expect([3, 4, 5, 6].map((id) => getAggregationRule(id).name)).to.deep.equal([
      "median",
      "trimmed-mean",
      "fedavg-clipped",
      "multi-krum",
    ]);
  });

  it("compute the worked example of docs/aggregation.md byte for byte", async () => {
    expect(site(1)).to.equal("0x1000000000000000000000000000000000000001");
    const med = await medianAggregate(PARENT, EXAMPLE);
    expect(values(med)).to.deep.equal([1.5, 2.125, 0.20000000298023224, -0, 1.5]);
    expect(Buffer.from(med).toString("hex")).to.equal(`${HEADER}0000c03f00000840cdcc4c3e000000800000c03f`);
    expect(hashModelBytes(med)).to.equal(
      "0x6beb1e71445ff11951cbe8bb8a0d127a96c92aff00f8dd475e78a34ad01f0de4",
    );

    const trimmed = await trimmedMeanAggregate(PARENT, EXAMPLE);
    expect(values(trimmed)).to.deep.equal([
      1.5833333730697632, 2.125, 0.21666666865348816, -0, 1.8333333730697632,
    ]);
    expect(hashModelBytes(trimmed)).to.equal(
      "0xa5b5f58149cb8c83407d052a9108224cb1453e1524de9a2e034a05eec4b168ba",
    );

    const { bound, factors } = await clipFactors(PARENT, EXAMPLE);
    expect(bound).to.equal(1.513274595436034);
    expect([...factors.values()]).to.deep.equal([1, 1, 1, 0.015129640441572098, 0.6765878469749956]);
    const clipped = await normClippedAggregate(PARENT, EXAMPLE);
    expect(values(clipped)).to.deep.equal([
      1.394594430923462, 2.050504207611084, 0.12582017481327057, -0, 1.3591277599334717,
    ]);
    expect(hashModelBytes(clipped)).to.equal(
      "0x099ab1ba79fbcc8f2c76eaf82e38c974c0360e5e54cce7ff1f74f47802805d01",
    );

    const { scores, kept } = await krumSelect(PARENT, EXAMPLE);
    expect(scores).to.deep.equal([
      0.9875000014901161, 2.475000002980232, 1.8175000038743019, 19703.706250005962, 6.150000000745058,
    ]);
    expect(kept.map((u) => u.site)).to.deep.equal([site(1), site(2), site(3), site(5)]);
    const krum = await multiKrumAggregate(PARENT, EXAMPLE);
    expect(values(krum)).to.deep.equal([
      0.8409090638160706, 2.0681817531585693, 0.1409090906381607, -0, 1.954545497894287,
    ]);
    expect(hashModelBytes(krum)).to.equal(
      "0x0194a05a01c5f6316c0cd53fdb920b5c77728d6c5c0f52712028194e6abef794",
    );

    // FedAvg on the same inputs follows the outlier.
    expect(values(await fedAvgAggregate(PARENT, EXAMPLE))[0]).to.equal(27.549999237060547);
  });

  it("trim 0 values per side below 3 sites, 1 up to 9, then ⌊K / 5⌋", () => {
    expect([1, 2, 3, 4, 5, 9, 10, 14, 15, 100].map(trimCount)).to.deep.equal([0, 0, 1, 1, 1, 1, 2, 2, 3, 20]);
  });

  it("multi-Krum tolerates ⌊(K − 3) / 2⌋ sites, keeps every update below 3 sites and breaks score ties by address", async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(krumByzantine)).to.deep.equal([0, 0, 0, 0, 1, 1, 2, 2, 3]);
    const two = [src(site(2), 1, w([1])), src(site(1), 3, w([-5]))];
    expect(
      Buffer.from(await multiKrumAggregate(w([0]), two)).equals(
        Buffer.from(await fedAvgAggregate(w([0]), two)),
      ),
    ).to.equal(true);
    // Five sites at 0, 0, 0 and two at equal distance: S4 and S5 tie; the lower address (S4) is kept.
    const tie = [0, 0, 0, 1, -1].map((d, i) => src(site(i + 1), 1, w([d])));
    expect((await krumSelect(w([0]), tie)).kept.map((u) => u.site)).to.deep.equal([
      site(1),
      site(2),
      site(3),
      site(4),
    ]);
  });

  it("take the median of an even count as the float64 mean of the two middle values", async () => {
    const parent = w([0.5, -0]);
    const out = await medianAggregate(parent, [
      src(site(1), 1, w([1, -0])),
      src(site(2), 1, w([2, 0])),
      src(site(3), 1, w([10, 0])),
      src(site(4), 1, w([-3, -0])),
    ]);
    // Sorted [-3, 1, 2, 10]: (1 + 2) / 2 = 1.5. The zeros give a zero step: the parent's −0 is kept.
    expect(values(out)).to.deep.equal([2, -0]);
    expect(Object.is(values(out)[1], -0)).to.equal(true);
  });

  for (const [name, run] of RULES) {
    describe(name, () => {
      it("gives the same bytes for any input order (property)", async () => {
        await fc.assert(
          fc.asyncProperty(
            arbValues,
            arbSites(1, 6).chain((sites) =>
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
              const a = await run(modelFrom(parent), updates);
              const b = await run(modelFrom(parent), shuffled);
              expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
            },
          ),
          { numRuns: 40 },
        );
      });

      it("keeps one huge update (1e30, then FLT_MAX) from moving the model beyond the honest updates' reach", async () => {
        const parent = modelFrom(Array.from({ length: LAYOUT_SIZE }, (_, j) => (j % 7) / 10));
        const honest = [1, 2, 3, 4].map((i) =>
          src(
            site(i),
            100,
            modelFrom(Array.from({ length: LAYOUT_SIZE }, (_, j) => ((i + j) % 5) / 100 - 0.02)),
          ),
        );
        const clean = values(await run(parent, honest.slice(0, 4)));
        for (const huge of [1e30, 3.4028234663852886e38]) {
          const poisoned = [
            ...honest,
            src(site(9), 100, modelFrom(new Array<number>(LAYOUT_SIZE).fill(huge))),
          ];
          const out = values(await run(parent, poisoned));
          const base = values(parent);
          for (let j = 0; j < out.length; j++) {
            expect(Number.isFinite(out[j])).to.equal(true);
            // Every honest delta is within ±0.03; the poisoned result moves at most ~one median-sized step more.
            expect(Math.abs(out[j] - base[j])).to.be.below(0.1);
            expect(Math.abs(out[j] - clean[j])).to.be.below(0.1);
          }
        }
        // FedAvg, for contrast, is dragged to the huge value.
        const dragged = values(
          await fedAvgAggregate(parent, [
            ...honest,
            src(site(9), 100, modelFrom(new Array<number>(LAYOUT_SIZE).fill(1e30))),
          ]),
        );
        expect(dragged[0]).to.be.above(1e29);
      });

      it("refuses NaN, duplicate sites and an empty input, naming the site", async () => {
        const bad = modelFrom(
          Array.from({ length: LAYOUT_SIZE }, (_, j) => (j === LAYOUT_SIZE - 1 ? Number.NaN : 0)),
        );
        const good = modelFrom(new Array<number>(LAYOUT_SIZE).fill(0.5));
        const parent = modelFrom(new Array<number>(LAYOUT_SIZE).fill(0));
        const refused = async (updates: UpdateSource[]) => {
          try {
            await run(parent, updates);
          } catch (err) {
            expect(err).to.be.instanceOf(AggregationError);
            return err as AggregationError;
          }
          throw new Error("not refused");
        };
        expect((await refused([src(site(1), 1, good), src(site(2), 1, bad)])).site).to.equal(site(2));
        expect((await refused([src(site(1), 1, good), src(site(1), 2, good)])).message).to.match(
          /appears twice/,
        );
        expect((await refused([])).message).to.match(/at least one update/);
      });
    });
  }

  it("give the same bytes whatever the chunk size of the coordinate buffer", async () => {
    await fc.assert(
      fc.asyncProperty(
        arbValues,
        fc.array(arbValues, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 3 * LAYOUT_SIZE }),
        async (parent, deltas, budget) => {
          const updates = deltas.map((d, i) => src(site(i + 1), 1 + i, modelFrom(d)));
          for (const run of [medianAggregate, trimmedMeanAggregate, multiKrumAggregate]) {
            const whole = await run(modelFrom(parent), updates);
            const chunked = await run(modelFrom(parent), updates, { chunkBudget: budget });
            expect(Buffer.from(chunked).equals(Buffer.from(whole))).to.equal(true);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("norm-clipped FedAvg gives FedAvg's bits when no update is above the median norm", async () => {
    await fc.assert(
      fc.asyncProperty(arbValues, arbValues, fc.integer({ min: 1, max: 1000 }), async (parent, d, n) => {
        // Δ and −Δ have the same norm, so neither is clipped.
        const updates = [src(site(1), n, modelFrom(d)), src(site(2), 3, modelFrom(d.map((v) => -v)))];
        const a = await normClippedAggregate(modelFrom(parent), updates);
        const b = await fedAvgAggregate(modelFrom(parent), updates);
        expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
      }),
      { numRuns: 40 },
    );
  });

  it("median reads each update once per chunk, and once in all with the default budget", async () => {
    let reads = 0;
    const counted = DELTAS.map((d, i) => ({
      ...src(site(i + 1), 1, w(d)),
      bytes: async () => (reads++, w(d)),
    }));
    await medianAggregate(PARENT, counted);
    expect(reads).to.equal(5);
    reads = 0;
    await medianAggregate(PARENT, counted, { chunkBudget: 10 }); // 2 coordinates per chunk: 3 chunks
    expect(reads).to.equal(15);
  });
});
