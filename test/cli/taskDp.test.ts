import { expect } from "chai";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { readSpecFile } from "../../node/model/files";
import { defaultSpec, specHash } from "../../node/model/spec";
import { siteEpsilon } from "../../node/privacy/budget";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli, type CliResult } from "../helpers/cli";
import { expectJson, expectOneLineError, expectSuccess } from "./expectations";

/*
 * `fedledger task create --dp-*`: the DP settings go into the model spec whose hash goes on the chain; σ comes
 * from the accountant (the same value as `fedledger privacy sigma`) or is checked against the budget.
 */
describe("fedledger task create with DP settings", function () {
  const chain = useEmbeddedChain();
  let dir: string;
  let deploymentFile: string;
  let specFile: string;
  let genesisSeed = 0;

  function cli(args: string[]): Promise<CliResult> {
    return runCli(args, { cwd: dir, env: { FEDLEDGER_DEPLOYMENT: deploymentFile } });
  }

  /** A fresh genesis hash per task (the ledger refuses a genesis that is already recorded). */
  function genesis(): string {
    genesisSeed += 1;
    return `0x${genesisSeed.toString(16).padStart(64, "0")}`;
  }

  function create(extra: string[], rounds = "5"): string[] {
    return [
      ...[
        "task",
        "create",
        "--genesis",
        genesis(),
        "--min-sites",
        "1",
        "--window",
        "600",
        "--rounds",
        rounds,
      ],
      ...["--dev-account", "admin1", ...extra],
    ];
  }

  before(async function () {
    dir = await makeTempDir();
    deploymentFile = path.join(dir, "deployment.json");
    specFile = path.join(dir, "spec.json");
    await writeFile(specFile, `${JSON.stringify(defaultSpec(), null, 2)}\n`);
    expectSuccess(
      await runCli(["deploy", "--rpc", chain().url, "--dev-account", "admin1", "--quorum", "1", "--json"], {
        cwd: dir,
        env: { FEDLEDGER_DEPLOYMENT: deploymentFile },
      }),
    );
  });
  after(async function () {
    await removeTempDir(dir);
  });

  it("derives σ for the planned rounds, writes the spec and puts its hash on the chain", async function () {
    const out = path.join(dir, "spec-dp.json");
    const task = expectJson<{
      taskId: string;
      specHash: string;
      specFile: string;
      dp: Record<string, number | string | boolean>;
    }>(
      await cli(
        create(["--spec", specFile, "--spec-out", out, "--dp-epsilon", "8", "--dp-delta", "1e-5", "--json"]),
      ),
    );
    const written = await readSpecFile(out);
    expect(written.training.dp).to.include({
      clipNorm: 0.2,
      sampleRate: 0.25,
      delta: 1e-5,
      epsilonBudget: 8,
      noise: "csprng",
    });
    expect(task.specHash.toLowerCase()).to.equal(specHash(written));
    expect(task.specFile).to.equal(out);
    expect(task.dp).to.include({ epsilonBudget: 8, delta: 1e-5, stepsPerRound: 12, sigmaDerived: true });

    // σ is what `fedledger privacy sigma` gives for 5 rounds × 3 epochs × 4 steps.
    const sigma = expectJson<{ sigma: number }>(
      await cli([
        "privacy",
        "sigma",
        "--q",
        "0.25",
        "--steps",
        "60",
        "--delta",
        "1e-5",
        "--epsilon",
        "8",
        "--json",
      ]),
    ).sigma;
    expect(written.training.dp?.noiseMultiplier).to.equal(sigma);
    expect(task.dp.noiseMultiplier).to.equal(sigma);
    const dp = written.training.dp as NonNullable<typeof written.training.dp>;
    expect(siteEpsilon(dp, 3, 5)).to.be.at.most(8);
    expect(siteEpsilon(dp, 3, 6)).to.be.above(8);

    const shown = expectJson<{ specHash: string }>(await cli(["task", "show", task.taskId, "--json"]));
    expect(shown.specHash.toLowerCase()).to.equal(specHash(written));
  });

  it("takes C, q, σ and the noise source as given when σ fits the budget", async function () {
    const out = path.join(dir, "spec-given.json");
    const text = expectSuccess(
      await cli(
        create(
          [
            ...["--spec", specFile, "--spec-out", out, "--dp-epsilon", "20", "--dp-delta", "1e-6"],
            ...[
              "--dp-clip",
              "0.5",
              "--dp-sample-rate",
              "0.1",
              "--dp-sigma",
              "2",
              "--dp-noise",
              "seeded-test-only",
            ],
          ],
          "2",
        ),
      ),
    );
    expect(text).to.match(
      /^DP-SGD: q 0\.1, C 0\.5, σ 2, 30 steps per round; ε \d+\.\d{4} of 20 \(δ 0\.000001\)/m,
    );
    expect(text).to.match(/^task \d+ created/m);
    const dp = (await readSpecFile(out)).training.dp;
    expect(dp).to.deep.equal({
      clipNorm: 0.5,
      noiseMultiplier: 2,
      sampleRate: 0.1,
      delta: 1e-6,
      epsilonBudget: 20,
      noise: "seeded-test-only",
    });
  });

  it("refuses a σ whose ε over the planned rounds passes the budget", async function () {
    const line = expectOneLineError(
      await cli(
        create([
          ...["--spec", specFile, "--spec-out", path.join(dir, "x.json"), "--dp-epsilon", "1"],
          ...["--dp-delta", "1e-5", "--dp-sigma", "0.8"],
        ]),
      ),
      2,
      /--dp-sigma|σ 0\.8 spends ε \d+\.\d+ \(δ 0\.00001\) over the 5 planned round\(s\) of 12 steps at q 0\.25, more than the budget of 1/,
    );
    expect(line).to.match(/raise it to at least \d/);
  });

  const invalid: [string, string[], RegExp][] = [
    ["a non-numeric ε", ["--dp-epsilon", "eight"], /--dp-epsilon.*expected a number above 0/],
    ["a zero ε", ["--dp-epsilon", "0"], /--dp-epsilon.*expected a number above 0/],
    ["δ of 1", ["--dp-epsilon", "8", "--dp-delta", "1"], /--dp-delta.*below 1/],
    ["a negative clip", ["--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-clip", "-1"], /--dp-clip.*above 0/],
    [
      "q above 1",
      ["--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-sample-rate", "1.5"],
      /--dp-sample-rate.*at most 1/,
    ],
    [
      "σ above 1000",
      ["--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-sigma", "5000"],
      /--dp-sigma.*at most 1000/,
    ],
    [
      "an unknown noise source",
      ["--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-noise", "mt"],
      /--dp-noise.*csprng/,
    ],
    ["δ without ε", ["--dp-delta", "1e-5"], /--dp-delta needs --dp-epsilon/],
    ["ε without δ", ["--dp-epsilon", "8"], /--dp-epsilon needs --dp-delta/],
  ];
  for (const [label, flags, pattern] of invalid)
    it(`refuses ${label} with one line and exit code 2`, async function () {
      const args = create(["--spec", specFile, "--spec-out", path.join(dir, "never.json"), ...flags]);
      // Commander's own refusals add a "(run with --help for usage)" line after the error.
      const res = await cli(args);
      expect(res.code, res.stderr).to.equal(2);
      expect(res.stderr.split("\n")[0])
        .to.match(/^error: /)
        .and.to.match(pattern);
      expect(res.stderr).not.to.match(/\n\s+at /);
    });

  it("needs the spec itself and an output file for DP", async function () {
    expectOneLineError(
      await cli(create(["--spec-hash", `0x${"ab".repeat(32)}`, "--dp-epsilon", "8", "--dp-delta", "1e-5"])),
      2,
      /--dp-epsilon needs the model spec itself: pass --spec <file> instead of --spec-hash/,
    );
    expectOneLineError(
      await cli(create(["--spec", specFile, "--dp-epsilon", "8", "--dp-delta", "1e-5"])),
      2,
      /--dp-epsilon needs --spec-out <file>/,
    );
    expectOneLineError(await cli(create([])), 2, /give the task's model spec with --spec <file>/);
    expect(existsSync(path.join(dir, "never.json"))).to.equal(false);
  });

  it("refuses a budget the planned rounds cannot keep", async function () {
    expectOneLineError(
      await cli(
        create(
          [
            "--spec",
            specFile,
            "--spec-out",
            path.join(dir, "y.json"),
            "--dp-epsilon",
            "1e-6",
            "--dp-delta",
            "1e-5",
          ],
          "1000",
        ),
      ),
      2,
      /noise multiplier/,
    );
  });
});
