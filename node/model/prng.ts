/**
 * A small seeded pseudo-random generator for everything random in the model (initial weights, shuffling).
 * Its output depends only on the seed and the stream name, never on the platform, so a seed gives the same
 * bytes everywhere. docs/model.md states the algorithm so an auditor can re-implement it.
 *
 * Algorithm: a 32-bit linear congruential state (multiplier 0x2c9277b5, increment 0xac564b05) whose every
 * output goes through the MurmurHash3 32-bit finaliser. The starting state is the finaliser applied to
 * the seed mixed with the FNV-1a hash of the stream name.
 */

function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic random stream. */
export class Prng {
  private state: number;

  /**
   * @param seed any integer in [0, 2^32); other numbers are reduced modulo 2^32.
   * @param stream a name separating independent streams drawn from the same seed.
   */
  constructor(seed: number, stream = "") {
    this.state = fmix32((seed >>> 0) ^ fnv1a(stream) ^ 0x9e3779b9);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (Math.imul(this.state, 0x2c9277b5) + 0xac564b05) >>> 0;
    return fmix32(this.state);
  }

  /** Uniform number in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n) for n >= 1 (rejection sampling, no modulo bias). */
  nextInt(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}
