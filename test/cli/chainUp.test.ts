import { expect } from "chai";
import { spawn } from "node:child_process";
import { CLI_PATH } from "../helpers/cli";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("fedledger chain up", function () {
  it("runs a node until SIGTERM, then stops it and exits 0", async function () {
    this.timeout(60_000);
    const cli = spawn(process.execPath, [CLI_PATH, "chain", "up", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const started = await new Promise<RegExpMatchArray>((resolve, reject) => {
      cli.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        const match = stdout.match(/running at (http:\/\/127\.0\.0\.1:\d+) \(chain id (\d+), pid (\d+)\)/);
        if (match && stdout.includes("press Ctrl-C to stop")) resolve(match);
      });
      cli.once("exit", (code) => reject(new Error(`chain up exited early with ${code}: ${stdout}`)));
    });
    const [, url, chainId, pid] = started;
    expect(chainId).to.equal("31337");
    expect(stdout).to.match(/PUBLIC development keys/);
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    expect(((await res.json()) as { result: string }).result).to.equal("0x7a69");

    const exited = new Promise<number | null>((resolve) => cli.once("exit", resolve));
    cli.kill("SIGTERM");
    expect(await exited).to.equal(0);
    expect(stdout).to.match(/embedded chain stopped/);
    expect(isAlive(Number(pid))).to.equal(false);
  });
});
