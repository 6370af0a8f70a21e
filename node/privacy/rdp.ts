/**
 * Rényi differential privacy (RDP) accountant for the Poisson-subsampled Gaussian mechanism, the mechanism
 * of DP-SGD: at every step each record joins the batch independently with probability q, the clipped
 * per-record contributions are summed, and Gaussian noise of standard deviation σ × (clip norm) is added.
 * Neighbouring datasets differ by adding or removing one record.
 *
 * The RDP of one step at order α is computed from Mironov, Talwar and Zhang, "Rényi Differential Privacy
 * of the Sampled Gaussian Mechanism" (2019, arXiv:1908.10530), Section 3.3, the same formulas as TF Privacy's
 * `rdp_accountant.py` and Google's `dp_accounting` (`_compute_log_a_int`, `_compute_log_a_frac`). RDP adds up
 * over steps and over rounds with different (q, σ), and converts to an (ε, δ) guarantee at the best order.
 * docs/privacy.md states every formula and the published values the tests check.
 *
 * @example
 * const { epsilon, order } = computeEpsilon({ q: 256 / 60000, sigma: 1.1, steps: 14040, delta: 1e-5 });
 * const sigma = sigmaForBudget({ q: 0.01, steps: 1000, delta: 1e-5, epsilon: 8 });
 */
import { UsageError } from "../errors";
import { logAdd, logErfc, logSub } from "./logMath";

/** A bad accountant input (sampling rate, noise multiplier, steps, δ, ε or orders). Exit code 2. */
export class PrivacyParameterError extends UsageError {}

/**
 * How RDP becomes (ε, δ):
 * - `"improved"`: ε = r + log(1 − 1/α) − (log δ + log α)/(α − 1), the bound of Balle et al. 2020
 *   ("Hypothesis testing interpretations and Rényi DP", Theorem 21) and Canonne, Kamath, Steinke 2020
 *   (arXiv:2004.00010, Proposition 12). Used by `dp_accounting`, TF Privacy since Dec 2020, and Opacus.
 * - `"classic"`: ε = r − log δ/(α − 1), Mironov 2017 (arXiv:1702.07476, Proposition 3). Used by TF Privacy
 *   before Dec 2020 (its MNIST tutorial's ε = 3.01). Never smaller than the improved bound.
 */
export type RdpConversion = "improved" | "classic";

/**
 * The default Rényi orders, those of Google `dp_accounting`'s `DEFAULT_RDP_ORDERS` (the default of its
 * `RdpAccountant`, which TF Privacy's `compute_dp_sgd_privacy_lib` uses): 1.1, 1.2, …, 10.9, then 11, 12, …,
 * 63, then 128, 256, 512 and 1024; 156 orders. Opacus's `DEFAULT_ALPHAS` are the same without 11 and the four
 * large orders. The fine grid near 1 serves large ε; the large orders serve small ε.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, x) => 11 + x),
  128,
  256,
  512,
  1024,
]);

/** One stretch of training with fixed settings: `steps` steps at sampling rate `q` and noise multiplier σ. */
export interface RdpSegment {
  /** Poisson sampling rate: each record joins each step's batch independently with this probability. */
  q: number;
  /** Noise multiplier: noise standard deviation divided by the L2 clipping norm (the sensitivity). */
  sigma: number;
  /** Number of steps. */
  steps: number;
}

/** An (ε, δ) guarantee and the Rényi order it came from. */
export interface EpsilonResult {
  epsilon: number;
  order: number;
}

/** Parameters of {@link computeEpsilon}. */
export interface ComputeEpsilonParameters extends RdpSegment {
  delta: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}

/** Parameters of {@link computeEpsilonForSegments}. */
export interface ComputeEpsilonForSegmentsParameters {
  segments: readonly RdpSegment[];
  delta: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}

/** Parameters of {@link sigmaForBudget}. */
export interface SigmaForBudgetParameters {
  q: number;
  steps: number;
  delta: number;
  /** The ε budget the whole run must stay within. */
  epsilon: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}

/** Relative width of the final bisection bracket of {@link sigmaForBudget}. */
export const SIGMA_RELATIVE_TOLERANCE = 1e-6;

/** Largest noise multiplier {@link sigmaForBudget} tries before declaring the budget out of reach. */
export const MAX_SIGMA = 1e6;

/** Terms of a fractional-order series below e^-30 of the sum's scale are negligible (as in TF Privacy). */
const NEGLIGIBLE_LOG_TERM = -30;
const MAX_SERIES_TERMS = 1_000_000;

/*
 * Input checks. Each takes the name to show, so the CLI can report its flag (`--q`) and code its field (`q`).
 */

/** Checks a Poisson sampling rate: 0 < q ≤ 1. */
export function checkSamplingRate(q: number, name = "q"): number {
  if (!Number.isFinite(q) || q <= 0 || q > 1)
    throw new PrivacyParameterError(
      `${name} must be a sampling rate above 0 and at most 1; got ${q}`,
      "Pass the expected batch size divided by the number of records, e.g. 0.01",
    );
  return q;
}

/** Checks a noise multiplier: σ > 0 and finite. */
export function checkNoiseMultiplier(sigma: number, name = "sigma"): number {
  if (!Number.isFinite(sigma) || sigma <= 0)
    throw new PrivacyParameterError(
      `${name} must be a noise multiplier above 0; got ${sigma}`,
      "Pass the noise standard deviation divided by the clipping norm, e.g. 1.1",
    );
  return sigma;
}

/** Checks a step count: a whole number ≥ min. */
export function checkSteps(steps: number, name = "steps", min = 0): number {
  if (!Number.isSafeInteger(steps) || steps < min)
    throw new PrivacyParameterError(`${name} must be a whole number of at least ${min}; got ${steps}`);
  return steps;
}

/** Checks a δ: 0 < δ < 1. */
export function checkDelta(delta: number, name = "delta"): number {
  if (!Number.isFinite(delta) || delta <= 0 || delta >= 1)
    throw new PrivacyParameterError(
      `${name} must be above 0 and below 1; got ${delta}`,
      "Pick δ well below 1/(number of records), e.g. 1e-5",
    );
  return delta;
}

/** Checks an ε budget: ε > 0 and finite. */
export function checkEpsilon(epsilon: number, name = "epsilon"): number {
  if (!Number.isFinite(epsilon) || epsilon <= 0)
    throw new PrivacyParameterError(`${name} must be a privacy budget above 0; got ${epsilon}`);
  return epsilon;
}

function checkOrders(orders: readonly number[]): readonly number[] {
  if (orders.length === 0) throw new PrivacyParameterError("orders must list at least one Rényi order");
  for (const order of orders)
    if (!Number.isFinite(order) || order <= 1)
      throw new PrivacyParameterError(`every Rényi order must be a finite number above 1; got ${order}`);
  return orders;
}

function checkConversion(conversion: string): RdpConversion {
  if (conversion !== "improved" && conversion !== "classic")
    throw new PrivacyParameterError(`conversion must be "improved" or "classic"; got "${conversion}"`);
  return conversion;
}

/*
 * log A_α, where RDP(α) = log(A_α)/(α − 1) for one step and
 *   A_α = E_{z ~ N(0, σ²)} [ (1 − q + q·exp((2z − 1)/(2σ²)))^α ].
 */

/** log A_α for integer α ≥ 2 (Mironov et al. 2019, Section 3.3): a finite binomial sum. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const halfInvVar = 1 / (2 * sigma * sigma);
  let logA = -Infinity;
  let logBinom = 0; // log C(α, i), updated term by term
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log((alpha - i + 1) / i);
    const term = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) * halfInvVar;
    logA = logAdd(logA, term);
  }
  return logA;
}

/**
 * log A_α for fractional α > 1 (Mironov et al. 2019, Section 3.3): the integral is split at
 * z₀ = σ² log(1/q − 1) + 1/2 and each half expanded as a binomial series with generalized coefficients
 * C(α, i), which alternate in sign once i > α. Summed until both terms fall below e^-30. The signs are kept,
 * as in TF Privacy and Opacus; dp_accounting since 2024 adds |C(α, i)|, an upper bound up to ~0.1% larger.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const halfInvVar = 1 / (2 * sigma * sigma);
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const scale = Math.SQRT2 * sigma;
  let logA0 = -Infinity; // integral over (-∞, z₀]
  let logA1 = -Infinity; // integral over [z₀, ∞)
  let logAbsBinom = 0; // log |C(α, i)|
  let binomPositive = true;
  for (let i = 0; i < MAX_SERIES_TERMS; i++) {
    if (i > 0) {
      const ratio = (alpha - i + 1) / i;
      logAbsBinom += Math.log(Math.abs(ratio));
      if (ratio < 0) binomPositive = !binomPositive;
    }
    const j = alpha - i;
    const logT0 = logAbsBinom + i * logQ + j * log1mQ;
    const logT1 = logAbsBinom + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / scale);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / scale);
    const logS0 = logT0 + (i * i - i) * halfInvVar + logE0;
    const logS1 = logT1 + (j * j - j) * halfInvVar + logE1;
    try {
      if (binomPositive) {
        logA0 = logAdd(logA0, logS0);
        logA1 = logAdd(logA1, logS1);
      } else {
        logA0 = logSub(logA0, logS0);
        logA1 = logSub(logA1, logS1);
      }
    } catch {
      throw seriesFailure(q, sigma, alpha);
    }
    if (Math.max(logS0, logS1) < NEGLIGIBLE_LOG_TERM) return logAdd(logA0, logA1);
  }
  throw seriesFailure(q, sigma, alpha);
}

function seriesFailure(q: number, sigma: number, alpha: number): PrivacyParameterError {
  return new PrivacyParameterError(
    `the RDP series for q=${q}, sigma=${sigma} at order ${alpha} lost accuracy`,
    "Use integer orders, or a larger noise multiplier",
  );
}

/** RDP of one step of the Poisson-subsampled Gaussian mechanism at order α. */
function rdpOneStep(q: number, sigma: number, alpha: number): number {
  if (q === 1) return alpha / (2 * sigma * sigma); // the plain Gaussian mechanism
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/**
 * RDP at each order of `steps` steps of the Poisson-subsampled Gaussian mechanism with sampling rate q and
 * noise multiplier σ. Entries may be `Infinity` when σ is tiny.
 *
 * @example
 * computeRdp(1, 2, 1, [3]); // [0.375] = α/(2σ²)
 */
export function computeRdp(
  q: number,
  sigma: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  checkSamplingRate(q);
  checkNoiseMultiplier(sigma);
  checkSteps(steps);
  checkOrders(orders);
  if (steps === 0) return orders.map(() => 0);
  return orders.map((alpha) => rdpOneStep(q, sigma, alpha) * steps);
}

/**
 * RDP of several segments run one after another (sequential composition: RDP at each order adds up). A
 * site's spend over the rounds it joined is the composition of one segment per round.
 */
export function composeRdp(
  segments: readonly RdpSegment[],
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  checkOrders(orders);
  const total = orders.map(() => 0);
  segments.forEach((segment, index) => {
    const name = `segments[${index}]`;
    checkSamplingRate(segment.q, `${name}.q`);
    checkNoiseMultiplier(segment.sigma, `${name}.sigma`);
    checkSteps(segment.steps, `${name}.steps`);
    computeRdp(segment.q, segment.sigma, segment.steps, orders).forEach((r, i) => (total[i] += r));
  });
  return total;
}

/**
 * The smallest ε, over the given orders, such that RDP `rdp[i]` at order `orders[i]` implies (ε, δ)-DP.
 * With the `"improved"` conversion (default) an order whose RDP r satisfies δ² > 1 − e^(−r) gives ε = 0
 * (via the KL bound δ ≤ √(1 − e^(−r)), as in `dp_accounting`), and orders ≤ 1.01 are skipped because the
 * bound is numerically unstable there. The first order wins ties.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = "improved",
): EpsilonResult {
  checkOrders(orders);
  checkDelta(delta);
  checkConversion(conversion);
  if (rdp.length !== orders.length)
    throw new PrivacyParameterError(`got ${rdp.length} RDP values for ${orders.length} orders`);
  let best: EpsilonResult = { epsilon: Infinity, order: orders[0] };
  orders.forEach((alpha, i) => {
    const r = rdp[i];
    if (Number.isNaN(r) || r < 0)
      throw new PrivacyParameterError(`RDP values must be 0 or more; got ${r} at order ${alpha}`);
    const epsilon =
      conversion === "classic" ? r - Math.log(delta) / (alpha - 1) : improvedEpsilon(alpha, r, delta);
    if (epsilon < best.epsilon) best = { epsilon, order: alpha };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

function improvedEpsilon(alpha: number, r: number, delta: number): number {
  if (delta * delta + Math.expm1(-r) > 0) return 0;
  if (alpha <= 1.01) return Infinity;
  return r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
}

/**
 * (ε, δ) of `steps` steps of the Poisson-subsampled Gaussian mechanism: {@link computeRdp} then
 * {@link epsilonFromRdp}.
 *
 * @example
 * computeEpsilon({ q: 0.04, sigma: 1.5, steps: 2250, delta: 1e-5 }); // { epsilon: ≈7.33, order: 3.9 }
 */
export function computeEpsilon(params: ComputeEpsilonParameters): EpsilonResult {
  const orders = params.orders ?? DEFAULT_ORDERS;
  const rdp = computeRdp(params.q, params.sigma, params.steps, orders);
  return epsilonFromRdp(orders, rdp, params.delta, params.conversion);
}

/**
 * (ε, δ) of several segments composed: e.g. the rounds a site joined, each with its own q, σ and steps.
 * No segments means nothing was spent: ε = 0.
 */
export function computeEpsilonForSegments(params: ComputeEpsilonForSegmentsParameters): EpsilonResult {
  const orders = params.orders ?? DEFAULT_ORDERS;
  const rdp = composeRdp(params.segments, orders);
  return epsilonFromRdp(orders, rdp, params.delta, params.conversion);
}

/**
 * The smallest noise multiplier σ for which `steps` steps at sampling rate q stay within (ε, δ). ε falls as
 * σ grows, so σ is found by bisection: a bracket is grown by doubling from σ = 1, then halved until its
 * width is at most {@link SIGMA_RELATIVE_TOLERANCE} × σ. The upper end is returned, so the result always
 * meets the budget and is at most 1e-6 (relative) above the exact smallest σ. Deterministic.
 *
 * Throws a PrivacyParameterError when no σ up to {@link MAX_SIGMA} meets the budget (with the classic
 * conversion ε never falls below −log δ/(α_max − 1)).
 */
export function sigmaForBudget(params: SigmaForBudgetParameters): number {
  const { q, steps, delta, epsilon: budget } = params;
  const orders = params.orders ?? DEFAULT_ORDERS;
  checkSamplingRate(q);
  checkSteps(steps, "steps", 1);
  checkDelta(delta);
  checkEpsilon(budget);
  checkOrders(orders);
  const meets = (sigma: number) =>
    epsilonFromRdp(orders, computeRdp(q, sigma, steps, orders), delta, params.conversion).epsilon <= budget;

  let hi = 1;
  let lo = 0;
  if (meets(hi)) {
    // Find a σ that misses the budget below hi; σ → 0 always misses eventually.
    lo = hi / 2;
    while (meets(lo)) {
      hi = lo;
      lo /= 2;
      if (lo < 1e-12) return hi;
    }
  } else {
    lo = hi;
    hi *= 2;
    while (!meets(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > MAX_SIGMA)
        throw new PrivacyParameterError(
          `no noise multiplier up to ${MAX_SIGMA} keeps ${steps} steps at q=${q} within epsilon=${budget}, delta=${delta}`,
          "Raise the ε budget or δ, or train fewer steps",
        );
    }
  }
  while (hi - lo > SIGMA_RELATIVE_TOLERANCE * hi) {
    const mid = (lo + hi) / 2;
    if (meets(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
