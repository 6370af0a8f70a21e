/**
 * Fixed-point encoding of weighted updates into Z_2^32, so that masks add and cancel exactly. A site encodes
 * each value x of its update, with weight w (its committed sample count), as
 *
 *   q = stochasticRound(clamp(x, −clip, clip) · w · 2^scaleBits)   mod 2^32
 *
 * where stochasticRound(v) is floor(v) + 1 with probability v − floor(v), else floor(v), drawn from the site's
 * own random source. The sum of every site's q, read as a signed 32-bit integer and divided by 2^scaleBits and
 * by the total weight, is the FedAvg mean (unbiased: E[q] = the exact product). The sum cannot wrap as long as
 * Σ (w · clip · 2^scaleBits + 1) ≤ 2^31 − 1, which {@link checkCapacity} enforces before a round.
 */

import { randomFillSync } from "node:crypto";

/** The encoding's parameters, fixed per task. */
export interface QuantizationParameters {
  /** Fractional bits of the fixed-point values. */
  scaleBits: number;
  /** Largest magnitude of an update value; larger ones are clipped. */
  clip: number;
}

/** A source of uniform numbers in [0, 1) (crypto-random in production; seeded only in tests). */
export type UniformSource = () => number;

/** Throws a RangeError when `totalWeight` sites' worth of encoded values could wrap around 2^31. */
export function checkCapacity(p: QuantizationParameters, weights: readonly (number | bigint)[]): void {
  if (!Number.isInteger(p.scaleBits) || p.scaleBits < 0 || p.scaleBits > 30)
    throw new RangeError("scaleBits must be a whole number from 0 to 30");
  if (!(p.clip > 0) || !Number.isFinite(p.clip)) throw new RangeError("clip must be a positive number");
  let bound = 0;
  for (const w of weights) {
    const n = Number(w);
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError("every weight must be a positive integer");
    bound += n * p.clip * 2 ** p.scaleBits + 1;
  }
  if (bound > 2 ** 31 - 1)
    throw new RangeError(
      `the weighted sum could reach ${bound.toExponential(3)}, past 2^31 − 1: lower scaleBits or clip, or the sample counts`,
    );
}

/** Encodes `values` with weight `weight` (see the module comment). */
export function quantize(
  values: Float32Array,
  weight: number | bigint,
  p: QuantizationParameters,
  uniform: UniformSource,
): Uint32Array {
  const factor = Number(weight) * 2 ** p.scaleBits;
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = Math.min(p.clip, Math.max(-p.clip, values[i]));
    const v = x * factor;
    const low = Math.floor(v);
    // A whole number (every value a sparse update leaves at zero) rounds to itself: no draw is needed.
    const q = v !== low && uniform() < v - low ? low + 1 : low;
    out[i] = q >>> 0;
  }
  return out;
}

/** Decodes a sum of encoded values: each word as a signed 32-bit integer, / 2^scaleBits / totalWeight. */
export function dequantizeMean(
  sum: Uint32Array,
  totalWeight: number | bigint,
  p: QuantizationParameters,
): Float32Array {
  const divisor = 2 ** p.scaleBits * Number(totalWeight);
  const signed = new Int32Array(sum.buffer, sum.byteOffset, sum.length);
  return Float32Array.from(signed, (q) => q / divisor);
}

/**
 * Uniform numbers in [0, 1) from the OS CSPRNG (32 random bits each), drawn 16,384 at a time: the site-side
 * random source of stochastic rounding.
 */
export function cryptoUniform(): UniformSource {
  const buffer = new Uint32Array(16_384);
  let next = buffer.length;
  return () => {
    if (next === buffer.length) {
      randomFillSync(buffer);
      next = 0;
    }
    return buffer[next++] / 2 ** 32;
  };
}
