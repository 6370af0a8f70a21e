/**
 * End to end through real processes: a Hardhat node, the aggregator and three site services started by the
 * demo through the real CLI. Checks what an outsider can check: the chain's model hashes match the bytes in
 * the store, every update is under its round's Merkle root (proved on the chain), the auditor CLI accepts the
 * final model, and an aggregator killed with SIGKILL between accepting the updates and finalising, then
 * restarted, produces the same final model as the undisturbed run. The same rounds run with the ledger switched
 * off (the benchmark's mode) give that model too.
 */
import { expect } from "chai";
import { connectContracts } from "../../node/chain/contracts";
import { loadDeployment } from "../../node/chain/deployment";
import { getRoundInfo, getTaskInfo } from "../../node/chain/tasks";
import type { DemoReport } from "../../node/demo/report";
import { runDemo } from "../../node/demo/runDemo";
import { DemoSession } from "../../node/demo/session";
import { writeOffLedgerRun } from "../../scripts/offLedger/run";
import { buildUpdateTree } from "../../node/fl/merkle";
import { ContentStore } from "../../node/store";
import { useEmbeddedChain } from "../helpers/chain";
import { makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { CapturedOutput, smallDemoSettings, storedObjectHash, waitForLogEvent } from "./helpers";

describe("e2e: demo with 3 sites × 2 rounds through real processes", function () {
  // A test run alone also makes the undisturbed run it compares with.
  this.timeout(300_000);
  const chain = useEmbeddedChain();
  let dir: string;
  let output: CapturedOutput;
  let undisturbedRun:
    Promise<{ settings: ReturnType<typeof smallDemoSettings>; report: DemoReport }> | undefined;

  /**
   * The undisturbed demo run, started by whichever test needs it first, so that each test also stands alone
   * (`--grep SIGKILL`). Its final model is the reference the disturbed runs must reproduce.
   */
  function undisturbed() {
    undisturbedRun ??= (async () => {
      const settings = smallDemoSettings({ out: `${dir}/demo`, rpc: chain().url });
      return { settings, report: await runDemo({ settings, io: { stdout: output } }) };
    })();
    return undisturbedRun;
  }

  before(async function () {
    dir = await makeTempDir("fedledger-e2e-");
  });
  after(async function () {
    await removeTempDir(dir);
  });
  beforeEach(function () {
    output = new CapturedOutput();
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(output.text);
  });

  it("records models whose bytes are in the store, with every update provably under the round's root, and the auditor verifies the final model", async function () {
    const { settings, report } = await undisturbed();

    const deploymentFile = `${settings.out}/deployment.json`;
    const storeDir = `${settings.out}/aggregator/store`;
    const { ledger, provider } = await connectContracts({ deployment: await loadDeployment(deploymentFile) });
    try {
      const taskId = BigInt(report.task.id);
      const store = await ContentStore.open(storeDir);
      for (const round of [1, 2]) {
        const info = await getRoundInfo(ledger, taskId, round);
        expect(info.status, `round ${round}`).to.equal("Finalized");
        expect(await storedObjectHash(storeDir, info.modelHash)).to.equal(info.modelHash.toLowerCase());

        const uploads = await store.listRound(taskId, round);
        expect(uploads, `uploads of round ${round}`).to.have.length(3);
        expect(info.includedCount).to.equal(3);
        const tree = buildUpdateTree(
          uploads.map((u) => ({ site: u.site, updateHash: u.updateHash, numSamples: BigInt(u.numSamples) })),
        );
        expect(tree.root).to.equal(info.updatesRoot.toLowerCase());
        for (const u of uploads) {
          const proof = tree.proof(u.site);
          expect(
            await ledger.verifyUpdateIncluded(
              taskId,
              round,
              u.site,
              u.updateHash,
              BigInt(u.numSamples),
              proof,
            ),
            `update of ${u.site} in round ${round}`,
          ).to.equal(true);
        }
      }
      const task = await getTaskInfo(ledger, taskId);
      expect(report.finalModel.hash).to.equal(task.latestModelHash.toLowerCase());
      expect(report.rounds.map((r) => r.status)).to.deep.equal(["Finalized", "Finalized"]);
    } finally {
      provider.destroy();
    }

    const audit = await runCli(
      [
        "audit",
        "verify",
        "--model",
        `${settings.out}/final-model.flm`,
        "--rpc",
        chain().url,
        "--deployment",
        deploymentFile,
        "--store",
        storeDir,
      ],
      { timeoutMs: 90_000 },
    );
    expect(audit.code, `audit output:\n${audit.stdout}\n${audit.stderr}`).to.equal(0);
  });

  it("gives the same final model when the aggregator is killed (SIGKILL) after accepting the updates and restarted", async function () {
    const undisturbedFinalModel = (await undisturbed()).report.finalModel.hash;
    const settings = smallDemoSettings({ out: `${dir}/restart`, rpc: chain().url });
    const session = await DemoSession.prepare(settings, { stdout: output });
    try {
      const first = await session.startAggregator();
      let accepted = 0;
      const allIn = waitForLogEvent(
        first,
        (e) => e.event === "upload_accepted" && e.round === 2 && ++accepted === 3,
        120_000,
      );
      for (const site of session.sites) session.startSite(site);
      await allIn;
      first.kill("SIGKILL");
      await first.exited;

      const round2 = await getRoundInfo(session.ledger, session.taskId, 2);
      expect(round2.status, "round 2 must still be open when the aggregator dies").to.equal("Open");
      expect(round2.commitCount).to.equal(3);

      await session.startAggregator();
      await session.follow();
      const task = await getTaskInfo(session.ledger, session.taskId);
      expect(task.latestModelHash.toLowerCase()).to.equal(undisturbedFinalModel);
      const round2After = await getRoundInfo(session.ledger, session.taskId, 2);
      expect(round2After.status).to.equal("Finalized");
      expect(round2After.includedCount).to.equal(3);
    } finally {
      await session.close();
    }
  });

  it("gives the same final model with the ledger switched off (off-chain ledger, same processes and training)", async function () {
    const undisturbedFinalModel = (await undisturbed()).report.finalModel.hash;
    const settings = smallDemoSettings({ out: `${dir}/ledger-off`, rpc: chain().url });
    const session = await DemoSession.prepare(settings, { stdout: output });
    try {
      const run = await writeOffLedgerRun(session, `${dir}/ledger-off/off`);
      const { layout } = run;
      const aggregator = session.group.start({
        name: "off-ledger aggregator",
        ...run.aggregator,
        logFile: `${layout.logsDir}/aggregator.log`,
      });
      const done = waitForLogEvent(aggregator, (e) => e.event === "task_done", 120_000);
      const finalized: string[] = [];
      aggregator.onLine((line) => {
        if (line.includes('"round_finalized"')) finalized.push(String(JSON.parse(line).modelHash));
      });
      await waitForLogEvent(aggregator, (e) => e.event === "aggregator_started");
      for (const site of session.sites)
        session.group.start({
          name: `off-ledger ${site.id}`,
          ...run.site(site),
          logFile: `${layout.logsDir}/${site.id}.log`,
        });
      await done;
      expect(finalized).to.have.length(2);
      expect(finalized[1]).to.equal(undisturbedFinalModel);
      const task = await getTaskInfo(session.ledger, session.taskId);
      expect(task.currentRound, "nothing was sent to the ledger").to.equal(0);
    } finally {
      await session.close();
    }
  });
});
