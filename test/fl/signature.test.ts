import { expect } from "chai";
import { TypedDataEncoder, Wallet } from "ethers";
import {
  metricsHash,
  recoverUpdateSigner,
  signUpdate,
  updateDigest,
  type UpdateMessage,
} from "../../node/fl";

const wallet = new Wallet("0x" + "11".repeat(32));
const ledger = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = { chainId: 31337, ledger };
const msg: UpdateMessage = {
  taskId: 1,
  round: 2,
  updateHash: "0x" + "ab".repeat(32),
  numSamples: 500,
  metricsHash: "0x" + "cd".repeat(32),
};

describe("signed uploads (EIP-712)", () => {
  it("recovers the signer", async () => {
    const sig = await signUpdate(wallet, domain, msg);
    expect(sig).to.match(/^0x[0-9a-f]{130}$/);
    expect(recoverUpdateSigner(domain, msg, sig)).to.equal(wallet.address);
  });

  it("binds every field: changing one recovers another address", async () => {
    const sig = await signUpdate(wallet, domain, msg);
    const variants: [typeof domain, UpdateMessage][] = [
      [{ ...domain, chainId: 1 }, msg],
      [{ ...domain, ledger: "0x0000000000000000000000000000000000000001" }, msg],
      [domain, { ...msg, taskId: 2 }],
      [domain, { ...msg, round: 3 }],
      [domain, { ...msg, updateHash: "0x" + "ac".repeat(32) }],
      [domain, { ...msg, numSamples: 501 }],
      [domain, { ...msg, metricsHash: "0x" + "ce".repeat(32) }],
    ];
    for (const [d, m] of variants) expect(recoverUpdateSigner(d, m, sig)).to.not.equal(wallet.address);
  });

  it("uses the documented domain and type string", () => {
    const digest = updateDigest(domain, msg);
    const expected = TypedDataEncoder.hash(
      { name: "fedledger", version: "1", chainId: 31337, verifyingContract: ledger },
      {
        Update: [
          { name: "taskId", type: "uint256" },
          { name: "round", type: "uint32" },
          { name: "updateHash", type: "bytes32" },
          { name: "numSamples", type: "uint64" },
          { name: "metricsHash", type: "bytes32" },
        ],
      },
      msg as unknown as Record<string, unknown>,
    );
    expect(digest).to.equal(expected);
    expect(TypedDataEncoder.from({ Update: [] }).primaryType).to.equal("Update");
  });

  it("gives the example digest of docs/protocol.md", () => {
    const digest = updateDigest(domain, {
      taskId: 1,
      round: 1,
      updateHash: "0x37aa3b2dd4b486cada5f6dc662dd24ba9805397a987806eb5158f64248b94b06",
      numSamples: 3,
      metricsHash: metricsHash({ macroF1: 0.71, loss: 0.42, numValidation: 200 }),
    });
    expect(digest).to.equal("0xd50cf04c8a93f52392077ac0abb2aa34c80ca9cc200b35a80093e5e30500538f");
  });

  it("throws on a malformed signature or hash", async () => {
    expect(() => recoverUpdateSigner(domain, msg, "0x1234")).to.throw();
    expect(() => updateDigest(domain, { ...msg, updateHash: "0xabcd" })).to.throw(/32-byte hex/);
  });
});
