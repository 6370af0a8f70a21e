import os from "node:os";
import { expect } from "chai";
import { startEmbeddedChain } from "../../node/chain/embeddedChain";

describe("embedded chain: scheduling priority", function () {
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

  it("runs the node at the nice value asked for and reports it", async function () {
    // Lowering a priority is always allowed, so this holds with or without the right to raise one.
    const chain = await startEmbeddedChain({ niceness: 3 });
    try {
      expect(chain.niceness).to.equal(3);
      expect(os.getPriority(chain.pid)).to.equal(3);
    } finally {
      await chain.stop();
    }
  });
});
