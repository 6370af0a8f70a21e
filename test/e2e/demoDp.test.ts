/**
 * The demo with `--dp-epsilon` through real processes: the task's spec carries DP settings whose σ covers the
 * planned rounds, every site trains with DP-SGD (CSPRNG noise) and commits its ε, the summary prints ε per site,
 * and the auditor CLI recomputes those figures from the chain and accepts the final model.
 */
import { expect } from "chai";
import { readSpecFile } from "../../node/model/files";
import { runDemo } from "../../node/demo/runDemo";
import { siteEpsilon } from "../../node/privacy/budget";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { CapturedOutput, smallDemoSettings } from "./helpers";

describe("e2e: demo with --dp-epsilon 8 (3 sites × 2 rounds)", function () {
  this.timeout(300_000);
  const chain = useEmbeddedChain();
  let dir: string;
  const output = new CapturedOutput();

  before(async function () {
    dir = await makeTempDir("fedledger-e2e-dp-");
  });
  after(async function () {
    await removeTempDir(dir);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(output.text);
  });

  it("trains under DP, reports ε per site, and the audit recomputes it from the chain", async function () {
    const settings = smallDemoSettings({ out: `${dir}/demo`, rpc: chain().url, dpEpsilon: 8 });
    const report = await runDemo({ settings, io: { stdout: output } });
    const spec = await readSpecFile(`${settings.out}/final-model.flm.spec.json`);
    const dp = spec.training.dp;
    expect(dp).to.include({
      epsilonBudget: 8,
      delta: 1e-5,
      sampleRate: 0.25,
      clipNorm: 0.2,
      noise: "csprng",
    });
    expect(report.rounds.map((r) => r.status)).to.deep.equal(["Finalized", "Finalized"]);
    const epsilon = siteEpsilon(dp as NonNullable<typeof dp>, 1, 2);
    expect(epsilon).to.be.at.most(8);
    expect(report.privacy?.sites.map((s) => [s.roundsJoined, s.epsilon])).to.deep.equal([
      [2, epsilon],
      [2, epsilon],
      [2, epsilon],
    ]);
    expect(output.text).to.match(
      /Differential privacy \(DP-SGD, q 0\.25, σ [\d.]+, C 0\.2, 4 steps per round\)/,
    );
    expect(output.text).to.match(
      new RegExp(`${report.sites[0].id}\\s+2\\s+${epsilon.toFixed(3)}\\s+8 \\(δ 0\\.00001\\)`),
    );

    const audit = await runCli(
      [
        ...["audit", "verify", "--model", `${settings.out}/final-model.flm`, "--rpc", chain().url],
        ...[
          "--deployment",
          `${settings.out}/deployment.json`,
          "--store",
          `${settings.out}/aggregator/store`,
          "--json",
        ],
      ],
      { timeoutMs: 90_000 },
    );
    expect(audit.code, `audit output:\n${audit.stdout}\n${audit.stderr}`).to.equal(0);
    const audited = JSON.parse(audit.stdout) as {
      privacy: {
        spec: string;
        sites: { roundsJoined: number; epsilon: number; reportsAgreeing: number }[];
      }[];
    };
    expect(audited.privacy[0].spec).to.equal("store");
    expect(audited.privacy[0].sites.map((s) => [s.roundsJoined, s.epsilon, s.reportsAgreeing])).to.deep.equal(
      [
        [2, epsilon, 2],
        [2, epsilon, 2],
        [2, epsilon, 2],
      ],
    );
  });
});
