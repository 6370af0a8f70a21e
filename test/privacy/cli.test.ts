import { expect } from "chai";
import { runCli, type CliResult } from "../helpers/cli";

/*
 * The real `fedledger privacy` executable: figures on stdout, JSON with --json, and one-line usage errors
 * with exit code 2 and no stack trace for bad or missing flags.
 */
describe("fedledger privacy (CLI)", function () {
  this.timeout(60_000);

  const mnist = ["--q", String(256 / 60000), "--sigma", "1.1", "--steps", "14040", "--delta", "1e-5"];

  function expectUsageError(res: CliResult, message: RegExp): void {
    expect(res.code, res.stderr).to.equal(2);
    expect(res.stdout).to.equal("");
    expect(res.stderr).to.match(message);
    expect(res.stderr).to.not.match(/\bat .*\.ts:\d+/);
    expect(res.stderr.trim().split("\n").length).to.be.at.most(2);
  }

  it("prints ε and the optimal order", async function () {
    const res = await runCli(["privacy", "epsilon", ...mnist, "--conversion", "classic"]);
    expect(res.code, res.stderr).to.equal(0);
    // TF Privacy's MNIST tutorial reports ε = 3.01 for these settings (tutorials/README.md).
    expect(res.stdout).to.match(/^epsilon:\s+3\.00\d\d$/m);
    expect(res.stdout).to.match(/^order:\s+8\.8$/m);
  });

  it("prints JSON with --json", async function () {
    const res = await runCli(["privacy", "epsilon", ...mnist, "--json"]);
    expect(res.code, res.stderr).to.equal(0);
    const out = JSON.parse(res.stdout);
    expect(out).to.include({ sigma: 1.1, steps: 14040, delta: 1e-5, conversion: "improved" });
    expect(out.epsilon).to.be.closeTo(2.594, 0.001);
    expect(out.order).to.equal(8.1);
  });

  it("finds the noise multiplier for a budget, which spends at most the budget", async function () {
    const args = ["privacy", "sigma", "--q", "0.04", "--steps", "2250", "--delta", "1e-5", "--epsilon", "8"];
    const res = await runCli([...args, "--json"]);
    expect(res.code, res.stderr).to.equal(0);
    const out = JSON.parse(res.stdout);
    // Opacus's get_noise_multiplier gives 1.416 for these settings (opacus/tests/accountants_test.py).
    expect(out.sigma).to.be.closeTo(1.416, 0.014);
    expect(out.epsilon).to.be.at.most(8);
    const text = await runCli(args);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^sigma:\s+1\.41\d*$/m);
  });

  it("rejects a sampling rate above 1", async function () {
    const res = await runCli([
      "privacy",
      "epsilon",
      "--q",
      "2",
      "--sigma",
      "1",
      "--steps",
      "10",
      "--delta",
      "1e-5",
    ]);
    expectUsageError(res, /--q must be a sampling rate above 0 and at most 1; got 2/);
  });

  it("rejects a negative noise multiplier", async function () {
    const res = await runCli([
      "privacy",
      "epsilon",
      "--q",
      "0.01",
      "--sigma",
      "-1",
      "--steps",
      "10",
      "--delta",
      "1e-5",
    ]);
    expectUsageError(res, /--sigma must be a noise multiplier above 0; got -1/);
  });

  it("rejects a missing flag", async function () {
    const res = await runCli(["privacy", "epsilon", "--q", "0.01", "--sigma", "1", "--steps", "10"]);
    expectUsageError(res, /required option '--delta <δ>' not specified/);
  });

  it("rejects steps that are not whole numbers and δ outside (0, 1)", async function () {
    const steps = await runCli([
      "privacy",
      "epsilon",
      "--q",
      "0.01",
      "--sigma",
      "1",
      "--steps",
      "1.5",
      "--delta",
      "1e-5",
    ]);
    expectUsageError(steps, /--steps must be a whole number/);
    const delta = await runCli([
      "privacy",
      "sigma",
      "--q",
      "0.01",
      "--steps",
      "10",
      "--delta",
      "1",
      "--epsilon",
      "1",
    ]);
    expectUsageError(delta, /--delta must be above 0 and below 1/);
  });
});
