import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { buildUpdateTree, commitLeaf } from "../../node/fl";
import { deployConsortium } from "../aggregator/fixture";
import { arbSites } from "./helpers";

describe("update leaves against TrainingLedger", function () {
  it("computes the leaf the ledger stores, and proofs the ledger accepts", async function () {
    const [admin, , , aggregator, , s1, s2, s3] = await ethers.getSigners();
    const { ledger } = await deployConsortium(admin, await aggregator.getAddress(), [s1, s2, s3]);

    // The pure leaf function of the contract, on arbitrary values.
    const samples: [string, string, bigint][] = fc.sample(
      fc.tuple(
        arbSites(1, 1).map((s) => s[0]),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b)),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      ),
      25,
    );
    for (const [site, hash, n] of samples)
      expect(await ledger.updateLeaf(site, hash, n)).to.equal(commitLeaf(site, hash, n));

    // Real commits, a real finalised root, real on-chain proof checks.
    const sites = [s1, s2, s3];
    const spec = ethers.id("spec");
    const genesis = ethers.id("genesis");
    await (await ledger.createTask(spec, genesis, 1, 2, 3600, 1)).wait();
    await (await ledger.connect(aggregator).openRound(1, genesis)).wait();
    const leaves = [];
    for (const [i, site] of sites.entries()) {
      const updateHash = ethers.id(`update ${i}`);
      const numSamples = BigInt(10 * (i + 1));
      await (await ledger.connect(site).commitUpdate(1, 1, updateHash, numSamples, ethers.ZeroHash)).wait();
      const address = await site.getAddress();
      expect(await ledger.commitLeaf(1, 1, address)).to.equal(commitLeaf(address, updateHash, numSamples));
      leaves.push({ site: address, updateHash, numSamples });
    }
    const tree = buildUpdateTree(leaves.slice(0, 2));
    await (
      await ledger.connect(aggregator).finalizeRound(1, 1, ethers.id("model"), tree.root, 2, ethers.ZeroHash)
    ).wait();
    for (const l of leaves.slice(0, 2))
      expect(
        await ledger.verifyUpdateIncluded(1, 1, l.site, l.updateHash, l.numSamples, tree.proof(l.site)),
      ).to.equal(true);
    const left = leaves[2];
    expect(
      await ledger.verifyUpdateIncluded(
        1,
        1,
        left.site,
        left.updateHash,
        left.numSamples,
        tree.proof(leaves[0].site),
      ),
    ).to.equal(false);
  });
});
