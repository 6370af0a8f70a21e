/**
 * Waiting for receipts (node/chain/transactions.ts) on a real node, whichever FEDLEDGER_CHAIN_NODE picks: a
 * receipt on a chain that mines a block a second, and a transaction the node forgets before mining it.
 */
import { expect } from "chai";
import { parseEther } from "ethers";
import {
  chainNodeKind,
  connectChain,
  devAccountWallet,
  startEmbeddedChain,
  TransactionDroppedError,
  waitForReceipt,
  type EmbeddedChain,
} from "../../node/chain";

describe("waitForReceipt on a real node", function () {
  this.timeout(60_000);
  let chain: EmbeddedChain | undefined;
  afterEach(async function () {
    await chain?.stop();
    chain = undefined;
  });

  it("returns the receipt of a transaction mined in a later block (a block a second)", async function () {
    chain = await startEmbeddedChain({ port: 0, blockTime: 1 });
    const { provider } = await connectChain({ rpc: chain.url });
    try {
      const wallet = devAccountWallet("admin1", provider);
      const tx = await wallet.sendTransaction({
        to: devAccountWallet("admin2").address,
        value: parseEther("1"),
      });
      const sentAt = await provider.getBlockNumber();
      const receipt = await waitForReceipt(tx);
      expect(receipt?.status).to.equal(1);
      expect(receipt?.hash).to.equal(tx.hash);
      expect(receipt?.blockNumber).to.be.greaterThan(sentAt);
    } finally {
      provider.destroy();
    }
  });

  it("throws TransactionDroppedError for a transaction the node forgot before mining it", async function () {
    chain = await startEmbeddedChain({ port: 0 });
    const { provider } = await connectChain({ rpc: chain.url });
    try {
      await provider.send("evm_setAutomine", [false]);
      const wallet = devAccountWallet("admin1", provider);
      const tx = await wallet.sendTransaction({ to: devAccountWallet("admin2").address, value: 1n });
      const drop = chainNodeKind() === "anvil" ? "anvil_dropTransaction" : "hardhat_dropTransaction";
      await provider.send(drop, [tx.hash]);
      const err = await waitForReceipt(tx, 1, { pollMs: 50 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(TransactionDroppedError);
      expect((err as Error).message).to.include(`transaction ${tx.hash} was dropped by the chain node`);
    } finally {
      provider.destroy();
    }
  });
});
