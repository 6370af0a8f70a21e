import os from "node:os";
import { expect } from "chai";
import { startEmbeddedChain } from "../../node/chain/embeddedChain";

async function blockNumber(url: string): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
  });
  await res.json();
}

/** Lines the node printed naming a JSON-RPC method (its request log). */
function methodLines(lines: readonly string[]): number {
  const colour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
  return lines.filter((line) => line.replace(colour, "").includes("eth_blockNumber")).length;
}

describe("embedded chain: priority and request log", function () {
  this.timeout(60_000);

  it("refuses a nice value outside -20..19 before starting anything", async function () {
    for (const niceness of [20, -21, 1.5])
      await startEmbeddedChain({ niceness }).then(
        () => expect.fail(`niceness ${niceness} was accepted`),
        (err: Error) => {
          expect(err).to.be.instanceOf(RangeError);
          expect(err.message).to.match(/niceness must be an integer between -20 and 19/);
        },
      );
  });

  it("runs the node at the nice value asked for, and turns its request log off and on", async function () {
    const lines: string[] = [];
    // Lowering a priority is always allowed, so this holds with or without the right to raise one.
    const chain = await startEmbeddedChain({ niceness: 3, onOutput: (line) => lines.push(line) });
    try {
      expect(chain.niceness).to.equal(3);
      expect(os.getPriority(chain.pid)).to.equal(3);

      await chain.setRequestLog(false);
      lines.length = 0;
      for (let i = 0; i < 3; i++) await blockNumber(chain.url);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(methodLines(lines)).to.equal(0);

      await chain.setRequestLog(true);
      for (let i = 0; i < 3; i++) await blockNumber(chain.url);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The node folds repeats of one method into one line ("eth_blockNumber (3)").
      expect(methodLines(lines)).to.be.greaterThan(0);
    } finally {
      await chain.stop();
    }
  });
});
