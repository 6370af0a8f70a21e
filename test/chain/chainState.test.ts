/**
 * The durable embedded chain: an anvil node keeping its chain in a data folder (node/chain/chainState.ts), and
 * `fedledger chain up` on it as a real process. Anvil only: a Hardhat node cannot keep its state.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { chainNodeKind, freePort, startEmbeddedChain, type EmbeddedChain } from "../../node/chain";
import { readSavedChainState } from "../../node/chain/chainState";
import { rpc } from "../helpers/chain";
import { CLI_PATH, makeTempDir, removeTempDir, runCli } from "../helpers/cli";

async function transfer(url: string, count: number): Promise<string[]> {
  const [from, to] = (await rpc(url, "eth_accounts")) as string[];
  const hashes: string[] = [];
  for (let i = 0; i < count; i++)
    hashes.push((await rpc(url, "eth_sendTransaction", [{ from, to, value: "0x1" }])) as string);
  return hashes;
}

const blockNumber = async (url: string) => Number(await rpc(url, "eth_blockNumber"));

(chainNodeKind() === "anvil" ? describe : describe.skip)(
  "durable embedded chain (anvil, data folder)",
  function () {
    this.timeout(120_000);
    let dir: string;
    const chains: EmbeddedChain[] = [];
    const start = async (dataDir: string, port?: number) => {
      const chain = await startEmbeddedChain({ node: "anvil", dataDir, port });
      chains.push(chain);
      return chain;
    };

    beforeEach(async function () {
      dir = await makeTempDir("fedledger-chain-state-");
    });
    afterEach(async function () {
      await Promise.all(chains.splice(0).map((c) => c.stop()));
      await removeTempDir(dir);
    });

    it("saves a new chain at once, and resumes blocks, receipts and balances after a clean stop", async function () {
      const first = await start(dir);
      expect(first.resumedFromBlock).to.equal(undefined);
      expect(await readSavedChainState(first.stateFile as string)).to.include({ block: 0 });
      const [hash] = await transfer(first.url, 3);
      const [, to] = (await rpc(first.url, "eth_accounts")) as string[];
      const balance = await rpc(first.url, "eth_getBalance", [to, "latest"]);
      await first.stop();

      const again = await start(dir);
      expect(again.resumedFromBlock).to.equal(3);
      expect(await blockNumber(again.url)).to.equal(3);
      const receipt = (await rpc(again.url, "eth_getTransactionReceipt", [hash])) as { blockNumber: string };
      expect(Number(receipt.blockNumber)).to.equal(1);
      expect(await rpc(again.url, "eth_getBalance", [to, "latest"])).to.equal(balance);
    });

    it("loses at most about a second of blocks when the node is killed with SIGKILL", async function () {
      const first = await start(dir);
      await transfer(first.url, 5);
      await new Promise((resolve) => setTimeout(resolve, 1_600));
      await transfer(first.url, 2);
      process.kill(first.pid, "SIGKILL");
      await first.stop();
      const again = await start(dir);
      // The five blocks older than a save interval are kept; of the last two, none, some or all.
      expect(again.resumedFromBlock).to.be.within(5, 7);
      expect(await blockNumber(again.url)).to.equal(again.resumedFromBlock);
    });

    it("refuses a damaged state file with a sentence, and leaves it as it was", async function () {
      const file = path.join(dir, "chain-state.json");
      await writeFile(file, '{"block": {"number": "0x1"}, "accounts": {');
      await startEmbeddedChain({ node: "anvil", dataDir: dir }).then(
        () => expect.fail("a damaged state was loaded"),
        (err: Error) => {
          expect(err.message).to.match(/cannot be loaded: it is not valid JSON \(cut short or damaged\)/);
          expect(err.message).to.include("move it away");
        },
      );
      expect(await readFile(file, "utf8")).to.equal('{"block": {"number": "0x1"}, "accounts": {');
    });

    it("refuses a second node on a folder another node keeps, and frees it when that node stops", async function () {
      const first = await start(dir);
      await startEmbeddedChain({ node: "anvil", dataDir: dir }).then(
        (chain) => {
          chains.push(chain);
          expect.fail("two nodes were given one data folder");
        },
        (err: Error) => expect(err.message).to.include(`is in use by process ${process.pid}`),
      );
      await first.stop();
      const again = await start(dir);
      expect(again.resumedFromBlock).to.equal(0);
    });

    it("refuses a data folder on a Hardhat node", async function () {
      await startEmbeddedChain({ node: "hardhat", dataDir: dir }).then(
        () => expect.fail("a Hardhat node was given a data folder"),
        (err: Error) => expect(err.message).to.match(/a data folder needs the anvil node/),
      );
    });

    describe("fedledger chain up", function () {
      /** Runs `chain up` until it prints "press Ctrl-C", then stops it with SIGINT; returns what it printed. */
      async function chainUp(args: string[]): Promise<{ stdout: string; code: number | null }> {
        const child = spawn(process.execPath, [CLI_PATH, "chain", "up", ...args], {
          cwd: dir,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let sent = false;
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8");
          if (!sent && stdout.includes("press Ctrl-C")) {
            sent = true;
            void (async () => {
              const url = /running at (\S+)/.exec(stdout)?.[1] as string;
              await transfer(url, 2);
              child.kill("SIGINT");
            })();
          }
        });
        child.stderr.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
        const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
        return { stdout, code };
      }

      it("keeps the chain in .fedledger/chain by default and resumes it when started again", async function () {
        const port = String(await freePort());
        const first = await chainUp(["--port", port]);
        expect(first.code, first.stdout).to.equal(0);
        expect(first.stdout).to.include("embedded chain (anvil) running at");
        expect(first.stdout).to.include(
          "new chain; its state is saved to .fedledger/chain/chain-state.json every second and when it stops",
        );
        const second = await chainUp(["--port", port]);
        expect(second.code, second.stdout).to.equal(0);
        // Ctrl-C saved the two transfers of the first run before the node stopped.
        expect(second.stdout).to.include(
          "resumed the chain saved in .fedledger/chain/chain-state.json at block 2",
        );
        const third = await chainUp(["--port", port, "--in-memory"]);
        expect(third.stdout).to.include("chain kept in memory only");
        expect(
          (await readSavedChainState(path.join(dir, ".fedledger", "chain", "chain-state.json")))?.block,
        ).to.equal(4);
      });

      it("refuses --data with --in-memory, and --data with a Hardhat node (exit 2)", async function () {
        const both = await runCli(["chain", "up", "--data", "x", "--in-memory"], { cwd: dir });
        expect(both.code).to.equal(2);
        expect(both.stderr).to.include("both --data and --in-memory are given");
        const hardhat = await runCli(["chain", "up", "--node", "hardhat", "--data", "x"], { cwd: dir });
        expect(hardhat.code).to.equal(2);
        expect(hardhat.stderr).to.include("--data needs the anvil node");
        const bad = await runCli(["chain", "up", "--block-time", "0"], { cwd: dir });
        expect(bad.code).to.equal(2);
        expect(bad.stderr).to.include("expected a whole number of seconds from 1 to 3600");
      });

      it("refuses a damaged state file with exit 2 and no stack trace", async function () {
        const data = path.join(dir, "data");
        await mkdir(data, { recursive: true });
        await writeFile(path.join(data, "chain-state.json"), "not json");
        const res = await runCli(["chain", "up", "--data", data, "--port", "0"], { cwd: dir });
        expect(res.code).to.equal(2);
        expect(res.stderr).to.match(/cannot be loaded: it is not valid JSON/);
        expect(res.stderr).not.to.match(/\n\s+at /);
      });
    });
  },
);
