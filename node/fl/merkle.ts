/**
 * The Merkle tree of a round's included updates. Leaves are `(address site, bytes32 updateHash, uint64
 * numSamples)`, hashed the OpenZeppelin StandardMerkleTree way:
 *
 *   leaf = keccak256(bytes.concat(keccak256(abi.encode(site, updateHash, numSamples))))
 *
 * which is also exactly what TrainingLedger stores per commit, so `MerkleProof.verify` on the chain accepts the
 * proofs made here. Values go into the tree in ascending site-address order; the library then sorts the leaf
 * hashes (its default), so the root depends only on the set of leaves.
 */
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, isHexString, keccak256 } from "ethers";
import { normaliseSite, sortBySite } from "./siteOrder";

/** The ABI types of a leaf, in order. */
export const LEAF_ENCODING = ["address", "bytes32", "uint64"] as const;

/** One included update, as it appears in the tree. */
export interface UpdateLeaf {
  /** Site address. */
  site: string;
  /** SHA-256 of the update bytes, 0x-prefixed 32-byte hex. */
  updateHash: string;
  /** Sample count the site committed. */
  numSamples: bigint | number;
}

type LeafTuple = [string, string, bigint];

function toTuple(leaf: UpdateLeaf): LeafTuple {
  if (!isHexString(leaf.updateHash, 32))
    throw new RangeError(`update hash "${leaf.updateHash}" is not 32-byte hex`);
  const n = BigInt(leaf.numSamples);
  if (n < 0n || n >= 1n << 64n) throw new RangeError(`sample count ${n} does not fit a uint64`);
  return [normaliseSite(leaf.site), leaf.updateHash.toLowerCase(), n];
}

/**
 * The leaf hash of one commit, equal to `TrainingLedger.commitLeaf(task, round, site)` after the site committed
 * `(updateHash, numSamples)`.
 *
 * @example
 * commitLeaf("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x12…ef", 500n); // "0x…" (bytes32)
 */
export function commitLeaf(site: string, updateHash: string, numSamples: bigint | number): string {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    [...LEAF_ENCODING],
    toTuple({ site, updateHash, numSamples }),
  );
  return keccak256(keccak256(encoded));
}

/** A built tree with its root and proofs. */
export interface UpdateTree {
  /** The Merkle root (bytes32 hex) recorded by `finalizeRound`. */
  root: string;
  /** The leaves in ascending site order. */
  leaves: UpdateLeaf[];
  /** Proof for the leaf of `site` (throws a RangeError when the site is not in the tree). */
  proof(site: string): string[];
  /** The library's JSON dump (format "standard-v1"), loadable with `StandardMerkleTree.load`. */
  dump(): unknown;
}

/**
 * Builds the tree over a round's included updates. Throws a RangeError when the list is empty, a site appears
 * twice, or a field is malformed.
 *
 * @example
 * const tree = buildUpdateTree([{ site, updateHash, numSamples: 500n }]);
 * await ledger.finalizeRound(task, round, modelHash, tree.root, 1, metricsHash);
 */
export function buildUpdateTree(leaves: readonly UpdateLeaf[]): UpdateTree {
  if (leaves.length === 0) throw new RangeError("a round's update tree needs at least one leaf");
  const sorted = sortBySite(leaves);
  const tuples = sorted.map(toTuple);
  const tree = StandardMerkleTree.of<LeafTuple>(tuples, [...LEAF_ENCODING]);
  const index = new Map<string, number>();
  for (const [i, v] of tree.entries()) index.set(v[0].toLowerCase(), i);
  return {
    root: tree.root,
    leaves: tuples.map(([site, updateHash, numSamples]) => ({ site, updateHash, numSamples })),
    proof(site: string): string[] {
      const i = index.get(normaliseSite(site).toLowerCase());
      if (i === undefined) throw new RangeError(`site ${site} has no leaf in this tree`);
      return tree.getProof(i);
    },
    dump: () => tree.dump(),
  };
}

/**
 * Checks a proof for a leaf against a root, off the chain (the same check as `MerkleProof.verify`).
 *
 * @example
 * verifyUpdateProof(root, { site, updateHash, numSamples }, proof); // true or false
 */
export function verifyUpdateProof(root: string, leaf: UpdateLeaf, proof: readonly string[]): boolean {
  return StandardMerkleTree.verify<LeafTuple>(root, [...LEAF_ENCODING], toTuple(leaf), [...proof]);
}
