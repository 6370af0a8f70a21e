import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, keccak256 } from "ethers";
import { buildUpdateTree, commitLeaf, verifyUpdateProof, type UpdateLeaf } from "../../node/fl";
import { arbSites } from "./helpers";

const h = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;

describe("update Merkle tree", () => {
  it("computes the leaf as keccak256(keccak256(abi.encode(site, hash, samples)))", () => {
    const site = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const inner = keccak256(
      AbiCoder.defaultAbiCoder().encode(["address", "bytes32", "uint64"], [site, h(0xabc), 500n]),
    );
    expect(commitLeaf(site, h(0xabc), 500)).to.equal(keccak256(inner));
    expect(commitLeaf(site.toLowerCase(), h(0xabc).toUpperCase().replace("0X", "0x"), 500n)).to.equal(
      keccak256(inner),
    );
  });

  it("matches the OpenZeppelin library, verifies every proof, and ignores input order (property)", () => {
    fc.assert(
      fc.property(
        arbSites(1, 9),
        fc.array(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), { minLength: 9, maxLength: 9 }),
        (sites, samples) => {
          const leaves: UpdateLeaf[] = sites.map((site, i) => ({
            site,
            updateHash: h(i + 1),
            numSamples: samples[i],
          }));
          const tree = buildUpdateTree(leaves);
          const reversed = buildUpdateTree([...leaves].reverse());
          expect(reversed.root).to.equal(tree.root);
          const lib = StandardMerkleTree.of(
            leaves.map((l) => [l.site, l.updateHash, l.numSamples]),
            ["address", "bytes32", "uint64"],
          );
          expect(tree.root).to.equal(lib.root);
          for (const leaf of leaves) {
            const proof = tree.proof(leaf.site);
            expect(verifyUpdateProof(tree.root, leaf, proof)).to.equal(true);
            expect(
              verifyUpdateProof(tree.root, { ...leaf, numSamples: BigInt(leaf.numSamples) ^ 1n }, proof),
            ).to.equal(false);
          }
          const sorted = tree.leaves.map((l) => l.site.toLowerCase());
          expect(sorted).to.deep.equal([...sorted].sort());
        },
      ),
      { numRuns: 40 },
    );
  });

  it("uses the leaf itself as the root of a one-leaf tree", () => {
    const leaf = { site: "0x0000000000000000000000000000000000000001", updateHash: h(1), numSamples: 3n };
    const tree = buildUpdateTree([leaf]);
    expect(tree.root).to.equal(commitLeaf(leaf.site, leaf.updateHash, leaf.numSamples));
    expect(tree.proof(leaf.site)).to.deep.equal([]);
  });

  it("refuses empty input, duplicate sites and malformed fields", () => {
    const site = "0x0000000000000000000000000000000000000001";
    expect(() => buildUpdateTree([])).to.throw(/at least one leaf/);
    expect(() =>
      buildUpdateTree([
        { site, updateHash: h(1), numSamples: 1 },
        { site, updateHash: h(2), numSamples: 1 },
      ]),
    ).to.throw(/appears twice/);
    expect(() => commitLeaf(site, "0x1234", 1)).to.throw(/32-byte hex/);
    expect(() => commitLeaf(site, h(1), 2n ** 64n)).to.throw(/uint64/);
    expect(() => commitLeaf("0x12", h(1), 1)).to.throw(/20-byte hex address/);
    expect(() =>
      buildUpdateTree([{ site, updateHash: h(1), numSamples: 1 }]).proof(h(1).slice(0, 42)),
    ).to.throw(/no leaf/);
  });
});
