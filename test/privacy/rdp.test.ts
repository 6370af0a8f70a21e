import { expect } from "chai";
import { FedledgerError } from "../../node/errors";
import {
  DEFAULT_ORDERS,
  PrivacyParameterError,
  composeRdp,
  computeEpsilon,
  computeEpsilonForSegments,
  computeRdp,
  epsilonFromRdp,
  sigmaForBudget,
  type RdpConversion,
} from "../../node/privacy/rdp";

/*
 * The accountant against published figures of TF Privacy, Google dp_accounting and Opacus, each computed
 * with that source's own Rényi orders and its own RDP-to-(ε, δ) conversion, within 1%.
 */

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Orders of TF Privacy's MNIST tutorial (tutorials/mnist_dpsgd_tutorial.py) and Opacus's DEFAULT_ALPHAS. */
const TUTORIAL_ORDERS = [...range(1, 100).map((x) => 1 + x / 10), ...range(12, 64)];
/** Orders of TF Privacy's compute_dp_sgd_privacy_lib.compute_dp_sgd_privacy. */
const COMPUTE_DP_SGD_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, ...range(5, 64), 128, 256, 512];

interface PublishedCase {
  name: string;
  source: string;
  q: number;
  sigma: number;
  steps: number;
  delta: number;
  orders: readonly number[];
  conversion: RdpConversion;
  epsilon: number;
  order?: number;
}

const PUBLISHED: PublishedCase[] = [
  // tensorflow/privacy tutorials/README.md ("Expected Output" and "Select Parameters"): MNIST, 60000 records,
  // batch 256, 60000 // 256 = 234 steps per epoch, δ = 1e-5, written before the improved conversion (2020).
  {
    name: "MNIST tutorial, σ=1.1, 60 epochs",
    source: "tensorflow/privacy tutorials/README.md",
    q: 256 / 60000,
    sigma: 1.1,
    steps: 60 * 234,
    delta: 1e-5,
    orders: TUTORIAL_ORDERS,
    conversion: "classic",
    epsilon: 3.01,
  },
  {
    name: "MNIST tutorial, σ=1.3, 15 epochs",
    source: "tensorflow/privacy tutorials/README.md",
    q: 256 / 60000,
    sigma: 1.3,
    steps: 15 * 234,
    delta: 1e-5,
    orders: TUTORIAL_ORDERS,
    conversion: "classic",
    epsilon: 1.19,
  },
  {
    name: "MNIST tutorial, σ=0.7, 45 epochs",
    source: "tensorflow/privacy tutorials/README.md",
    q: 256 / 60000,
    sigma: 0.7,
    steps: 45 * 234,
    delta: 1e-5,
    orders: TUTORIAL_ORDERS,
    conversion: "classic",
    epsilon: 7.1,
  },
  // tensorflow/privacy tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py, Test0-Test2, at the
  // commit before be8175b ("Improved conversion from Renyi DP to approx DP"): n, batch, σ, epochs, δ with
  // q = batch/n and steps = ceil(epochs·n/batch).
  {
    name: "compute_dp_sgd_privacy Test0 (classic)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py before be8175b",
    q: 150 / 60000,
    sigma: 1.3,
    steps: 6000,
    delta: 1e-5,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "classic",
    epsilon: 0.941870567,
    order: 19,
  },
  {
    name: "compute_dp_sgd_privacy Test1 (classic)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py before be8175b",
    q: 100 / 100000,
    sigma: 1.0,
    steps: 30000,
    delta: 1e-7,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "classic",
    epsilon: 1.70928734,
    order: 13,
  },
  {
    name: "compute_dp_sgd_privacy Test2 (classic)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py before be8175b",
    q: 1024 / 100000000,
    sigma: 0.1,
    steps: 976563,
    delta: 1e-7,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "classic",
    epsilon: 5907984.81339406,
    order: 1.25,
  },
  // The same three cases in the current compute_dp_sgd_privacy_test.py (dp_accounting, improved conversion).
  {
    name: "compute_dp_sgd_privacy Test0 (improved)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 150 / 60000,
    sigma: 1.3,
    steps: 6000,
    delta: 1e-5,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "improved",
    epsilon: 0.7242234026109595,
    order: 19,
  },
  {
    name: "compute_dp_sgd_privacy Test1 (improved)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 100 / 100000,
    sigma: 1.0,
    steps: 30000,
    delta: 1e-7,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "improved",
    epsilon: 1.4154988495444842,
    order: 13,
  },
  {
    name: "compute_dp_sgd_privacy Test2 (improved)",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 1024 / 100000000,
    sigma: 0.1,
    steps: 976563,
    delta: 1e-7,
    orders: COMPUTE_DP_SGD_ORDERS,
    conversion: "improved",
    epsilon: 5907982.3113984,
    order: 1.25,
  },
  // tensorflow/privacy rdp_accountant_test.py test_get_privacy_spent_check_target_delta, before be8175b.
  {
    name: "rdp_accountant q=0.01, σ=4, 10000 steps",
    source: "tensorflow/privacy rdp_accountant_test.py before be8175b",
    q: 0.01,
    sigma: 4,
    steps: 10000,
    delta: 1e-5,
    orders: range(2, 33),
    conversion: "classic",
    epsilon: 1.258575,
    order: 20,
  },
  // pytorch/opacus opacus/tests/accountants_test.py test_rdp_accountant: steps = int(90 / 0.04).
  {
    name: "Opacus RDPAccountant σ=1.5, q=0.04, 2250 steps",
    source: "pytorch/opacus opacus/tests/accountants_test.py",
    q: 0.04,
    sigma: 1.5,
    steps: 2250,
    delta: 1e-5,
    orders: TUTORIAL_ORDERS,
    conversion: "improved",
    epsilon: 7.32911117143,
  },
  // tensorflow/privacy compute_dp_sgd_privacy_test.py test_compute_dp_sgd_example_privacy: 1.2 epochs, σ=0.7,
  // δ=1e-5 on dp_accounting's default RdpAccountant (DEFAULT_RDP_ORDERS); microbatching halves σ; with
  // sampling steps = ceil(1.2/q), without steps = ceil(1.2) at q = 1.
  {
    name: "example privacy, no sampling",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 1,
    sigma: 0.7,
    steps: 2,
    delta: 1e-5,
    orders: DEFAULT_ORDERS,
    conversion: "improved",
    epsilon: 10.8602036,
  },
  {
    name: "example privacy, no sampling, microbatching",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 1,
    sigma: 0.35,
    steps: 2,
    delta: 1e-5,
    orders: DEFAULT_ORDERS,
    conversion: "improved",
    epsilon: 26.2880374,
  },
  {
    name: "example privacy, q=0.01",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 0.01,
    sigma: 0.7,
    steps: 120,
    delta: 1e-5,
    orders: DEFAULT_ORDERS,
    conversion: "improved",
    epsilon: 3.2392676,
  },
  {
    name: "example privacy, q=0.01, microbatching",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 0.01,
    sigma: 0.35,
    steps: 120,
    delta: 1e-5,
    orders: DEFAULT_ORDERS,
    conversion: "improved",
    epsilon: 22.6248601,
  },
  // tensorflow/privacy compute_dp_sgd_privacy_test.py test_dp_sgd_privacy_statement_no_user_dp_with_rdp:
  // 10000 examples, batch 64, 5 epochs, σ = 2.0 halved by microbatching, δ = 1e-6, "assuming Poisson
  // sampling": q = 64/10000, steps = ceil(5/q) = 782.
  {
    name: "privacy statement, Poisson sampling",
    source: "tensorflow/privacy compute_dp_sgd_privacy_test.py",
    q: 64 / 10000,
    sigma: 1.0,
    steps: 782,
    delta: 1e-6,
    orders: DEFAULT_ORDERS,
    conversion: "improved",
    epsilon: 1.616,
  },
];

const relativeDifference = (ours: number, theirs: number) => Math.abs(ours / theirs - 1);

describe("privacy/rdp: published values", function () {
  for (const c of PUBLISHED) {
    it(`${c.name} (${c.source}): ε = ${c.epsilon} within 1%`, function () {
      const got = computeEpsilon(c);
      expect(relativeDifference(got.epsilon, c.epsilon), `ε = ${got.epsilon}`).to.be.below(0.01);
      if (c.order !== undefined) expect(got.order).to.equal(c.order);
    });
  }

  it("composes two segments: rdp_accountant_test.py test_check_composition before be8175b (8.509656)", function () {
    const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
    const got = computeEpsilonForSegments({
      segments: [
        { q: 1e-4, sigma: 0.4, steps: 40000 },
        { q: 0.1, sigma: 2, steps: 100 },
      ],
      delta: 1e-5,
      orders,
      conversion: "classic",
    });
    expect(relativeDifference(got.epsilon, 8.509656)).to.be.below(0.01);
    expect(got.order).to.equal(2.5);
  });

  it("RDP per order: dp_accounting rdp_privacy_accountant_test.py (q=0.01, σ=2.5, 50 steps, rtol 1e-4)", function () {
    // google/differential-privacy python/dp_accounting/rdp/rdp_privacy_accountant_test.py,
    // test_compute_rdp_poisson_sampled_gaussian.
    const rdp = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]);
    const theirs = [6.5007e-4, 1.0854e-3, 2.1808e-3, 2.3846e-2, 1.6742e2];
    rdp.forEach((r, i) => expect(relativeDifference(r, theirs[i]), `order ${i}`).to.be.below(1e-4));
    // tensorflow/privacy rdp_accountant_test.py test_compute_rdp_scalar: 0.07737 (5 places).
    expect(computeRdp(0.1, 2, 10, [5])[0]).to.be.closeTo(0.07737, 5e-6);
  });

  it("log A_α matches numerical integration of its defining integral, as dp_accounting's test does", function () {
    // The (q, σ, α) of dp_accounting's test_compute_log_a_equals_mp (rtol 1e-4). Reference values: mpmath
    // quadrature (50 digits) of E_{z~N(0,σ²)}[(1 − q + q·exp((2z − 1)/(2σ²)))^α] for fractional orders, and
    // mpmath's exact binomial sum for integer orders (quadrature of the narrow σ = 0.1 integrand is off by 2e-6).
    const cases: [q: number, sigma: number, order: number, logA: number][] = [
      [1e-7, 0.1, 1.01, 4.003412322526399e-8],
      [1e-6, 0.1, 256, 3260463.2292971606],
      [1e-5, 0.1, 256.1, 3263603.446075693],
      [1e-6, 1, 27, 8.769511304848498e-10],
      [1e-4, 1, 1.5, 6.4426869538366495e-9],
      [1e-3, 1, 2, 1.7182803522145153e-6],
      [0.01, 10, 20, 1.9129699912842963e-4],
      [0.1, 100, 20.5, 1.9991818458068295e-4],
      [0.99, 0.1, 256, 3263997.427114021],
      [0.999, 100, 256.1, 3.260108037973113],
    ];
    for (const [q, sigma, order, logA] of cases) {
      const ours = computeRdp(q, sigma, 1, [order])[0] * (order - 1);
      expect(relativeDifference(ours, logA), `q=${q} σ=${sigma} α=${order}`).to.be.below(1e-4);
    }
  });

  it("sigmaForBudget matches Opacus's get_noise_multiplier (accountants_test.py: 1.416 and 1.3562)", function () {
    // pytorch/opacus opacus/tests/accountants_test.py test_get_noise_multiplier_rdp_epochs / _steps:
    // ε = 8, δ = 1e-5, q = 0.04, 90 epochs (2250 steps) and 2000 steps. Opacus bisects to within 0.01.
    const epochs = sigmaForBudget({ q: 0.04, steps: 2250, delta: 1e-5, epsilon: 8, orders: TUTORIAL_ORDERS });
    expect(relativeDifference(epochs, 1.416)).to.be.below(0.01);
    const steps = sigmaForBudget({ q: 0.04, steps: 2000, delta: 1e-5, epsilon: 8, orders: TUTORIAL_ORDERS });
    expect(relativeDifference(steps, 1.3562)).to.be.below(0.01);
  });
});

describe("privacy/rdp: properties", function () {
  const base = { q: 0.01, sigma: 1.1, steps: 1000, delta: 1e-5 };

  it("ε grows with the number of steps", function () {
    let previous = 0;
    for (const steps of [1, 10, 100, 1000, 10000]) {
      const { epsilon } = computeEpsilon({ ...base, steps });
      expect(epsilon, `steps=${steps}`).to.be.above(previous);
      previous = epsilon;
    }
  });

  it("ε grows with the sampling rate", function () {
    let previous = 0;
    for (const q of [0.001, 0.005, 0.01, 0.05, 0.2, 1]) {
      const { epsilon } = computeEpsilon({ ...base, q });
      expect(epsilon, `q=${q}`).to.be.above(previous);
      previous = epsilon;
    }
  });

  it("ε falls as the noise multiplier grows", function () {
    let previous = Infinity;
    for (const sigma of [0.5, 0.8, 1, 1.5, 2, 4, 8]) {
      const { epsilon } = computeEpsilon({ ...base, sigma });
      expect(epsilon, `σ=${sigma}`).to.be.below(previous);
      previous = epsilon;
    }
  });

  it("q = 1 is the plain Gaussian mechanism: RDP = steps·α/(2σ²)", function () {
    const orders = [1.5, 2, 3.7, 10, 64];
    const rdp = computeRdp(1, 2, 3, orders);
    rdp.forEach((r, i) => expect(r).to.be.closeTo((3 * orders[i]) / (2 * 2 * 2), 1e-12));
  });

  it("q close to 1 approaches the plain Gaussian RDP from below", function () {
    for (const order of [2, 2.5, 8]) {
      const sampled = computeRdp(1 - 1e-9, 1.5, 1, [order])[0];
      const gaussian = order / (2 * 1.5 * 1.5);
      expect(sampled).to.be.at.most(gaussian);
      expect(relativeDifference(sampled, gaussian)).to.be.below(1e-6);
    }
  });

  it("fractional orders lie between their integer neighbours", function () {
    const [r2, r25, r3] = computeRdp(0.02, 1.2, 1, [2, 2.5, 3]);
    expect(r25).to.be.above(r2).and.below(r3);
  });

  it("the improved conversion is never above the classic one", function () {
    for (const sigma of [0.6, 1, 2, 5]) {
      const improved = computeEpsilon({ ...base, sigma });
      const classic = computeEpsilon({ ...base, sigma, conversion: "classic" });
      expect(improved.epsilon).to.be.at.most(classic.epsilon);
    }
  });

  it("composing segments adds RDP and equals one longer segment when the settings agree", function () {
    const orders = [2, 4.5, 32];
    const split = composeRdp(
      [
        { q: 0.01, sigma: 1, steps: 300 },
        { q: 0.01, sigma: 1, steps: 700 },
      ],
      orders,
    );
    const whole = computeRdp(0.01, 1, 1000, orders);
    split.forEach((r, i) => expect(relativeDifference(r, whole[i])).to.be.below(1e-12));
    const mixed = computeEpsilonForSegments({
      segments: [
        { q: 0.01, sigma: 1, steps: 500 },
        { q: 0.02, sigma: 2, steps: 500 },
      ],
      delta: 1e-5,
    });
    const first = computeEpsilon({ q: 0.01, sigma: 1, steps: 500, delta: 1e-5 });
    expect(mixed.epsilon).to.be.above(first.epsilon);
    expect(computeEpsilonForSegments({ segments: [], delta: 1e-5 }).epsilon).to.equal(0);
  });

  it("zero steps spend nothing", function () {
    expect(computeEpsilon({ ...base, steps: 0 }).epsilon).to.equal(0);
  });

  it("sigmaForBudget returns the smallest σ that meets the budget, deterministically", function () {
    for (const [q, steps, epsilon] of [
      [0.01, 1000, 1],
      [0.01, 1000, 8],
      [0.001, 50000, 0.5],
      [1, 5, 4],
    ]) {
      const params = { q, steps, delta: 1e-5, epsilon };
      const sigma = sigmaForBudget(params);
      expect(sigmaForBudget(params)).to.equal(sigma);
      expect(computeEpsilon({ q, sigma, steps, delta: 1e-5 }).epsilon, `at σ=${sigma}`).to.be.at.most(
        epsilon,
      );
      const below = sigma * (1 - 1e-5);
      expect(computeEpsilon({ q, sigma: below, steps, delta: 1e-5 }).epsilon).to.be.above(epsilon);
    }
  });

  it("the default orders are dp_accounting's DEFAULT_RDP_ORDERS", function () {
    expect(DEFAULT_ORDERS).to.deep.equal([
      ...range(1, 100).map((x) => 1 + x / 10),
      ...range(11, 64),
      128,
      256,
      512,
      1024,
    ]);
  });
});

describe("privacy/rdp: input checks", function () {
  const ok = { q: 0.01, sigma: 1, steps: 10, delta: 1e-5 };

  function rejects(run: () => unknown, message: RegExp): void {
    let caught: unknown;
    try {
      run();
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(PrivacyParameterError);
    expect(caught).to.be.instanceOf(FedledgerError);
    expect((caught as FedledgerError).exitCode).to.equal(2);
    expect((caught as FedledgerError).message).to.match(message);
  }

  it("rejects sampling rates outside (0, 1]", function () {
    for (const q of [0, -0.1, 1.5, NaN])
      rejects(() => computeEpsilon({ ...ok, q }), /q must be a sampling rate/);
  });

  it("rejects noise multipliers that are not positive", function () {
    for (const sigma of [0, -1, Infinity]) rejects(() => computeEpsilon({ ...ok, sigma }), /sigma must be/);
  });

  it("rejects step counts that are not whole numbers ≥ 0", function () {
    for (const steps of [-1, 2.5, NaN])
      rejects(() => computeEpsilon({ ...ok, steps }), /steps must be a whole/);
  });

  it("rejects δ outside (0, 1)", function () {
    for (const delta of [0, 1, -1e-5, 2]) rejects(() => computeEpsilon({ ...ok, delta }), /delta must be/);
  });

  it("rejects bad orders, mismatched RDP lists and bad budgets", function () {
    rejects(() => computeRdp(0.1, 1, 1, [1]), /order must be a finite number above 1/);
    rejects(() => computeRdp(0.1, 1, 1, []), /at least one/);
    rejects(() => epsilonFromRdp([2, 3], [0.1], 1e-5), /1 RDP values for 2 orders/);
    rejects(() => epsilonFromRdp([2], [-1], 1e-5), /0 or more/);
    rejects(() => sigmaForBudget({ q: 0.1, steps: 10, delta: 1e-5, epsilon: 0 }), /epsilon must be/);
    rejects(
      () => sigmaForBudget({ q: 0.1, steps: 0, delta: 1e-5, epsilon: 1 }),
      /steps must be a whole number of at least 1/,
    );
  });

  it("names segments in composition errors", function () {
    rejects(
      () =>
        composeRdp([
          { q: 0.1, sigma: 1, steps: 1 },
          { q: 0.1, sigma: -2, steps: 1 },
        ]),
      /segments\[1\]\.sigma/,
    );
  });

  it("says when no σ can meet the budget under the classic conversion", function () {
    // ε ≥ −log δ/(α_max − 1) = 11.5/1023 ≈ 0.011 whatever σ is.
    rejects(
      () => sigmaForBudget({ q: 0.1, steps: 10, delta: 1e-5, epsilon: 0.005, conversion: "classic" }),
      /no noise multiplier up to/,
    );
  });
});
