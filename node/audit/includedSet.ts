/**
 * Which of a round's committed updates the aggregator included. The chain keeps only the Merkle root of the
 * included leaves and their count, so the set is found by rebuilding roots from the committed leaves (every
 * leaf is known from the UpdateCommitted events) until one equals the recorded root:
 *
 *   1. the commits whose update bytes the store holds intact (what an honest aggregator's store holds);
 *   2. every commit of the round;
 *   3. every subset of `includedCount` commits (up to a budget), then, to explain a mismatch, subsets of other
 *      sizes.
 *
 * Leaf hashes are unique per site, and the root is a hash over the sorted set of leaves, so a match identifies
 * the included set exactly. docs/audit.md explains the procedure.
 */
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { buildUpdateTree, commitLeaf } from "../fl";

/** One committed update, as the chain recorded it. */
export interface CommittedLeaf {
  site: string;
  updateHash: string;
  numSamples: bigint;
}

/** How the included set was found, or why none was. */
export type IncludedSetResult =
  | {
      kind: "matched";
      /** Sites of the included updates (as given in `commits`). */
      sites: string[];
      method: "available" | "all-commits" | "search";
      /** Roots computed. */
      tried: number;
    }
  | {
      /** A set of another size than `includedCount` has the recorded root. */
      kind: "count-mismatch";
      sites: string[];
      tried: number;
    }
  | {
      kind: "no-match";
      tried: number;
      /** False when the search budget ran out before every subset was tried. */
      exhaustive: boolean;
      /** The root over every commit of the round, for the report. */
      allCommitsRoot: string;
    };

/** Options of {@link findIncludedSet}. */
export interface FindIncludedSetParameters {
  commits: readonly CommittedLeaf[];
  /** The round's recorded updates root. */
  root: string;
  /** The round's recorded includedCount. */
  includedCount: number;
  /** Sites (any case) whose update bytes the store holds intact. */
  available: ReadonlySet<string>;
  /** Most roots to compute in the subset search (100,000 by default). */
  maxTries?: number;
}

function* combinations(n: number, k: number): Generator<number[]> {
  if (k < 1 || k > n) return;
  const picked = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield [...picked];
    let i = k - 1;
    while (i >= 0 && picked[i] === n - k + i) i--;
    if (i < 0) return;
    picked[i]++;
    for (let j = i + 1; j < k; j++) picked[j] = picked[j - 1] + 1;
  }
}

/**
 * Finds the subset of `commits` whose StandardMerkleTree root equals `root`; see the module comment for the
 * order of the attempts.
 *
 * @example
 * const found = findIncludedSet({ commits, root, includedCount: 3, available: new Set(sitesWithBytes) });
 * if (found.kind === "matched") found.sites; // the included sites
 */
export function findIncludedSet(params: FindIncludedSetParameters): IncludedSetResult {
  const { commits, includedCount } = params;
  const root = params.root.toLowerCase();
  const budget = params.maxTries ?? 100_000;
  const available = new Set([...params.available].map((s) => s.toLowerCase()));
  let tried = 0;
  const treeRoot = (list: readonly CommittedLeaf[]) => {
    tried++;
    return list.length === 0 ? "" : buildUpdateTree(list).root.toLowerCase();
  };

  const withBytes = commits.filter((c) => available.has(c.site.toLowerCase()));
  if (withBytes.length === includedCount && treeRoot(withBytes) === root)
    return { kind: "matched", sites: withBytes.map((c) => c.site), method: "available", tried };
  const allCommitsRoot = treeRoot(commits);
  if (commits.length === includedCount && allCommitsRoot === root)
    return { kind: "matched", sites: commits.map((c) => c.site), method: "all-commits", tried };

  const leaves = commits.map((c) => commitLeaf(c.site, c.updateHash, c.numSamples));
  const sizes = [includedCount, ...Array.from({ length: commits.length }, (_, i) => commits.length - i)];
  const seen = new Set<number>();
  for (const size of sizes) {
    if (seen.has(size)) continue;
    seen.add(size);
    for (const picked of combinations(commits.length, size)) {
      if (tried >= budget) return { kind: "no-match", tried, exhaustive: false, allCommitsRoot };
      tried++;
      const candidate = SimpleMerkleTree.of(picked.map((i) => leaves[i])).root.toLowerCase();
      if (candidate !== root) continue;
      const sites = picked.map((i) => commits[i].site);
      return size === includedCount
        ? { kind: "matched", sites, method: "search", tried }
        : { kind: "count-mismatch", sites, tried };
    }
  }
  return { kind: "no-match", tried, exhaustive: true, allCommitsRoot };
}
