import { expect } from "chai";
import { MaskedSums } from "../../node/aggregator/maskedSums";
import { addMask, addMasks } from "../../node/secagg/prg";
import { HDNodeWallet, Mnemonic } from "ethers";
import { fedAvgAggregate, fedAvgSparseAggregate } from "../../node/fl";
import { decodeModel, encodeModel, type NamedTensor } from "../../node/model/format";
import { Prng } from "../../node/model/prng";
import {
  advertiseKeys,
  aggregateMasked,
  answerUnmasking,
  buildUnmaskingMaterial,
  createRoundSecrets,
  maskDelta,
  maskedLayout,
  messageSigner,
  openShare,
  readMasked,
  SecAggError,
  shareSecrets,
  signMessage,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SecAggParameters,
  type SiteRoundSecrets,
} from "../../node/secagg";

const CONTEXT: SecAggContext = {
  chainId: 31337n,
  ledger: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  taskId: 7n,
  round: 2,
};
const PARAMS: SecAggParameters = { scaleBits: 16, clip: 1, threshold: 2 };
const LAYOUT = [
  { name: "dense/kernel", dtype: "float32" as const, shape: [4, 3] },
  { name: "embedding", dtype: "float32" as const, shape: [10, 4] },
];

function tensors(prng: Prng, scale: number, sparseRows = false): NamedTensor[] {
  return LAYOUT.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, (_, j) =>
      sparseRows && t.name === "embedding" && Math.floor(j / 4) % 3 !== 0 ? 0 : (prng.next() * 2 - 1) * scale,
    );
    return { name: t.name, dtype: t.dtype, shape: [...t.shape], data };
  });
}

interface Site {
  wallet: HDNodeWallet;
  secrets: SiteRoundSecrets;
  ad: KeyAdvertisement;
  held: HeldShare[];
  delta: Buffer;
  weight: number;
}

async function sites(count: number, sparse: boolean): Promise<Site[]> {
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const out: Site[] = [];
  for (let i = 0; i < count; i++) {
    const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${20 + i}`);
    const secrets = createRoundSecrets(wallet.address);
    out.push({
      wallet,
      secrets,
      ad: await advertiseKeys(CONTEXT, secrets, wallet),
      held: [],
      delta: encodeModel(tensors(new Prng(i + 1, "delta"), 0.02, sparse)),
      weight: 40 + 25 * i,
    });
  }
  const ads = out.map((s) => s.ad);
  for (const s of out) {
    const { encrypted, own } = shareSecrets(CONTEXT, PARAMS, s.secrets, ads);
    s.held.push(own);
    for (const e of encrypted) {
      const to = out.find((t) => t.wallet.address === e.to) as Site;
      to.held.push(openShare(CONTEXT, to.secrets, ads, e));
    }
  }
  return out;
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  const [x, y] = [decodeModel(a), decodeModel(b)];
  let max = 0;
  x.forEach((t, i) => t.data.forEach((v, j) => (max = Math.max(max, Math.abs(v - y[i].data[j])))));
  return max;
}

/** Masks every uploader's delta, unmasks with the survivors' answers, and returns the secure and plain models. */
async function secureRound(rule: 1 | 2, uploaders: number[]) {
  const all = await sites(4, rule === 2);
  const ads = all.map((s) => s.ad);
  const parent = encodeModel(tensors(new Prng(99, "parent"), 0.5));
  const survivors = uploaders.map((i) => all[i]);
  const inputs = survivors.map((s, k) => {
    const uniform = new Prng(500 + k, "rounding");
    return {
      site: s.wallet.address,
      numSamples: s.weight,
      bytes: maskDelta(CONTEXT, PARAMS, rule, s.secrets, ads, s.delta, LAYOUT, s.weight, () =>
        uniform.next(),
      ),
    };
  });
  const request = {
    survivors: survivors.map((s) => s.wallet.address),
    dropped: all.filter((s) => !survivors.includes(s)).map((s) => s.wallet.address),
  };
  const answers = survivors.map((s) =>
    answerUnmasking(
      PARAMS,
      s.secrets,
      s.held,
      ads.map((a) => a.site),
      request,
      (site) => request.survivors.includes(site),
    ),
  );
  const material = buildUnmaskingMaterial(CONTEXT, PARAMS, ads, request, answers);
  const secure = aggregateMasked(CONTEXT, PARAMS, rule, parent, material, inputs);
  const updates = survivors.map((s) => ({
    site: s.wallet.address,
    numSamples: s.weight,
    bytes: async () => s.delta,
  }));
  const plain = await (rule === 1 ? fedAvgAggregate : fedAvgSparseAggregate)(parent, updates);
  return { secure, plain, parent, inputs, material };
}

describe("secure aggregation: masked updates and the model from their sum", function () {
  it("FedAvg from masked updates with a dropped site matches plaintext FedAvg within the quantisation step", async function () {
    const { secure, plain } = await secureRound(1, [0, 2, 3]);
    expect(maxDifference(secure, plain)).to.be.below(2 ** -14);
  });

  it("sparse FedAvg sums the participation weights: untouched values keep the parent's bits", async function () {
    const { secure, plain, parent } = await secureRound(2, [0, 1, 3]);
    expect(maxDifference(secure, plain)).to.be.below(2 ** -14);
    const [p, s] = [decodeModel(parent), decodeModel(secure)];
    const embedding = p.findIndex((t) => t.name === "embedding");
    // Rows 1 and 2 of the embedding were changed by no site.
    for (let j = 4; j < 12; j++) expect(s[embedding].data[j]).to.equal(p[embedding].data[j]);
  });

  it("a masked update is one int32 tensor of the vector's length and looks nothing like the delta", async function () {
    const { inputs } = await secureRound(2, [0, 1]);
    expect(maskedLayout(LAYOUT, 1)[0].shape).to.deep.equal([52]);
    expect(maskedLayout(LAYOUT, 2)[0].shape).to.deep.equal([78]);
    expect(readMasked(inputs[0].bytes, LAYOUT, 2)).to.have.length(78);
    expect(() => readMasked(inputs[0].bytes, LAYOUT, 1)).to.throw(SecAggError, /does not fit/);
    expect(() => maskedLayout(LAYOUT, 6)).to.throw(SecAggError, /rule 6 cannot run/);
  });

  it("gives the same model bytes for the same inputs in any order (what the auditor recomputes)", async function () {
    const { secure, inputs, material, parent } = await secureRound(1, [1, 2, 3]);
    const again = aggregateMasked(CONTEXT, PARAMS, 1, parent, material, [...inputs].reverse());
    expect(Buffer.from(again).equals(Buffer.from(secure))).to.equal(true);
  });

  it("gives the same model bytes from the masked updates summed as they arrived (MaskedSums)", async function () {
    for (const rule of [1, 2] as const) {
      const { secure, inputs, material, parent } = await secureRound(rule, [0, 2, 3]);
      const sums = new MaskedSums(LAYOUT, rule);
      const uploads = inputs.map((u, k) => ({ site: u.site, updateHash: `0x${String(k).repeat(64)}` }));
      inputs.forEach((u, k) => sums.add(1, u.site, uploads[k].updateHash, u.bytes));
      // The same site twice, and bytes that are no masked update of this task, change nothing.
      sums.add(1, inputs[0].site, uploads[0].updateHash, inputs[0].bytes);
      sums.add(1, "0x00000000000000000000000000000000000000aa", `0x${"9".repeat(64)}`, parent);
      const presummed = sums.sumOf(1, uploads);
      expect(presummed, `rule ${rule}`).to.not.equal(undefined);
      const model = aggregateMasked(CONTEXT, PARAMS, rule, parent, material, inputs, presummed);
      expect(Buffer.from(model).equals(Buffer.from(secure)), `rule ${rule}`).to.equal(true);
      // Another set (a survivor missing, another hash) is not taken from the running sum.
      expect(sums.sumOf(1, uploads.slice(1))).to.equal(undefined);
      expect(
        sums.sumOf(1, [{ ...uploads[0], updateHash: `0x${"7".repeat(64)}` }, ...uploads.slice(1)]),
      ).to.equal(undefined);
      sums.forget(1);
      expect(sums.sumOf(1, uploads)).to.equal(undefined);
    }
  });

  it("adds several masks chunk by chunk exactly as one after the other", function () {
    const seeds = [1, 2, 3].map((k) => new Uint8Array(32).fill(k));
    const start = Uint32Array.from({ length: 200_000 }, (_, i) => (i * 2654435761) >>> 0);
    const one = start.slice();
    addMask(one, seeds[0], 1);
    addMask(one, seeds[1], -1);
    addMask(one, seeds[2], 1);
    const fused = start.slice();
    addMasks(fused, [
      { seed: seeds[0], sign: 1 },
      { seed: seeds[1], sign: -1 },
      { seed: seeds[2], sign: 1 },
    ]);
    expect(Buffer.from(fused.buffer).equals(Buffer.from(one.buffer))).to.equal(true);
  });

  it("signed messages recover their site and fail for another stage, round or body", async function () {
    const [site] = await sites(2, false);
    const body = { shares: [{ to: "0x01", ciphertext: "0xab" }] };
    const signature = await signMessage(CONTEXT, site.wallet, "shares", body);
    expect(messageSigner(CONTEXT, "shares", body, signature)).to.equal(site.wallet.address);
    expect(messageSigner(CONTEXT, "answer", body, signature)).to.not.equal(site.wallet.address);
    expect(messageSigner({ ...CONTEXT, round: 3 }, "shares", body, signature)).to.not.equal(
      site.wallet.address,
    );
    expect(messageSigner(CONTEXT, "shares", { shares: [] }, signature)).to.not.equal(site.wallet.address);
    expect(messageSigner(CONTEXT, "shares", body, "0x1234")).to.equal(undefined);
  });
});
