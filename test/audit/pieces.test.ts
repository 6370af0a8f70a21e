import { expect } from "chai";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { findIncludedSet, type CommittedLeaf } from "../../node/audit";
import { queryRange } from "../../node/audit/queryRange";
import { statusAt, type SiteRegistryView } from "../../node/audit/siteRegistry";
import { buildUpdateTree, commitLeaf } from "../../node/fl/merkle";

/*
 * The audit's pure pieces: finding the included set from committed leaves, splitting event queries that a node
 * refuses as too wide, and replaying site status changes up to a log position.
 */
const hash = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;
const site = (i: number) => `0x${(0x1000 + i).toString(16).padStart(40, "0")}`;
const commits: CommittedLeaf[] = [1, 2, 3, 4, 5].map((i) => ({
  site: site(i),
  updateHash: hash(i),
  numSamples: BigInt(10 * i),
}));
const rootOf = (list: CommittedLeaf[]) => buildUpdateTree(list).root;

describe("audit pieces", function () {
  describe("findIncludedSet", function () {
    it("takes the commits whose bytes are available when they give the root", function () {
      const included = [commits[0], commits[2], commits[4]];
      const found = findIncludedSet({
        commits,
        root: rootOf(included),
        includedCount: 3,
        available: new Set(included.map((c) => c.site)),
      });
      expect(found).to.deep.include({ kind: "matched", method: "available", tried: 1 });
    });

    it("falls back to all commits, then to a search over subsets", function () {
      const all = findIncludedSet({ commits, root: rootOf(commits), includedCount: 5, available: new Set() });
      expect(all).to.deep.include({ kind: "matched", method: "all-commits" });
      const some = [commits[1], commits[3]];
      const searched = findIncludedSet({
        commits,
        root: rootOf(some),
        includedCount: 2,
        available: new Set(),
      });
      expect(searched).to.deep.include({ kind: "matched", method: "search" });
      if (searched.kind === "matched") expect(searched.sites).to.deep.equal(some.map((c) => c.site));
    });

    it("names the set when the root covers another number of updates than includedCount", function () {
      const some = [commits[0], commits[1], commits[2]];
      const found = findIncludedSet({ commits, root: rootOf(some), includedCount: 4, available: new Set() });
      expect(found.kind).to.equal("count-mismatch");
      if (found.kind === "count-mismatch") expect(found.sites).to.deep.equal(some.map((c) => c.site));
    });

    it("reports no match for a root over a leaf nobody committed, and stops at its budget", function () {
      const forged = rootOf([commits[0], { ...commits[1], numSamples: 999n }]);
      const found = findIncludedSet({ commits, root: forged, includedCount: 2, available: new Set() });
      expect(found).to.deep.include({ kind: "no-match", exhaustive: true, allCommitsRoot: rootOf(commits) });
      const capped = findIncludedSet({
        commits,
        root: forged,
        includedCount: 2,
        available: new Set(),
        maxTries: 5,
      });
      expect(capped).to.deep.include({ kind: "no-match", exhaustive: false });
    });

    it("uses roots from bare leaf hashes that equal the update tree's roots", function () {
      for (let k = 1; k <= commits.length; k++) {
        const list = commits.slice(0, k);
        const leaves = list.map((c) => commitLeaf(c.site, c.updateHash, c.numSamples));
        expect(SimpleMerkleTree.of(leaves).root).to.equal(rootOf(list));
      }
    });
  });

  describe("queryRange", function () {
    it("splits a range the node refuses as too wide and keeps block order", async function () {
      const calls: [number, number][] = [];
      const logs = await queryRange(0, 99, async (from, to) => {
        calls.push([from, to]);
        if (to - from >= 30) throw new Error("query exceeds max block range 30");
        return Array.from({ length: to - from + 1 }, (_, i) => from + i);
      });
      expect(logs).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
      expect(calls[0]).to.deep.equal([0, 99]);
      expect(calls.every(([from, to]) => from <= to)).to.equal(true);
    });

    it("passes other errors on at once", async function () {
      let calls = 0;
      let caught: unknown;
      try {
        await queryRange(0, 99, async () => {
          calls++;
          throw new Error("connection refused");
        });
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).message).to.equal("connection refused");
      expect(calls).to.equal(1);
    });
  });

  describe("statusAt", function () {
    const view: SiteRegistryView = {
      profiles: new Map([
        [site(1), { name: "A", country: "NO", language: "nb", proposedAt: { blockNumber: 5, logIndex: 0 } }],
      ]),
      changes: new Map([
        [
          site(1),
          [
            { blockNumber: 6, logIndex: 1, from: "Proposed", to: "Active" },
            { blockNumber: 9, logIndex: 0, from: "Active", to: "Suspended" },
            { blockNumber: 12, logIndex: 3, from: "Suspended", to: "Active" },
          ],
        ],
      ]),
    };

    it("replays status changes up to a log position", function () {
      expect(statusAt(view, site(1), 4, 0)).to.equal("None");
      expect(statusAt(view, site(1), 6, 0)).to.equal("Proposed");
      expect(statusAt(view, site(1), 6, 2)).to.equal("Active");
      expect(statusAt(view, site(1), 9, 0)).to.equal("Active");
      expect(statusAt(view, site(1), 9, 1)).to.equal("Suspended");
      expect(statusAt(view, site(1), 12, 4)).to.equal("Active");
      expect(statusAt(view, site(2), 12, 4)).to.equal("None");
    });
  });
});
