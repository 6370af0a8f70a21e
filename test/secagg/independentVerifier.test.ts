/**
 * An auditor's own recomputation of a secure-aggregation sum, written from docs/secure-aggregation.md alone:
 * its own HKDF (RFC 5869 over node's HMAC), its own ChaCha20 block function (RFC 8439), its own context bytes and
 * mask signs. It imports nothing from node/secagg except to produce a round to check.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic, verifyTypedData } from "ethers";
import { Prng } from "../../node/model/prng";
import { finishAggregate } from "../../node/fl/deltaSums";
import { encodeModel, readModelHeader, type NamedTensor } from "../../node/model/format";
import {
  advertiseKeys,
  aggregateMasked,
  answerUnmasking,
  buildUnmaskingMaterial,
  createRoundSecrets,
  maskDelta,
  maskUpdate,
  openShare,
  quantize,
  shareSecrets,
  unmaskSum,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SecAggParameters,
  type SiteRoundSecrets,
  type UnmaskingMaterial,
} from "../../node/secagg";

// ---- the document's primitives, re-implemented ----

/** FLM1 by hand (docs/verification.md, section 1): every tensor's name and float32 or int32 values. */
function readFlm1(file: Buffer): { name: string; values: number[] }[] {
  expect(file.subarray(0, 4).toString("latin1")).to.equal("FLM1");
  const count = file.readUInt32LE(4);
  let at = 8;
  const entries: { name: string; dtype: number; size: number }[] = [];
  for (let t = 0; t < count; t++) {
    const nameLength = file.readUInt16LE(at);
    const name = file.subarray(at + 2, at + 2 + nameLength).toString("utf8");
    at += 2 + nameLength;
    const [dtype, rank] = [file[at], file[at + 1]];
    at += 2;
    let size = 1;
    for (let d = 0; d < rank; d++, at += 4) size *= file.readUInt32LE(at);
    entries.push({ name, dtype, size });
  }
  at = Math.ceil(at / 8) * 8;
  return entries.map((e) => {
    const values = Array.from({ length: e.size }, (_, i) =>
      e.dtype === 1 ? file.readFloatLE(at + 4 * i) : file.readInt32LE(at + 4 * i),
    );
    at += 4 * e.size;
    return { name: e.name, values };
  });
}

function hkdf(ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac("sha256", salt).update(ikm).digest();
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac("sha256", prk)
      .update(Buffer.concat([previous, info, Buffer.from([i])]))
      .digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function chacha20Words(key: Buffer, count: number): Uint32Array {
  const rotl = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;
  const k = Array.from({ length: 8 }, (_, i) => key.readUInt32LE(4 * i));
  const out = new Uint32Array(count);
  for (let block = 0; block * 16 < count; block++) {
    const init = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, ...k, block, 0, 0, 0];
    const x = [...init];
    const qr = (a: number, b: number, c: number, d: number) => {
      x[a] = (x[a] + x[b]) >>> 0;
      x[d] = rotl(x[d] ^ x[a], 16);
      x[c] = (x[c] + x[d]) >>> 0;
      x[b] = rotl(x[b] ^ x[c], 12);
      x[a] = (x[a] + x[b]) >>> 0;
      x[d] = rotl(x[d] ^ x[a], 8);
      x[c] = (x[c] + x[d]) >>> 0;
      x[b] = rotl(x[b] ^ x[c], 7);
    };
    for (let r = 0; r < 10; r++) {
      (qr(0, 4, 8, 12), qr(1, 5, 9, 13), qr(2, 6, 10, 14), qr(3, 7, 11, 15));
      (qr(0, 5, 10, 15), qr(1, 6, 11, 12), qr(2, 7, 8, 13), qr(3, 4, 9, 14));
    }
    for (let i = 0; i < 16 && block * 16 + i < count; i++) out[block * 16 + i] = (x[i] + init[i]) >>> 0;
  }
  return out;
}

function rawX25519(priv: Buffer, pub: Buffer): Buffer {
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), priv]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = createPublicKey({
    key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), pub]),
    format: "der",
    type: "spki",
  });
  return diffieHellman({ privateKey, publicKey });
}

const bytes = (h: string) => Buffer.from(h.replace(/^0x/, ""), "hex");
const u256 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, "0"), "hex");

function context(chainId: bigint, ledger: string, taskId: bigint, round: number): Buffer {
  const r = Buffer.alloc(4);
  r.writeUInt32BE(round);
  return Buffer.concat([Buffer.from("fedledger-secagg-v1"), u256(chainId), bytes(ledger), u256(taskId), r]);
}

/** Steps 1–4 of "The auditor's recomputation". */
function auditorSum(
  ctx: Buffer,
  domain: { chainId: bigint; ledger: string; taskId: bigint; round: number },
  m: UnmaskingMaterial,
  masked: Map<string, Uint32Array>,
): Uint32Array {
  const ad = new Map(m.advertisements.map((a) => [a.site.toLowerCase(), a]));
  for (const a of m.advertisements) {
    const signer = verifyTypedData(
      { name: "fedledger", version: "1", chainId: domain.chainId, verifyingContract: domain.ledger },
      {
        KeyAdvertisement: [
          { name: "taskId", type: "uint256" },
          { name: "round", type: "uint32" },
          { name: "cPublicKey", type: "bytes32" },
          { name: "sPublicKey", type: "bytes32" },
          { name: "selfMaskCommitment", type: "bytes32" },
        ],
      },
      { taskId: domain.taskId, round: domain.round, ...a },
      a.signature,
    );
    expect(signer.toLowerCase()).to.equal(a.site.toLowerCase());
  }
  m.survivors.forEach((s, i) => {
    const c = createHash("sha256")
      .update(Buffer.concat([ctx, bytes(s), bytes(m.selfMaskSeeds[i])]))
      .digest("hex");
    expect(`0x${c}`).to.equal(ad.get(s.toLowerCase())?.selfMaskCommitment.toLowerCase());
  });
  const length = [...masked.values()][0].length;
  const sum = new Uint32Array(length);
  for (const s of m.survivors) {
    const words = masked.get(s) as Uint32Array;
    for (let i = 0; i < length; i++) sum[i] = (sum[i] + words[i]) >>> 0;
  }
  m.survivors.forEach((s, i) => {
    const stream = chacha20Words(bytes(m.selfMaskSeeds[i]), length);
    for (let k = 0; k < length; k++) sum[k] = (sum[k] - stream[k]) >>> 0;
  });
  m.dropped.forEach((d, i) => {
    for (const u of m.survivors) {
      const [lo, hi] = [u, d].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
      const shared = rawX25519(bytes(m.droppedMaskKeys[i]), bytes(ad.get(u.toLowerCase())!.sPublicKey));
      const seed = hkdf(shared, ctx, Buffer.concat([Buffer.from("pairwise-mask"), bytes(lo), bytes(hi)]), 32);
      const stream = chacha20Words(seed, length);
      const uBelow = u.toLowerCase() < d.toLowerCase();
      for (let k = 0; k < length; k++) sum[k] = (uBelow ? sum[k] - stream[k] : sum[k] + stream[k]) >>> 0;
    }
  });
  return sum;
}

/** A round after stages 1 and 2: `count` dev accounts from `firstAccount` advertised and exchanged shares. */
async function sharedRound(
  domain: SecAggContext,
  params: SecAggParameters,
  count: number,
  firstAccount: number,
) {
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const wallets = Array.from({ length: count }, (_, i) =>
    HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${firstAccount + i}`),
  );
  const secrets = wallets.map((w) => createRoundSecrets(w.address));
  const ads = await Promise.all(secrets.map((x, i) => advertiseKeys(domain, x, wallets[i])));
  const held: HeldShare[][] = secrets.map(() => []);
  secrets.forEach((x, i) => {
    const { encrypted, own } = shareSecrets(domain, params, x, ads);
    held[i].push(own);
    for (const e of encrypted) {
      const j = wallets.findIndex((w) => w.address === e.to);
      held[j].push(openShare(domain, secrets[j], ads, e));
    }
  });
  return { wallets, secrets, ads, held };
}

/** The material built from the answers of the given survivors (each with its secrets and held shares). */
function materialOf(
  domain: SecAggContext,
  params: SecAggParameters,
  ads: KeyAdvertisement[],
  request: { survivors: string[]; dropped: string[] },
  answerers: [SiteRoundSecrets, HeldShare[]][],
): UnmaskingMaterial {
  const answers = answerers.map(([secrets, held]) =>
    answerUnmasking(
      params,
      secrets,
      held,
      ads.map((a) => a.site),
      request,
      (x) => request.survivors.includes(x),
    ),
  );
  return buildUnmaskingMaterial(domain, params, ads, request, answers);
}

describe("secure aggregation: an independent verifier rebuilds the sum from the document", function () {
  it("gets the same words as unmaskSum and as the plaintext sum, with one site dropped", async function () {
    const domain = {
      chainId: 31337n,
      ledger: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      taskId: 2n,
      round: 1,
    };
    const params = { scaleBits: 12, clip: 0.5, threshold: 2 };
    const { wallets, secrets, ads, held } = await sharedRound(domain, params, 4, 20);
    const survivors = [0, 2, 3];
    const masked = new Map<string, Uint32Array>();
    const plain = new Uint32Array(300);
    for (const i of survivors) {
      const prng = new Prng(i, "values");
      const values = Float32Array.from({ length: 300 }, () => prng.next() - 0.5);
      const uniform = () => 0.5;
      masked.set(wallets[i].address, maskUpdate(domain, params, secrets[i], ads, values, 10 + i, uniform));
      const q = quantize(values, 10 + i, params, uniform);
      for (let k = 0; k < 300; k++) plain[k] = (plain[k] + q[k]) >>> 0;
    }
    const request = { survivors: survivors.map((i) => wallets[i].address), dropped: [wallets[1].address] };
    const material = materialOf(
      domain,
      params,
      ads,
      request,
      survivors.map((i) => [secrets[i], held[i]]),
    );
    const ctx = context(domain.chainId, domain.ledger, domain.taskId, domain.round);
    const mine = auditorSum(ctx, domain, material, masked);
    expect(Buffer.from(mine.buffer).equals(Buffer.from(unmaskSum(domain, material, masked).buffer))).to.equal(
      true,
    );
    expect(Buffer.from(mine.buffer).equals(Buffer.from(plain.buffer))).to.equal(true);
  });

  it("its ChaCha20 and HKDF match the RFC vectors", function () {
    const words = chacha20Words(Buffer.alloc(32), 4);
    expect(Buffer.from(words.buffer).toString("hex")).to.equal("76b8e0ada0f13d90405d6ae55386bd28");
    // RFC 5869 test case 1.
    const okm = hkdf(
      Buffer.alloc(22, 0x0b),
      Buffer.from("000102030405060708090a0b0c", "hex"),
      Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex"),
      42,
    );
    expect(okm.toString("hex")).to.equal(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });

  it("recomputes a sparse-FedAvg model from masked FLM1 updates as docs/verification.md section 8 says", async function () {
    const domain = {
      chainId: 31337n,
      ledger: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      taskId: 3n,
      round: 2,
    };
    const params = { scaleBits: 16, clip: 1, threshold: 2 };
    const layout = [
      { name: "b", dtype: "float32" as const, shape: [3] },
      { name: "a", dtype: "float32" as const, shape: [2, 2] },
    ];
    const tensors = (seed: number, zeroFrom: number): NamedTensor[] =>
      layout.map((l) => {
        const prng = new Prng(seed, l.name);
        const n = l.shape.reduce((x, y) => x * y, 1);
        return {
          ...l,
          data: Float32Array.from({ length: n }, (_, j) => (j >= zeroFrom ? 0 : prng.next() - 0.5)),
        };
      });
    const parent = encodeModel(tensors(99, 9));
    const { wallets, secrets, ads, held } = await sharedRound(domain, params, 3, 30);
    // Sites 0 and 1 upload (site 1 leaves the last values of each tensor untouched); site 2 drops out after sharing.
    const weights = [30, 50];
    const inputs = [0, 1].map((i) => ({
      site: wallets[i].address,
      numSamples: weights[i],
      bytes: maskDelta(
        domain,
        params,
        2,
        secrets[i],
        ads,
        encodeModel(tensors(i, i === 1 ? 2 : 9)),
        layout,
        weights[i],
        () => 0.5,
      ),
    }));
    const request = { survivors: inputs.map((u) => u.site), dropped: [wallets[2].address] };
    const material = materialOf(
      domain,
      params,
      ads,
      request,
      [0, 1].map((i) => [secrets[i], held[i]]),
    );

    // Section 8: the masked words of each update, their unmasked sum, then the rule's finish per value.
    const masked = new Map(
      inputs.map((u) => {
        const [only] = readFlm1(u.bytes);
        expect(only.name).to.equal("secagg.masked");
        return [u.site, Uint32Array.from(only.values, (v) => v >>> 0)];
      }),
    );
    const ctx = context(domain.chainId, domain.ledger, domain.taskId, domain.round);
    const sum = Int32Array.from(auditorSum(ctx, domain, material, masked), (w) => w | 0);
    const parentTensors = readFlm1(parent);
    const n = parentTensors.reduce((k, t) => k + t.values.length, 0);
    const expected: number[] = [];
    let j = 0;
    for (const t of parentTensors)
      for (const p of t.values) {
        const S = sum[j] / 2 ** params.scaleBits;
        // Two 16-bit participation lanes per word: even values low, odd values high.
        const lanes = sum[n + (j >> 1)] >>> 0;
        const W = j % 2 === 0 ? lanes & 0xffff : lanes >>> 16;
        expected.push(S === 0 ? p : Math.fround(p + S / W));
        j++;
      }
    const recorded = aggregateMasked(domain, params, 2, parent, material, inputs);
    const got = readFlm1(Buffer.from(recorded)).flatMap((t) => t.values);
    expect(got).to.deep.equal(expected);
    // The last value (index 6, even: the low lane of word n + 3) was left untouched by site 1.
    expect(sum[n + 3] & 0xffff, "the value site 1 left untouched has site 0's weight only").to.equal(30);
  });

  it("the worked example of docs/verification.md section 8 gives its numbers", function () {
    const parent = encodeModel([
      { name: "w", dtype: "float32", shape: [3], data: Float32Array.from([0.5, -1, 2]) },
    ]);
    const q = Int32Array.from([131072, -327680, 0, 2621480, 0]);
    expect(Buffer.from(q.buffer).toString("hex")).to.equal(
      "00000200" + "0000fbff" + "00000000" + "28002800" + "00000000",
    );
    const lanes = [q[3] & 0xffff, q[3] >>> 16, q[4] & 0xffff];
    expect(lanes).to.deep.equal([40, 40, 0]);
    const header = readModelHeader(parent);
    const sums = {
      header,
      offsets: [0],
      sums: Float64Array.from([q[0], q[1], q[2]], (v) => v / 2 ** 16),
      total: 40,
    };
    const model = finishAggregate(parent, sums, Float64Array.from(lanes));
    const values = readFlm1(Buffer.from(model))[0].values;
    expect(values).to.deep.equal([Math.fround(0.55), -1.125, 2]);
    expect(
      Buffer.from(Float32Array.from([values[0]]).buffer)
        .readUInt32LE(0)
        .toString(16),
    ).to.equal("3f0ccccd");
  });
});
