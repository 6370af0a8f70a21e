/**
 * Shamir secret sharing (t of n) over the prime field GF(p), p = 2^256 − 189 (the largest prime below 2^256).
 * A secret is a 32-byte big-endian number below p. Site i of a round's sorted site list (1-based) gets the share
 * f(i), where f is a random polynomial of degree t − 1 with f(0) = the secret. Any t shares give the secret by
 * Lagrange interpolation at 0; reconstruction with more than t shares checks that all of them lie on the same
 * polynomial, so one wrong share is caught instead of silently giving a wrong secret.
 */
import { randomBytes } from "node:crypto";

/** The field's prime. */
export const FIELD_PRIME = 2n ** 256n - 189n;

/** One share: the recipient's x coordinate and f(x). */
export interface Share {
  x: number;
  y: bigint;
}

/** The 32-byte big-endian form of a field element. */
export function toBytes32(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, "0"), "hex");
}

/** A field element from 32 big-endian bytes; throws when the number is not below p. */
export function fromBytes32(bytes: Uint8Array): bigint {
  if (bytes.length !== 32) throw new RangeError("a field element is 32 bytes");
  const v = BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
  if (v >= FIELD_PRIME) throw new RangeError("the number is not below the field prime");
  return v;
}

function mod(a: bigint): bigint {
  const r = a % FIELD_PRIME;
  return r < 0n ? r + FIELD_PRIME : r;
}

function inverse(a: bigint): bigint {
  // Fermat: a^(p−2) mod p.
  let result = 1n;
  let base = mod(a);
  let e = FIELD_PRIME - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % FIELD_PRIME;
    base = (base * base) % FIELD_PRIME;
    e >>= 1n;
  }
  return result;
}

/** A uniformly random field element (rejection sampling of 32 random bytes). */
export function randomFieldElement(random: (n: number) => Uint8Array = randomBytes): bigint {
  for (;;) {
    const v = BigInt(`0x${Buffer.from(random(32)).toString("hex")}`);
    if (v < FIELD_PRIME) return v;
  }
}

/**
 * Splits `secret` into shares for x = 1 … n, any `threshold` of which rebuild it.
 *
 * @example
 * const shares = split(secret, 3, 5); // five shares, any three rebuild the secret
 */
export function split(
  secret: bigint,
  threshold: number,
  n: number,
  random: (n: number) => Uint8Array = randomBytes,
): Share[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > n)
    throw new RangeError("the threshold must be from 1 to the number of shares");
  if (secret < 0n || secret >= FIELD_PRIME) throw new RangeError("the secret is not a field element");
  const coefficients = [secret];
  for (let i = 1; i < threshold; i++) coefficients.push(randomFieldElement(random));
  const shares: Share[] = [];
  for (let x = 1; x <= n; x++) {
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = mod(y * BigInt(x) + coefficients[i]);
    shares.push({ x, y });
  }
  return shares;
}

/** The value at `at` of the polynomial through `points` (Lagrange). */
function interpolate(points: readonly Share[], at: bigint): bigint {
  let sum = 0n;
  for (let i = 0; i < points.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < points.length; j++) {
      if (i === j) continue;
      num = mod(num * (at - BigInt(points[j].x)));
      den = mod(den * (BigInt(points[i].x) - BigInt(points[j].x)));
    }
    sum = mod(sum + points[i].y * num * inverse(den));
  }
  return sum;
}

/** A set of shares that does not rebuild one secret. */
export class ShareMismatchError extends Error {}

/**
 * Rebuilds the secret from at least `threshold` shares with distinct x. With more, every share beyond the first
 * `threshold` must lie on their polynomial, else ShareMismatchError.
 */
export function reconstruct(shares: readonly Share[], threshold: number): bigint {
  const xs = new Set(shares.map((s) => s.x));
  if (xs.size !== shares.length) throw new ShareMismatchError("two shares have the same x");
  if (shares.length < threshold)
    throw new ShareMismatchError(`${shares.length} share(s) cannot rebuild a ${threshold}-of-n secret`);
  const base = shares.slice(0, threshold);
  for (const extra of shares.slice(threshold))
    if (interpolate(base, BigInt(extra.x)) !== mod(extra.y))
      throw new ShareMismatchError(`the share for x = ${extra.x} is not on the others' polynomial`);
  return interpolate(base, 0n);
}
