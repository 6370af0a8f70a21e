import { expect } from "chai";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { Prng } from "../../node/model/prng";
import {
  advertiseKeys,
  answerUnmasking,
  buildUnmaskingMaterial,
  checkCapacity,
  checkMaterial,
  createRoundSecrets,
  dequantizeMean,
  FIELD_PRIME,
  maskStream,
  maskUpdate,
  openShare,
  quantize,
  reconstruct,
  SecAggError,
  ShareMismatchError,
  shareSecrets,
  split,
  unmaskSum,
  x25519,
  x25519PublicKey,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SecAggErrorCode,
  type SecAggParameters,
  type SiteRoundSecrets,
  type UnmaskingAnswer,
} from "../../node/secagg";

const CONTEXT: SecAggContext = {
  chainId: 31337n,
  ledger: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  taskId: 1n,
  round: 3,
};
const PARAMS: SecAggParameters = { scaleBits: 16, clip: 1, threshold: 3 };
const LENGTH = 1_000;

/** Deterministic bytes for the tests (production uses crypto.randomBytes). */
function seededBytes(seed: number): (n: number) => Uint8Array {
  const prng = new Prng(seed, "secagg test bytes");
  return (n) => Uint8Array.from({ length: n }, () => prng.nextInt(256));
}

function expectCode(fn: () => unknown, code: SecAggErrorCode): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SecAggError);
    expect((err as SecAggError).code).to.equal(code);
    return;
  }
  expect.fail(`expected SecAggError ${code}`);
}

interface SimSite {
  wallet: HDNodeWallet;
  secrets: SiteRoundSecrets;
  values: Float32Array;
  weight: number;
  ad: KeyAdvertisement;
  held: HeldShare[];
}

/** Five sites that advertised and exchanged shares, with their plaintext updates. */
async function fiveSites(): Promise<SimSite[]> {
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const sites: SimSite[] = [];
  for (let i = 0; i < 5; i++) {
    const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${10 + i}`);
    const secrets = createRoundSecrets(wallet.address, seededBytes(100 + i));
    const prng = new Prng(200 + i, "values");
    const values = Float32Array.from({ length: LENGTH }, () => (prng.next() * 2 - 1) * 0.05);
    sites.push({
      wallet,
      secrets,
      values,
      weight: 50 + 10 * i,
      ad: await advertiseKeys(CONTEXT, secrets, wallet),
      held: [],
    });
  }
  const ads = sites.map((s) => s.ad);
  for (const s of sites) {
    const { encrypted, own } = shareSecrets(CONTEXT, PARAMS, s.secrets, ads, seededBytes(300));
    s.held.push(own);
    for (const e of encrypted) {
      const to = sites.find((t) => t.wallet.address === e.to) as SimSite;
      to.held.push(openShare(CONTEXT, to.secrets, ads, e));
    }
  }
  return sites;
}

const uniformOf = (i: number) => {
  const prng = new Prng(400 + i, "stochastic rounding");
  return () => prng.next();
};

/** Runs a round in which `uploaders` upload and `answerers` answer; returns the sum and the plaintext sum. */
function round(sites: SimSite[], uploaders: number[], answerers: number[]) {
  const ads = sites.map((s) => s.ad);
  const masked = new Map<string, Uint32Array>();
  const plain = new Uint32Array(LENGTH);
  for (const i of uploaders) {
    const s = sites[i];
    masked.set(
      s.wallet.address,
      maskUpdate(CONTEXT, PARAMS, s.secrets, ads, s.values, s.weight, uniformOf(i)),
    );
    const q = quantize(s.values, s.weight, PARAMS, uniformOf(i));
    for (let k = 0; k < LENGTH; k++) plain[k] = (plain[k] + q[k]) >>> 0;
  }
  const request = {
    survivors: uploaders.map((i) => sites[i].wallet.address),
    dropped: sites.filter((_, i) => !uploaders.includes(i)).map((s) => s.wallet.address),
  };
  const committed = (site: string) => request.survivors.includes(site);
  const answers: UnmaskingAnswer[] = answerers.map((i) =>
    answerUnmasking(
      PARAMS,
      sites[i].secrets,
      sites[i].held,
      ads.map((a) => a.site),
      request,
      committed,
    ),
  );
  const material = buildUnmaskingMaterial(CONTEXT, PARAMS, ads, request, answers);
  return { material, masked, sum: unmaskSum(CONTEXT, material, masked), plain, request, answers };
}

describe("secure aggregation: primitives", function () {
  it("the mask stream is RFC 8439 ChaCha20 (all-zero key and nonce, counter 0)", function () {
    const words = maskStream(Buffer.alloc(32), 4);
    expect(Buffer.from(words.buffer).toString("hex")).to.equal("76b8e0ada0f13d90405d6ae55386bd28");
  });

  it("X25519 is RFC 7748's (section 6.1 keys and shared secret)", function () {
    const alice = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex");
    const bob = Buffer.from("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", "hex");
    expect(x25519PublicKey(alice).toString("hex")).to.equal(
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    );
    expect(x25519(alice, x25519PublicKey(bob)).toString("hex")).to.equal(
      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    );
    expect(() => x25519(alice, Buffer.alloc(32))).to.throw(/low-order/);
  });

  it("the field prime 2^256 − 189 passes Miller–Rabin for 12 bases", function () {
    const p = FIELD_PRIME;
    const power = (b: bigint, e: bigint) => {
      let r = 1n;
      for (b %= p; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
      return r;
    };
    let d = p - 1n;
    let s = 0;
    while (d % 2n === 0n) [d, s] = [d / 2n, s + 1];
    for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n]) {
      let x = power(a, d);
      let probable = x === 1n || x === p - 1n;
      for (let i = 1; i < s && !probable; i++) probable = (x = (x * x) % p) === p - 1n;
      expect(probable, `base ${a}`).to.equal(true);
    }
  });

  it("Shamir: the worked example f(x) = 1234 + 166x rebuilds from any two shares and catches a wrong third", function () {
    // The coefficient 166 comes from random bytes 00…00a6.
    const shares = split(1234n, 2, 3, (n) =>
      Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 0xa6 : 0)),
    );
    expect(shares.map((s) => [s.x, s.y])).to.deep.equal([
      [1, 1400n],
      [2, 1566n],
      [3, 1732n],
    ]);
    for (const pair of [
      [0, 1],
      [0, 2],
      [1, 2],
    ])
      expect(
        reconstruct(
          pair.map((i) => shares[i]),
          2,
        ),
      ).to.equal(1234n);
    expect(reconstruct(shares, 2)).to.equal(1234n);
    expect(() => reconstruct([shares[0], shares[1], { x: 3, y: 1733n }], 2)).to.throw(ShareMismatchError);
    expect(() => reconstruct([shares[0]], 2)).to.throw(ShareMismatchError);
  });

  it("Shamir: a random 256-bit secret, 3 of 5", function () {
    const secret = FIELD_PRIME - 12345n;
    const shares = split(secret, 3, 5, seededBytes(1));
    expect(reconstruct([shares[4], shares[1], shares[2]], 3)).to.equal(secret);
    expect(reconstruct([shares[0], shares[1]], 2)).to.not.equal(secret);
  });

  it("quantisation: exact multiples decode exactly, rounding is unbiased, capacity is checked", function () {
    const p = { scaleBits: 8, clip: 1 };
    const values = Float32Array.from([0.5, -0.25, 2, -3, 0.125]);
    const q = quantize(values, 4, p, () => 0.5);
    expect(Array.from(dequantizeMean(q, 4, p))).to.deep.equal([0.5, -0.25, 1, -1, 0.125]);
    const prng = new Prng(5, "rounding");
    const tiny = new Float32Array(20_000).fill(0.3 / 256);
    const mean =
      dequantizeMean(
        quantize(tiny, 1, p, () => prng.next()),
        1,
        p,
      ).reduce((a, b) => a + b) / 20_000;
    expect(mean).to.be.closeTo(0.3 / 256, 0.02 / 256);
    expect(() => checkCapacity({ scaleBits: 16, clip: 1 }, [10_000, 10_000, 20_000])).to.throw(/2\^31/);
    expect(() => checkCapacity({ scaleBits: 16, clip: 1 }, [300, 300, 300])).to.not.throw();
  });
});

describe("secure aggregation: a round of five sites, threshold 3", function () {
  let sites: SimSite[];

  before(async function () {
    sites = await fiveSites();
  });

  it("with every site: the unmasked sum is exactly the sum of the quantised updates", function () {
    const { sum, plain } = round(sites, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]);
    expect(Buffer.from(sum.buffer).equals(Buffer.from(plain.buffer))).to.equal(true);
    const weight = sites.reduce((a, s) => a + s.weight, 0);
    const mean = dequantizeMean(sum, weight, PARAMS);
    for (const k of [0, 17, 999]) {
      const exact = sites.reduce((a, s) => a + s.values[k] * s.weight, 0) / weight;
      expect(mean[k]).to.be.closeTo(exact, 2 ** -PARAMS.scaleBits);
    }
  });

  it("a site lost after sharing and before uploading: its pairwise masks are rebuilt from its key", function () {
    const { sum, plain, material } = round(sites, [0, 1, 2, 4], [0, 1, 4]);
    expect(material.dropped).to.deep.equal([sites[3].wallet.address].sort());
    expect(Buffer.from(sum.buffer).equals(Buffer.from(plain.buffer))).to.equal(true);
  });

  it("sites lost after uploading and before unmasking: three answers are enough", function () {
    const { sum, plain } = round(sites, [0, 1, 2, 3, 4], [1, 2, 3]);
    expect(Buffer.from(sum.buffer).equals(Buffer.from(plain.buffer))).to.equal(true);
  });

  it("below the threshold the round cannot be unmasked", function () {
    expectCode(() => round(sites, [0, 1], [0, 1]), "too_few_survivors");
    expectCode(() => round(sites, [0, 1, 2, 3, 4], [0, 1]), "too_few_answers");
  });

  it("a masked update alone looks random: it does not correlate with its site's quantised update", function () {
    const ads = sites.map((s) => s.ad);
    const s = sites[0];
    const masked = maskUpdate(CONTEXT, PARAMS, s.secrets, ads, s.values, s.weight, uniformOf(0));
    const q = new Int32Array(quantize(s.values, s.weight, PARAMS, uniformOf(0)).buffer);
    const m = new Int32Array(masked.buffer);
    const mean = (xs: Int32Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [mq, mm] = [mean(q), mean(m)];
    let cov = 0;
    let vq = 0;
    let vm = 0;
    for (let k = 0; k < LENGTH; k++) {
      cov += (q[k] - mq) * (m[k] - mm);
      vq += (q[k] - mq) ** 2;
      vm += (m[k] - mm) ** 2;
    }
    expect(Math.abs(cov / Math.sqrt(vq * vm))).to.be.below(0.1);
  });

  it("the material checks out on its own, and a changed seed, key or signature is caught", function () {
    const { material } = round(sites, [0, 1, 2, 4], [0, 1, 2]);
    checkMaterial(CONTEXT, material);
    const seeds = [...material.selfMaskSeeds];
    seeds[0] = `0x${"11".repeat(32)}`;
    expectCode(() => checkMaterial(CONTEXT, { ...material, selfMaskSeeds: seeds }), "self_mask_mismatch");
    expectCode(
      () => checkMaterial(CONTEXT, { ...material, droppedMaskKeys: [`0x${"22".repeat(32)}`] }),
      "mask_key_mismatch",
    );
    const ads = [...material.advertisements];
    ads[1] = { ...ads[1], sPublicKey: ads[2].sPublicKey };
    expectCode(() => checkMaterial(CONTEXT, { ...material, advertisements: ads }), "bad_advertisement");
    expectCode(() => checkMaterial({ ...CONTEXT, round: 4 }, material), "bad_advertisement");
    expectCode(
      () => checkMaterial(CONTEXT, { ...material, survivors: [...material.survivors].reverse() }),
      "bad_material",
    );
  });
});

describe("secure aggregation: bad input is refused with its own error", function () {
  let sites: SimSite[];
  const ads = () => sites.map((s) => s.ad);

  before(async function () {
    sites = await fiveSites();
  });

  it("a share that fails to decrypt, or reaches the wrong recipient", function () {
    const { encrypted } = shareSecrets(CONTEXT, PARAMS, sites[0].secrets, ads(), seededBytes(7));
    const toOne = encrypted.find((e) => e.to === sites[1].wallet.address)!;
    const flipped = `${toOne.ciphertext.slice(0, -2)}${toOne.ciphertext.endsWith("00") ? "01" : "00"}`;
    expectCode(
      () => openShare(CONTEXT, sites[1].secrets, ads(), { ...toOne, ciphertext: flipped }),
      "share_undecryptable",
    );
    expectCode(() => openShare(CONTEXT, sites[2].secrets, ads(), toOne), "share_misaddressed");
    // Re-addressed to site 2 without re-encrypting: the associated data no longer matches.
    expectCode(
      () => openShare(CONTEXT, sites[2].secrets, ads(), { ...toOne, to: sites[2].wallet.address }),
      "share_undecryptable",
    );
    expectCode(
      () => openShare({ ...CONTEXT, round: 9 }, sites[1].secrets, ads(), toOne),
      "share_undecryptable",
    );
  });

  it("an unmasking request that would reveal an update, overlaps, or names strangers", function () {
    const s = sites[0];
    const all = ads().map((a) => a.site);
    const survivors = all.slice(0, 4);
    const dropped = all.slice(4);
    const answer = (request: { survivors: string[]; dropped: string[] }, committed: (x: string) => boolean) =>
      answerUnmasking(PARAMS, s.secrets, s.held, all, request, committed);
    expectCode(() => answer({ survivors, dropped }, () => true), "unmask_committed_site");
    expectCode(
      () => answer({ survivors, dropped: [...dropped, survivors[1]] }, () => false),
      "unmask_overlap",
    );
    expectCode(
      () => answer({ survivors, dropped: [Wallet.createRandom().address] }, () => false),
      "unmask_unknown_site",
    );
    expectCode(
      () => answer({ survivors: survivors.slice(0, 2), dropped: all.slice(2) }, () => false),
      "too_few_survivors",
    );
    const ok = answer({ survivors, dropped }, (x) => survivors.includes(x));
    expect(ok.selfMaskShares).to.have.length(4);
    expect(ok.maskKeyShares).to.have.length(1);
  });

  it("a forged share in an answer is caught when the secret is rebuilt", function () {
    const all = ads().map((a) => a.site);
    const request = { survivors: all.slice(0, 4), dropped: all.slice(4) };
    const committed = (x: string) => request.survivors.includes(x);
    const answers = [0, 1, 2, 3].map((i) =>
      answerUnmasking(PARAMS, sites[i].secrets, sites[i].held, all, request, committed),
    );
    answers[3].selfMaskShares[0].y = `0x${"33".repeat(32)}`;
    expectCode(() => buildUnmaskingMaterial(CONTEXT, PARAMS, ads(), request, answers), "bad_share");
  });

  it("too few sites to share among, and an advertisement signed by another key", async function () {
    expectCode(() => shareSecrets(CONTEXT, PARAMS, sites[0].secrets, ads().slice(0, 2)), "too_few_sites");
    const forged = await advertiseKeys(CONTEXT, sites[0].secrets, sites[1].wallet);
    expectCode(
      () =>
        checkMaterial(CONTEXT, {
          version: 1,
          advertisements: [forged],
          survivors: [],
          dropped: [],
          selfMaskSeeds: [],
          droppedMaskKeys: [],
        }),
      "bad_advertisement",
    );
  });
});
