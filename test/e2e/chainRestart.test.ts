/**
 * A chain node that dies mid-run, through real processes: an anvil node keeping its chain in a data folder, the
 * aggregator and three site services started by the demo. The node is killed with SIGKILL at a random moment
 * during the rounds and started again on the same folder; separately, the node is killed and started again
 * from a state saved a round earlier (the worst a lost last save could do). In both cases the
 * services ride it out without being restarted, re-send what the chain lacks (sites commit again, the
 * aggregator finalises again) without recording anything twice, the final model is the one of an undisturbed
 * run, and the auditor verifies it. And the demo's own chain, kept in its output folder, comes back with the
 * command the demo prints, after the demo has ended, for the audit it prints.
 *
 * The random moment comes from FEDLEDGER_TEST_SEED when set; the seed is printed when a test fails.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import {
  CHAIN_STATE_FILE,
  chainNodeKind,
  freePort,
  getRoundInfo,
  getTaskInfo,
  startEmbeddedChain,
} from "../../node/chain";
import type { EmbeddedChain } from "../../node/chain";
import type { DemoReport } from "../../node/demo/report";
import { runDemo } from "../../node/demo/runDemo";
import { DemoSession } from "../../node/demo/session";
import { rpc } from "../helpers/chain";
import { CLI_PATH, makeTempDir, removeTempDir, runCli } from "../helpers/cli";
import { CapturedOutput, smallDemoSettings, waitForLogEvent } from "./helpers";

const ROUNDS = 3;

/** Every round finalised once, with each site's one commit in it and every commit included. */
async function expectWholeRounds(session: DemoSession): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    const info = await getRoundInfo(session.ledger, session.taskId, round);
    expect(info.status, `round ${round}`).to.equal("Finalized");
    expect(info.commitCount, `commits in round ${round}`).to.equal(3);
    expect(info.includedCount, `updates included in round ${round}`).to.equal(3);
  }
  const finalized = await session.ledger.queryFilter(
    session.ledger.filters.RoundFinalized(session.taskId),
    session.deployment.deployBlock,
  );
  expect(finalized.map((e) => Number(e.args.round))).to.deep.equal([1, 2, 3]);
}

(chainNodeKind() === "anvil" ? describe : describe.skip)(
  "e2e: the chain node dies mid-run (anvil with a data folder, real processes)",
  function () {
    this.timeout(400_000);
    const seed = Number(process.env.FEDLEDGER_TEST_SEED ?? Date.now() % 100_000);
    let dir: string;
    let port: number;
    let chain: EmbeddedChain;
    let output: CapturedOutput;
    let reference: Promise<DemoReport> | undefined;

    const startChain = async () => {
      chain = await startEmbeddedChain({ node: "anvil", dataDir: `${dir}/chain`, port });
      return chain;
    };
    /** The undisturbed run's report, made by the first test that needs it. */
    const undisturbed = () => {
      reference ??= runDemo({
        settings: smallDemoSettings({ out: `${dir}/reference`, rpc: chain.url, rounds: ROUNDS }),
        io: { stdout: new CapturedOutput() },
      });
      return reference;
    };
    const audit = (out: string) =>
      runCli(
        [
          "audit",
          "verify",
          "--model",
          `${out}/final-model.flm`,
          "--rpc",
          chain.url,
          "--deployment",
          `${out}/deployment.json`,
          "--store",
          `${out}/aggregator/store`,
        ],
        { timeoutMs: 90_000 },
      );

    before(async function () {
      dir = await makeTempDir("fedledger-chain-restart-");
      port = await freePort();
      await startChain();
    });
    after(async function () {
      await chain?.stop();
      await removeTempDir(dir);
    });
    beforeEach(function () {
      output = new CapturedOutput();
    });
    afterEach(function () {
      if (this.currentTest?.state === "failed") console.log(`FEDLEDGER_TEST_SEED=${seed}\n${output.text}`);
    });

    it("prints the commands that bring the demo's chain back after the demo ended, and both work", async function () {
      const settings = smallDemoSettings({ out: `${dir}/embedded`, rounds: 1 });
      const printed = new CapturedOutput();
      await runDemo({ settings, io: { stdout: printed } });
      const upLine = /npx fedledger (chain up --data \S+ --port \d+)/.exec(printed.text)?.[1];
      const auditLine = /npx fedledger (audit verify .+)/.exec(printed.text)?.[1];
      expect(upLine, printed.text).to.be.a("string");
      expect(auditLine, printed.text).to.be.a("string");
      const up = spawn(process.execPath, [CLI_PATH, ...(upLine as string).split(" ")], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        let upOutput = "";
        await new Promise<void>((resolve, reject) => {
          up.stdout.on("data", (chunk: Buffer) => {
            upOutput += chunk.toString("utf8");
            if (upOutput.includes("press Ctrl-C")) resolve();
          });
          up.once("exit", () => reject(new Error(`chain up exited: ${upOutput}`)));
        });
        expect(upOutput).to.match(/resumed the chain saved in .+ at block \d+/);
        const verdict = await runCli((auditLine as string).split(" "), { timeoutMs: 90_000 });
        expect(verdict.code, `audit output:\n${verdict.stdout}\n${verdict.stderr}`).to.equal(0);
        expect(verdict.stdout).to.include("verdict: PASSED");
      } finally {
        up.kill("SIGINT");
        await new Promise((resolve) => up.once("close", resolve));
      }
    });

    it("rides out a SIGKILL of the node at a random moment and a restart on the same folder", async function () {
      const expected = (await undisturbed()).finalModel.hash;
      const settings = smallDemoSettings({ out: `${dir}/killed`, rpc: chain.url, rounds: ROUNDS });
      const session = await DemoSession.prepare(settings, { stdout: output });
      try {
        await session.startAggregator();
        // The services are up (a service that cannot reach the chain when it starts stops at once, by design).
        const started = session.sites.map((site) =>
          waitForLogEvent(session.startSite(site), (e) => e.event === "site_started", 120_000),
        );
        await Promise.all(started);
        // Somewhere in the rounds: the undisturbed run took about 3 s a round.
        const delayMs = seed % 8_000;
        output.write(`killing the chain node ${delayMs} ms after every service started\n`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const before = Number(await rpc(chain.url, "eth_blockNumber"));
        process.kill(chain.pid, "SIGKILL");
        await chain.stop();
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const restarted = await startChain();
        expect(restarted.resumedFromBlock, "the restarted node resumes the saved chain").to.be.a("number");
        // At most the last second is lost: the blocks saved before it died.
        expect(restarted.resumedFromBlock).to.be.at.least(Math.max(0, before - 10));

        await session.follow();
        await expectWholeRounds(session);
        const task = await getTaskInfo(session.ledger, session.taskId);
        expect(task.latestModelHash.toLowerCase()).to.equal(expected);
        await session.saveFinalModel();
      } finally {
        await session.close();
      }
      const verdict = await audit(settings.out);
      expect(verdict.code, `audit output:\n${verdict.stdout}\n${verdict.stderr}`).to.equal(0);
    });

    it("re-sends the commits and the finalisation a node restarted from a state a round older lacks, once each", async function () {
      const expected = (await undisturbed()).finalModel.hash;
      const settings = smallDemoSettings({ out: `${dir}/rewound`, rpc: chain.url, rounds: ROUNDS });
      const session = await DemoSession.prepare(settings, { stdout: output });
      try {
        const aggregator = await session.startAggregator();
        const round2 = waitForLogEvent(
          aggregator,
          (e) => e.event === "round_opened" && e.round === 2,
          120_000,
        );
        const round2Done = waitForLogEvent(
          aggregator,
          (e) => e.event === "round_finalized" && e.round === 2,
          120_000,
        );
        // Commits of round 2 the sites sent, as their logs tell (3 before the chain is taken back).
        let round2Commits = 0;
        for (const site of session.sites)
          session.startSite(site).onLine((line) => {
            if (!line.startsWith("{")) return;
            const event = JSON.parse(line) as { event?: string; round?: number };
            if (event.event === "committed" && event.round === 2) round2Commits++;
          });
        await round2;
        // The state a node would come back with had its last save been right after round 2 opened: the same
        // dump the state keeper writes (chainState.ts), taken now.
        const older = gunzipSync(
          Buffer.from(String(await rpc(chain.url, "anvil_dumpState")).slice(2), "hex"),
        );
        await round2Done;
        expect((await getRoundInfo(session.ledger, session.taskId, 2)).status).to.equal("Finalized");
        // The node dies and comes back from that older state.
        process.kill(chain.pid, "SIGKILL");
        await chain.stop();
        await writeFile(path.join(dir, "chain", CHAIN_STATE_FILE), older);
        await startChain();
        expect((await getRoundInfo(session.ledger, session.taskId, 2)).status).to.equal("Open");

        await session.follow();
        await expectWholeRounds(session);
        const task = await getTaskInfo(session.ledger, session.taskId);
        expect(task.latestModelHash.toLowerCase()).to.equal(expected);
        // The sites whose commits the chain lost sent them again (the chain holds each once, checked above).
        expect(round2Commits, "round 2 commits sent by the sites").to.be.greaterThan(3);
        await session.saveFinalModel();
      } finally {
        await session.close();
      }
      const verdict = await audit(settings.out);
      expect(verdict.code, `audit output:\n${verdict.stdout}\n${verdict.stderr}`).to.equal(0);
    });
  },
);
