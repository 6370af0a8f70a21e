/**
 * The mask stream: ChaCha20 (RFC 8439) keyed with a 32-byte seed, nonce all zero, block counter from 0, read as
 * little-endian unsigned 32-bit words. Every seed is used for one stream only (each is derived for one pair or
 * one site and one round), so the fixed nonce is safe.
 */
import { createCipheriv } from "node:crypto";

/** The first `length` words of the mask stream of `seed`. */
export function maskStream(seed: Uint8Array, length: number): Uint32Array {
  if (seed.length !== 32) throw new RangeError("a mask seed is 32 bytes");
  // node:crypto's chacha20 takes a 16-byte IV: the 32-bit block counter (little-endian) and the 96-bit nonce.
  const cipher = createCipheriv("chacha20", seed, Buffer.alloc(16));
  const bytes = cipher.update(Buffer.alloc(4 * length));
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length).slice();
}

/** Words of keystream made and added per step: 256 KiB, so a long vector needs no second copy of its size. */
const CHUNK_WORDS = 1 << 16;

/** One mask to add: the stream of `seed`, added (`sign` 1) or taken away (−1). */
export interface SignedMask {
  seed: Uint8Array;
  sign: 1 | -1;
}

/**
 * `into[i] += sign · stream(seed)[i]` modulo 2^32, in place. The keystream is made a chunk at a time from one
 * cipher (so it continues exactly as {@link maskStream} would) and read as words in the host's byte order,
 * which is little-endian on every platform Node.js runs on.
 */
export function addMask(into: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  addMasks(into, [{ seed, sign }]);
}

/**
 * {@link addMask} for several masks at once, chunk by chunk: each chunk of `into` gets every mask's keystream for
 * it while it is in the processor's cache, instead of one pass over the whole vector per mask. The result is
 * the same as adding the masks one after the other (addition modulo 2^32 is commutative).
 */
export function addMasks(into: Uint32Array, masks: readonly SignedMask[]): void {
  for (const m of masks) if (m.seed.length !== 32) throw new RangeError("a mask seed is 32 bytes");
  const ciphers = masks.map((m) => createCipheriv("chacha20", m.seed, Buffer.alloc(16)));
  const zeros = Buffer.alloc(4 * Math.min(CHUNK_WORDS, into.length));
  for (let at = 0; at < into.length; at += CHUNK_WORDS) {
    const n = Math.min(CHUNK_WORDS, into.length - at);
    const chunk = into.subarray(at, at + n);
    for (let k = 0; k < masks.length; k++) {
      let bytes = ciphers[k].update(zeros.subarray(0, 4 * n));
      if (bytes.byteOffset % 4 !== 0) bytes = Buffer.from(bytes);
      const stream = new Uint32Array(bytes.buffer, bytes.byteOffset, n);
      if (masks[k].sign === 1) for (let i = 0; i < n; i++) chunk[i] = (chunk[i] + stream[i]) >>> 0;
      else for (let i = 0; i < n; i++) chunk[i] = (chunk[i] - stream[i]) >>> 0;
    }
  }
}
