/**
 * Secure aggregation (Bonawitz et al., CCS 2017) for one round, as pure steps: what a site computes and sends
 * at each stage, and what the aggregator does with it. The services carry the messages; this module holds the
 * cryptography. docs/secure-aggregation.md walks through the stages:
 *
 *   1. advertise: each site signs two fresh X25519 public keys (c for share encryption, s for masks) and a
 *      commitment to its self-mask seed b with its registered key (EIP-712, the upload domain);
 *   2. share: each site Shamir-shares its s secret key and b, t of n, among the sites that advertised, and
 *      encrypts each recipient's shares to it (ChaCha20-Poly1305);
 *   3. upload: each site uploads its weighted, quantised update plus its self mask and its pairwise masks with
 *      every other site that shared (masks of surviving pairs cancel in the sum);
 *   4. unmask: each surviving site returns its shares of the survivors' b and of the dropped sites' s keys; the
 *      aggregator rebuilds them, checks each against its advertisement, and removes what does not cancel.
 *
 * No site ever reveals both secrets of one site, so no individual update can be unmasked: a site refuses to
 * give a share of the s key of a site that committed an update on the ledger.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { getAddress, TypedDataEncoder, verifyTypedData, type TypedDataField } from "ethers";
import { canonicalJson } from "../fl/metrics";
import { updateDomain, type TypedDataSigner } from "../fl/signature";
import {
  addressBytes,
  contextBytes,
  pairwiseSeed,
  shareKey,
  sortSites,
  x25519PublicKey,
  type SecAggContext,
} from "./context";
import { addMasks, type SignedMask } from "./prg";
import { quantize, type QuantizationParameters, type UniformSource } from "./quantize";
import { FIELD_PRIME, fromBytes32, reconstruct, split, toBytes32, type Share } from "./shamir";

/** A task's secure-aggregation parameters. */
export interface SecAggParameters extends QuantizationParameters {
  /** Shares needed to rebuild a secret; also the fewest sites a round may end with. */
  threshold: number;
}

/** Why a secure-aggregation step refused; each code is documented in docs/secure-aggregation.md. */
export type SecAggErrorCode =
  | "bad_advertisement"
  | "too_few_sites"
  | "share_undecryptable"
  | "share_misaddressed"
  | "unmask_overlap"
  | "unmask_unknown_site"
  | "unmask_committed_site"
  | "unmask_uncommitted_survivor"
  | "too_few_survivors"
  | "too_few_answers"
  | "bad_share"
  | "self_mask_mismatch"
  | "mask_key_mismatch"
  | "bad_material";

/** A refused secure-aggregation step. */
export class SecAggError extends Error {
  constructor(
    readonly code: SecAggErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a site keeps secret for one round. */
export interface SiteRoundSecrets {
  site: string;
  /** X25519 private key for share encryption. */
  cSecret: Buffer;
  /** X25519 private key for pairwise masks (a field element, so it can be shared). */
  sSecret: Buffer;
  /** Seed of the self mask (a field element). */
  selfSeed: Buffer;
}

/** A site's signed keys for one round. Hex fields are 0x-prefixed, 32 bytes. */
export interface KeyAdvertisement {
  site: string;
  cPublicKey: string;
  sPublicKey: string;
  /** SHA-256(context ‖ site ‖ self-mask seed). */
  selfMaskCommitment: string;
  /** EIP-712 signature of the site's registered key over {@link ADVERTISEMENT_TYPES}. */
  signature: string;
}

/** The EIP-712 type of a key advertisement (domain: the upload domain, see node/fl/signature.ts). */
export const ADVERTISEMENT_TYPES: Record<string, TypedDataField[]> = {
  KeyAdvertisement: [
    { name: "taskId", type: "uint256" },
    { name: "round", type: "uint32" },
    { name: "cPublicKey", type: "bytes32" },
    { name: "sPublicKey", type: "bytes32" },
    { name: "selfMaskCommitment", type: "bytes32" },
  ],
};

/** The shares one site sends another, encrypted. */
export interface EncryptedShare {
  from: string;
  to: string;
  /** ChaCha20-Poly1305 ciphertext ‖ 16-byte tag, 0x hex. */
  ciphertext: string;
}

/** Shares a site holds of another site's secrets (decrypted, or its own). */
export interface HeldShare {
  /** Whose secrets these are shares of. */
  owner: string;
  x: number;
  /** Share of the owner's s key. */
  s: bigint;
  /** Share of the owner's self-mask seed. */
  b: bigint;
}

/** What the aggregator asks the surviving sites for. */
export interface UnmaskingRequest {
  /** Sites whose masked update is in the sum: their self-mask seeds are rebuilt. */
  survivors: string[];
  /** Sites that shared keys but uploaded nothing: their s keys are rebuilt. */
  dropped: string[];
}

/** One site's answer: its shares of the survivors' seeds and of the dropped sites' s keys. */
export interface UnmaskingAnswer {
  from: string;
  selfMaskShares: { owner: string; x: number; y: string }[];
  maskKeyShares: { owner: string; x: number; y: string }[];
}

/**
 * What the auditor needs besides the masked updates to recompute the sum; stored as a content-addressed object
 * whose hash the round's finalisation records.
 */
export interface UnmaskingMaterial {
  version: 1;
  /** Every site that shared keys (sorted), with its signed advertisement. */
  advertisements: KeyAdvertisement[];
  /** Sites whose masked updates are summed (sorted). */
  survivors: string[];
  /** Sites that shared keys and uploaded nothing (sorted). */
  dropped: string[];
  /** The rebuilt self-mask seed of each survivor, 0x hex, in `survivors` order. */
  selfMaskSeeds: string[];
  /** The rebuilt s private key of each dropped site, 0x hex, in `dropped` order. */
  droppedMaskKeys: string[];
}

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const unhex = (h: string) => Buffer.from(h.replace(/^0x/, ""), "hex");

function randomFieldBytes(random: (n: number) => Uint8Array): Buffer {
  for (;;) {
    const b = Buffer.from(random(32));
    if (BigInt(hex(b)) < FIELD_PRIME) return b;
  }
}

/** Fresh secrets for one round (the s key and seed are below the field prime, so they can be shared). */
export function createRoundSecrets(
  site: string,
  random: (n: number) => Uint8Array = randomBytes,
): SiteRoundSecrets {
  return {
    site: getAddress(site),
    cSecret: Buffer.from(random(32)),
    sSecret: randomFieldBytes(random),
    selfSeed: randomFieldBytes(random),
  };
}

/** SHA-256(context ‖ site ‖ seed): what an advertisement commits the self-mask seed to. */
export function selfMaskCommitment(c: SecAggContext, site: string, seed: Uint8Array): string {
  return hex(
    createHash("sha256")
      .update(Buffer.concat([contextBytes(c), addressBytes(site), seed]))
      .digest(),
  );
}

function advertisementValue(c: SecAggContext, a: Omit<KeyAdvertisement, "site" | "signature">) {
  return {
    taskId: c.taskId,
    round: BigInt(c.round),
    cPublicKey: a.cPublicKey,
    sPublicKey: a.sPublicKey,
    selfMaskCommitment: a.selfMaskCommitment,
  };
}

/**
 * Stage 1: the site's signed key advertisement.
 *
 * @example
 * const secrets = createRoundSecrets(wallet.address);
 * const ad = await advertiseKeys(context, secrets, wallet);
 */
export async function advertiseKeys(
  c: SecAggContext,
  secrets: SiteRoundSecrets,
  signer: TypedDataSigner,
): Promise<KeyAdvertisement> {
  const unsigned = {
    cPublicKey: hex(x25519PublicKey(secrets.cSecret)),
    sPublicKey: hex(x25519PublicKey(secrets.sSecret)),
    selfMaskCommitment: selfMaskCommitment(c, secrets.site, secrets.selfSeed),
  };
  const signature = await signer.signTypedData(
    updateDomain({ chainId: c.chainId, ledger: c.ledger }),
    ADVERTISEMENT_TYPES,
    advertisementValue(c, unsigned),
  );
  return { site: secrets.site, ...unsigned, signature };
}

/** Throws SecAggError("bad_advertisement") unless `ad` is well-formed and signed by its site. */
export function checkAdvertisement(c: SecAggContext, ad: KeyAdvertisement): void {
  const fields = [ad.cPublicKey, ad.sPublicKey, ad.selfMaskCommitment];
  if (!fields.every((f) => /^0x[0-9a-fA-F]{64}$/.test(f)))
    throw new SecAggError("bad_advertisement", `the advertisement of ${ad.site} has a malformed key`);
  let signer: string;
  try {
    signer = verifyTypedData(
      updateDomain({ chainId: c.chainId, ledger: c.ledger }),
      ADVERTISEMENT_TYPES,
      advertisementValue(c, ad),
      ad.signature,
    );
  } catch {
    throw new SecAggError("bad_advertisement", `the advertisement of ${ad.site} has a malformed signature`);
  }
  if (getAddress(signer) !== getAddress(ad.site))
    throw new SecAggError("bad_advertisement", `the advertisement of ${ad.site} is signed by ${signer}`);
}

/** The EIP-712 digest of an advertisement (what its signature signs). */
export function advertisementDigest(c: SecAggContext, ad: KeyAdvertisement): string {
  return TypedDataEncoder.hash(
    updateDomain({ chainId: c.chainId, ledger: c.ledger }),
    ADVERTISEMENT_TYPES,
    advertisementValue(c, ad),
  );
}

/** The advertisements in site order, with each site at most once. */
function ordered(ads: readonly KeyAdvertisement[]): KeyAdvertisement[] {
  const bySite = new Map(ads.map((a) => [getAddress(a.site), a]));
  if (bySite.size !== ads.length) throw new SecAggError("bad_advertisement", "a site advertised twice");
  return sortSites([...bySite.keys()]).map((s) => bySite.get(s) as KeyAdvertisement);
}

function aad(c: SecAggContext, from: string, to: string): Buffer {
  return Buffer.concat([contextBytes(c), addressBytes(from), addressBytes(to)]);
}

/**
 * Stage 2: the site's shares of its s key and self-mask seed for every site that advertised (`ads`, itself
 * included), encrypted to each; its own shares come back as `own`.
 */
export function shareSecrets(
  c: SecAggContext,
  p: SecAggParameters,
  secrets: SiteRoundSecrets,
  ads: readonly KeyAdvertisement[],
  random: (n: number) => Uint8Array = randomBytes,
): { encrypted: EncryptedShare[]; own: HeldShare } {
  const sites = ordered(ads);
  if (sites.length < p.threshold)
    throw new SecAggError(
      "too_few_sites",
      `${sites.length} site(s) advertised; the threshold is ${p.threshold}`,
    );
  const me = getAddress(secrets.site);
  const sShares = split(fromBytes32(secrets.sSecret), p.threshold, sites.length, random);
  const bShares = split(fromBytes32(secrets.selfSeed), p.threshold, sites.length, random);
  const encrypted: EncryptedShare[] = [];
  let own: HeldShare | undefined;
  sites.forEach((ad, i) => {
    const to = getAddress(ad.site);
    if (to === me) {
      own = { owner: me, x: i + 1, s: sShares[i].y, b: bShares[i].y };
      return;
    }
    const key = shareKey(c, secrets.cSecret, unhex(ad.cPublicKey), me, to);
    const cipher = createCipheriv("chacha20-poly1305", key, Buffer.alloc(12), { authTagLength: 16 });
    cipher.setAAD(aad(c, me, to), { plaintextLength: 66 });
    const x = Buffer.alloc(2);
    x.writeUInt16BE(i + 1);
    const body = Buffer.concat([
      cipher.update(Buffer.concat([x, toBytes32(sShares[i].y), toBytes32(bShares[i].y)])),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    encrypted.push({ from: me, to, ciphertext: hex(body) });
  });
  if (!own) throw new SecAggError("too_few_sites", `${me} is not among the advertised sites`);
  return { encrypted, own };
}

/** Decrypts shares sent to this site; refuses a share for someone else, or one that fails to decrypt. */
export function openShare(
  c: SecAggContext,
  secrets: SiteRoundSecrets,
  ads: readonly KeyAdvertisement[],
  share: EncryptedShare,
): HeldShare {
  const me = getAddress(secrets.site);
  if (getAddress(share.to) !== me)
    throw new SecAggError("share_misaddressed", `a share for ${share.to} was delivered to ${me}`);
  const sites = ordered(ads);
  const from = sites.find((a) => getAddress(a.site) === getAddress(share.from));
  if (!from) throw new SecAggError("share_undecryptable", `${share.from} did not advertise keys this round`);
  const body = unhex(share.ciphertext);
  if (body.length !== 66 + 16)
    throw new SecAggError("share_undecryptable", `the share from ${share.from} has the wrong length`);
  const key = shareKey(c, secrets.cSecret, unhex(from.cPublicKey), getAddress(share.from), me);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv("chacha20-poly1305", key, Buffer.alloc(12), { authTagLength: 16 });
    decipher.setAAD(aad(c, getAddress(share.from), me), { plaintextLength: 66 });
    decipher.setAuthTag(body.subarray(66));
    plain = Buffer.concat([decipher.update(body.subarray(0, 66)), decipher.final()]);
  } catch {
    throw new SecAggError("share_undecryptable", `the share from ${share.from} fails to decrypt`);
  }
  const x = plain.readUInt16BE(0);
  const myIndex = sites.findIndex((a) => getAddress(a.site) === me) + 1;
  if (x !== myIndex)
    throw new SecAggError(
      "share_misaddressed",
      `the share from ${share.from} is for x = ${x}, not ${myIndex}`,
    );
  try {
    return {
      owner: getAddress(share.from),
      x,
      s: fromBytes32(plain.subarray(2, 34)),
      b: fromBytes32(plain.subarray(34)),
    };
  } catch {
    throw new SecAggError("bad_share", `the share from ${share.from} is not a field element`);
  }
}

/**
 * Stage 3: adds to `words`, in place, the site's self mask and the pairwise mask with each other site in
 * `sharedAds` (the shared set, itself included): added when its address is below the other's, subtracted when
 * above.
 */
export function applyMasks(
  c: SecAggContext,
  secrets: SiteRoundSecrets,
  sharedAds: readonly KeyAdvertisement[],
  words: Uint32Array,
): Uint32Array {
  const me = getAddress(secrets.site);
  const masks: SignedMask[] = [{ seed: secrets.selfSeed, sign: 1 }];
  for (const ad of ordered(sharedAds)) {
    const other = getAddress(ad.site);
    if (other === me) continue;
    const seed = pairwiseSeed(c, secrets.sSecret, unhex(ad.sPublicKey), me, other);
    masks.push({ seed, sign: me.toLowerCase() < other.toLowerCase() ? 1 : -1 });
  }
  addMasks(words, masks);
  return words;
}

/**
 * Stage 3: the site's masked update: its quantised, weighted values with {@link applyMasks}'s masks added.
 */
export function maskUpdate(
  c: SecAggContext,
  p: SecAggParameters,
  secrets: SiteRoundSecrets,
  sharedAds: readonly KeyAdvertisement[],
  values: Float32Array,
  weight: number | bigint,
  uniform: UniformSource,
): Uint32Array {
  return applyMasks(c, secrets, sharedAds, quantize(values, weight, p, uniform));
}

/**
 * Stage 4, at a surviving site: its shares of the survivors' self-mask seeds and of the dropped sites' s keys.
 * Refuses a request that names a site on both sides, names a site that did not share, leaves fewer survivors
 * than the threshold, names a survivor that committed no update, or asks for the s key of a site that
 * committed an update (`committed`, read from the ledger once the commit window is closed): with that key and
 * the seed, the site's update could be unmasked alone. The ledger is the one view every site shares, so no two
 * sites can be made to reveal both secrets of one site. A site answers one request per round.
 */
export function answerUnmasking(
  p: SecAggParameters,
  secrets: SiteRoundSecrets,
  held: readonly HeldShare[],
  sharedSites: readonly string[],
  request: UnmaskingRequest,
  committed: (site: string) => boolean,
): UnmaskingAnswer {
  const shared = new Set(sharedSites.map((s) => getAddress(s)));
  const survivors = sortSites(request.survivors);
  const dropped = sortSites(request.dropped);
  const overlap = survivors.filter((s) => dropped.includes(s));
  if (overlap.length > 0)
    throw new SecAggError("unmask_overlap", `${overlap[0]} is asked for as survivor and as dropped`);
  for (const s of [...survivors, ...dropped])
    if (!shared.has(s)) throw new SecAggError("unmask_unknown_site", `${s} did not share keys this round`);
  if (survivors.length < p.threshold)
    throw new SecAggError(
      "too_few_survivors",
      `${survivors.length} survivor(s) is below the threshold ${p.threshold}`,
    );
  for (const s of survivors)
    if (!committed(s))
      throw new SecAggError(
        "unmask_uncommitted_survivor",
        `${s} committed no update; it cannot be a survivor`,
      );
  for (const s of dropped)
    if (committed(s))
      throw new SecAggError("unmask_committed_site", `${s} committed an update; its mask key stays secret`);
  const byOwner = new Map(held.map((h) => [getAddress(h.owner), h]));
  const pick = (owner: string, field: "s" | "b") => {
    const h = byOwner.get(owner);
    if (!h) throw new SecAggError("bad_share", `no share of ${owner} is held`);
    return { owner, x: h.x, y: hex(toBytes32(h[field])) };
  };
  return {
    from: getAddress(secrets.site),
    selfMaskShares: survivors.map((s) => pick(s, "b")),
    maskKeyShares: dropped.map((s) => pick(s, "s")),
  };
}

function rebuild(
  p: SecAggParameters,
  answers: readonly UnmaskingAnswer[],
  owner: string,
  field: "selfMaskShares" | "maskKeyShares",
): Buffer {
  const shares: Share[] = [];
  for (const a of answers)
    for (const s of a[field]) if (getAddress(s.owner) === owner) shares.push({ x: s.x, y: BigInt(s.y) });
  if (shares.length < p.threshold)
    throw new SecAggError("too_few_answers", `${shares.length} share(s) of ${owner}, below ${p.threshold}`);
  try {
    return toBytes32(reconstruct(shares, p.threshold));
  } catch (err) {
    throw new SecAggError("bad_share", `the shares of ${owner} disagree: ${(err as Error).message}`);
  }
}

/**
 * Stage 4, at the aggregator: rebuilds the survivors' seeds and the dropped sites' s keys from at least
 * `threshold` answers, checks each against its advertisement, and returns the unmasking material.
 */
export function buildUnmaskingMaterial(
  c: SecAggContext,
  p: SecAggParameters,
  sharedAds: readonly KeyAdvertisement[],
  request: UnmaskingRequest,
  answers: readonly UnmaskingAnswer[],
): UnmaskingMaterial {
  if (answers.length < p.threshold)
    throw new SecAggError(
      "too_few_answers",
      `${answers.length} answer(s), below the threshold ${p.threshold}`,
    );
  const survivors = sortSites(request.survivors);
  const dropped = sortSites(request.dropped);
  const material: UnmaskingMaterial = {
    version: 1,
    advertisements: ordered(sharedAds),
    survivors,
    dropped,
    selfMaskSeeds: survivors.map((s) => hex(rebuild(p, answers, s, "selfMaskShares"))),
    droppedMaskKeys: dropped.map((s) => hex(rebuild(p, answers, s, "maskKeyShares"))),
  };
  checkMaterial(c, material);
  return material;
}

/**
 * Checks unmasking material on its own: advertisements signed by their sites, survivors and dropped sites
 * disjoint and among the advertisers, every seed matching its site's commitment and every s key its site's
 * public key. The aggregator runs it before storing the material; the auditor runs it again.
 */
export function checkMaterial(c: SecAggContext, m: UnmaskingMaterial): void {
  if (m.version !== 1) throw new SecAggError("bad_material", `unknown material version ${String(m.version)}`);
  const ads = ordered(m.advertisements);
  for (const ad of ads) checkAdvertisement(c, ad);
  const bySite = new Map(ads.map((a) => [getAddress(a.site), a]));
  const survivors = m.survivors.map((s) => getAddress(s));
  const dropped = m.dropped.map((s) => getAddress(s));
  if (survivors.join() !== sortSites(survivors).join() || dropped.join() !== sortSites(dropped).join())
    throw new SecAggError("bad_material", "survivors and dropped sites must be sorted and distinct");
  if (survivors.length !== m.selfMaskSeeds.length || dropped.length !== m.droppedMaskKeys.length)
    throw new SecAggError("bad_material", "one seed per survivor and one key per dropped site");
  for (const s of [...survivors, ...dropped])
    if (!bySite.has(s)) throw new SecAggError("bad_material", `${s} did not advertise keys`);
  if (survivors.some((s) => dropped.includes(s)))
    throw new SecAggError("bad_material", "a site is both survivor and dropped");
  if (survivors.length + dropped.length !== ads.length)
    throw new SecAggError("bad_material", "every site that shared keys is a survivor or dropped");
  survivors.forEach((s, i) => {
    if (
      selfMaskCommitment(c, s, unhex(m.selfMaskSeeds[i])) !== bySite.get(s)?.selfMaskCommitment.toLowerCase()
    )
      throw new SecAggError("self_mask_mismatch", `the self-mask seed of ${s} does not match its commitment`);
  });
  dropped.forEach((s, i) => {
    if (hex(x25519PublicKey(unhex(m.droppedMaskKeys[i]))) !== bySite.get(s)?.sPublicKey.toLowerCase())
      throw new SecAggError("mask_key_mismatch", `the mask key of ${s} does not match its public key`);
  });
}

/**
 * The sum of the survivors' quantised, weighted updates, from their masked updates and the material: Σ masked,
 * minus each survivor's self mask, minus the pairwise masks between survivors and dropped sites (the masks
 * between two survivors cancel). The aggregator and the auditor compute it the same way.
 *
 * @example
 * checkMaterial(context, material);
 * const sum = unmaskSum(context, material, maskedBySite);
 */
export function unmaskSum(
  c: SecAggContext,
  m: UnmaskingMaterial,
  masked: ReadonlyMap<string, Uint32Array>,
): Uint32Array {
  const survivors = m.survivors.map((s) => getAddress(s));
  const keys = [...masked.keys()];
  checkSurvivors(m, keys);
  const length = masked.get(survivors[0])?.length ?? 0;
  const sum = new Uint32Array(length);
  for (const [site, words] of masked) {
    if (words.length !== length)
      throw new SecAggError("bad_material", `the update of ${site} has another length`);
    for (let i = 0; i < length; i++) sum[i] = (sum[i] + words[i]) >>> 0;
  }
  return removeMasks(c, m, sum);
}

/** Throws SecAggError("bad_material") unless `sites` are exactly the material's survivors. */
function checkSurvivors(m: UnmaskingMaterial, sites: readonly string[]): void {
  const survivors = m.survivors.map((s) => getAddress(s));
  const keys = sites.map((s) => getAddress(s));
  if (keys.length !== survivors.length || !survivors.every((s) => keys.includes(s)))
    throw new SecAggError("bad_material", "the masked updates are not exactly the survivors'");
}

/**
 * {@link unmaskSum} for masked updates already added up (modulo 2^32) as they arrived: `sum` is Σ masked of
 * exactly `sites`, which must be the survivors. Returns a new array; `sum` is left as it was.
 */
export function unmaskPresummed(
  c: SecAggContext,
  m: UnmaskingMaterial,
  sites: readonly string[],
  sum: Uint32Array,
): Uint32Array {
  checkSurvivors(m, sites);
  return removeMasks(c, m, sum.slice());
}

/** Takes the self masks of the survivors and the survivors' pairwise masks with dropped sites out of `sum`. */
function removeMasks(c: SecAggContext, m: UnmaskingMaterial, sum: Uint32Array): Uint32Array {
  const survivors = m.survivors.map((s) => getAddress(s));
  const masks: SignedMask[] = survivors.map((_, i) => ({ seed: unhex(m.selfMaskSeeds[i]), sign: -1 }));
  const pub = new Map(m.advertisements.map((a) => [getAddress(a.site), unhex(a.sPublicKey)]));
  m.dropped.forEach((d, i) => {
    const dropped = getAddress(d);
    const key = unhex(m.droppedMaskKeys[i]);
    for (const s of survivors) {
      const seed = pairwiseSeed(c, key, pub.get(s) as Buffer, dropped, s);
      // The survivor added the pair's mask when its address is below the dropped site's: take it back out.
      masks.push({ seed, sign: s.toLowerCase() < dropped.toLowerCase() ? -1 : 1 });
    }
  });
  addMasks(sum, masks);
  return sum;
}

/** What a signed secure-aggregation message carries: its shares, or its unmasking answer. */
export type SecAggMessageStage = "shares" | "answer";

/** The EIP-712 type of a site's shares and unmasking answers (domain: the upload domain). */
export const MESSAGE_TYPES: Record<string, TypedDataField[]> = {
  SecAggMessage: [
    { name: "taskId", type: "uint256" },
    { name: "round", type: "uint32" },
    { name: "stage", type: "string" },
    { name: "bodyHash", type: "bytes32" },
  ],
};

/** SHA-256 of a message body's canonical JSON (keys sorted, no whitespace). */
export function messageBodyHash(body: unknown): string {
  return hex(createHash("sha256").update(canonicalJson(body), "utf8").digest());
}

function messageValue(c: SecAggContext, stage: SecAggMessageStage, body: unknown) {
  return { taskId: c.taskId, round: BigInt(c.round), stage, bodyHash: messageBodyHash(body) };
}

/** The site's EIP-712 signature of a shares or answer message. */
export function signMessage(
  c: SecAggContext,
  signer: TypedDataSigner,
  stage: SecAggMessageStage,
  body: unknown,
): Promise<string> {
  return signer.signTypedData(
    updateDomain({ chainId: c.chainId, ledger: c.ledger }),
    MESSAGE_TYPES,
    messageValue(c, stage, body),
  );
}

/** The address that signed a message, or undefined when the signature is malformed. */
export function messageSigner(
  c: SecAggContext,
  stage: SecAggMessageStage,
  body: unknown,
  signature: string,
): string | undefined {
  try {
    return getAddress(
      verifyTypedData(
        updateDomain({ chainId: c.chainId, ledger: c.ledger }),
        MESSAGE_TYPES,
        messageValue(c, stage, body),
        signature,
      ),
    );
  } catch {
    return undefined;
  }
}
