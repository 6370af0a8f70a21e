/**
 * End to end: sites that drop out. Three sites are registered, but only two run. With a minimum of two
 * updates, round 1 waits for the missing site until the commit deadline and then finalises with the two it
 * has. One of the two is then killed; round 2 gets a single commit and is aborted at the deadline with a
 * RoundAborted event (reason 1, too few commits).
 */
import { expect } from "chai";
import { getRoundInfo } from "../../node/chain/tasks";
import { DemoSession } from "../../node/demo/session";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir } from "../helpers/cli";
import { CapturedOutput, smallDemoSettings, waitForLogEvent } from "./helpers";

describe("e2e: sites dropping out", function () {
  this.timeout(150_000);
  const chain = useEmbeddedChain();
  let dir: string;
  let output: CapturedOutput;

  before(async function () {
    dir = await makeTempDir("fedledger-e2e-dropout-");
    output = new CapturedOutput();
  });
  after(async function () {
    await removeTempDir(dir);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(output.text);
  });

  it("finalises at the deadline when enough sites remain, and aborts with RoundAborted when too few do", async function () {
    const settings = smallDemoSettings({
      out: `${dir}/demo`,
      rpc: chain().url,
      minSites: 2,
      commitWindowSeconds: 12,
    });
    const session = await DemoSession.prepare(settings, { stdout: output });
    try {
      const [site1, site2] = session.sites;
      // Sites first, so the commit window opens only once both are ready to train.
      const running = [site1, site2].map((site) => session.startSite(site));
      await Promise.all(running.map((p) => waitForLogEvent(p, (e) => e.event === "waiting_for_round")));
      const site2Uploaded = waitForLogEvent(
        running[1],
        (e) => e.event === "uploaded" && e.round === 1,
        90_000,
      );
      await session.startAggregator();
      await site2Uploaded;
      running[1].kill("SIGKILL");

      const { ledger, taskId } = session;
      await session.follow((s) => s.done);

      const round1 = await getRoundInfo(ledger, taskId, 1);
      expect(round1.status).to.equal("Finalized");
      expect(round1.commitCount).to.equal(2);
      expect(round1.includedCount).to.equal(2);
      const [finalized] = await ledger.queryFilter(ledger.filters.RoundFinalized(taskId, 1));
      const finalizedAt = (await finalized.getBlock()).timestamp;
      expect(finalizedAt, "round 1 closes only at its deadline").to.be.at.least(round1.deadline);

      const round2 = await getRoundInfo(ledger, taskId, 2);
      expect(round2.status).to.equal("Aborted");
      expect(round2.commitCount).to.equal(1);
      const [aborted] = await ledger.queryFilter(ledger.filters.RoundAborted(taskId, 2));
      expect(aborted, "a RoundAborted event for round 2").to.not.equal(undefined);
      expect(aborted.args.reason).to.equal(1n);
      expect(aborted.args.commitCount).to.equal(1n);
      expect((await aborted.getBlock()).timestamp).to.be.at.least(round2.deadline);
    } finally {
      await session.close();
    }
  });
});
