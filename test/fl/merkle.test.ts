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

  it("reproduces the worked example of docs/aggregation.md", () => {
    const a = {
      site: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      updateHash: "0x37aa3b2dd4b486cada5f6dc662dd24ba9805397a987806eb5158f64248b94b06",
      numSamples: 3n,
    };
    const b = {
      site: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      updateHash: "0x50ef90ba29fa9a2eb378435cc9a6a1efd9f773f4c722f21bcbec5f54ea90e681",
      numSamples: 1n,
    };
    const leafA = "0x5e59b8dfb9a517b4c14fa2f9cc5724ed0361a6ed4b4b3615993dba184433582e";
    const leafB = "0x45e59c605b20855b493a1672f4b5f76e07ed533bcb558a586699420dbd300b36";
    expect(commitLeaf(a.site, a.updateHash, a.numSamples)).to.equal(leafA);
    expect(commitLeaf(b.site, b.updateHash, b.numSamples)).to.equal(leafB);
    const tree = buildUpdateTree([a, b]);
    expect(tree.root).to.equal("0x7a5c223324695abfd1ecb2295267a376a88555b972d5d2e39780cad2da9b1116");
    expect(tree.root).to.equal(keccak256("0x" + leafB.slice(2) + leafA.slice(2)));
    expect(tree.proof(a.site)).to.deep.equal([leafB]);
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
