/**
 * What binds every secure-aggregation secret to one round: the chain, the ledger, the task and the round, as
 * bytes (the HKDF salt and the AEAD associated data), and the key derivations built on them. docs/secure-
 * aggregation.md specifies each byte; test/secagg/independentVerifier.test.ts re-derives them from the text.
 */
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from "node:crypto";
import { getAddress } from "ethers";

/** The round a secure aggregation belongs to. */
export interface SecAggContext {
  chainId: bigint;
  /** The TrainingLedger address. */
  ledger: string;
  taskId: bigint;
  round: number;
}

const LABEL = Buffer.from("fedledger-secagg-v1", "utf8");

function uint256(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

/** A 0x address as its 20 bytes. */
export function addressBytes(address: string): Buffer {
  return Buffer.from(getAddress(address).slice(2), "hex");
}

/**
 * The context's bytes: "fedledger-secagg-v1" (UTF-8, 19 bytes) ‖ chainId (32 bytes, big-endian) ‖ ledger
 * (20 bytes) ‖ taskId (32 bytes, big-endian) ‖ round (4 bytes, big-endian): 107 bytes.
 */
export function contextBytes(c: SecAggContext): Buffer {
  const round = Buffer.alloc(4);
  round.writeUInt32BE(c.round);
  return Buffer.concat([LABEL, uint256(c.chainId), addressBytes(c.ledger), uint256(c.taskId), round]);
}

/** Sites in the protocol's order: by address, as unsigned 160-bit numbers (lowercase hex compare). */
export function sortSites(sites: readonly string[]): string[] {
  return [...new Set(sites.map((s) => getAddress(s)))].sort((a, b) =>
    a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0,
  );
}

const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519 = Buffer.from("302a300506032b656e032100", "hex");

/** An X25519 private key object from its 32 raw bytes (RFC 7748; clamping is part of the function). */
export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError("an X25519 private key is 32 bytes");
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: "der", type: "pkcs8" });
}

/** The raw 32-byte X25519 public key of a raw private key. */
export function x25519PublicKey(rawPrivate: Uint8Array): Buffer {
  const der = createPublicKey(x25519PrivateKey(rawPrivate)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(SPKI_X25519.length));
}

/** X25519(private, public): the 32-byte shared secret. Throws on an all-zero result (a low-order point). */
export function x25519(rawPrivate: Uint8Array, rawPublic: Uint8Array): Buffer {
  if (rawPublic.length !== 32) throw new RangeError("an X25519 public key is 32 bytes");
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_X25519, rawPublic]),
    format: "der",
    type: "spki",
  });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: x25519PrivateKey(rawPrivate), publicKey });
  } catch {
    // OpenSSL refuses the all-zero result of a low-order point (RFC 7748 section 6.1).
    throw new RangeError("the X25519 public key is a low-order point");
  }
  if (shared.every((b) => b === 0)) throw new RangeError("the X25519 public key is a low-order point");
  return shared;
}

/**
 * HKDF-SHA256 (RFC 5869) with the context's bytes as salt and `label` ‖ the given addresses (20 bytes each) as
 * info, 32 bytes out.
 */
export function deriveKey(shared: Uint8Array, c: SecAggContext, label: string, addresses: string[]): Buffer {
  const info = Buffer.concat([Buffer.from(label, "utf8"), ...addresses.map(addressBytes)]);
  return Buffer.from(hkdfSync("sha256", shared, contextBytes(c), info, 32));
}

/**
 * The seed of the pairwise mask of sites `a` and `b` (the same for both): HKDF of X25519 with info
 * "pairwise-mask" ‖ lower address ‖ higher address.
 */
export function pairwiseSeed(
  c: SecAggContext,
  ownPrivate: Uint8Array,
  otherPublic: Uint8Array,
  a: string,
  b: string,
): Buffer {
  const [lo, hi] = sortSites([a, b]);
  return deriveKey(x25519(ownPrivate, otherPublic), c, "pairwise-mask", [lo, hi]);
}

/**
 * The key that encrypts the shares `from` sends `to` (one key per direction, so a zero nonce is never reused):
 * HKDF of X25519 with info "share-encryption" ‖ from ‖ to.
 */
export function shareKey(
  c: SecAggContext,
  ownPrivate: Uint8Array,
  otherPublic: Uint8Array,
  from: string,
  to: string,
): Buffer {
  return deriveKey(x25519(ownPrivate, otherPublic), c, "share-encryption", [from, to]);
}
