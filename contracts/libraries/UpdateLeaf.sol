// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title UpdateLeaf
 * @notice The commitment a site makes to one model update, in the leaf encoding of OpenZeppelin's
 * StandardMerkleTree over the types `(address, bytes32, uint64)`:
 * `keccak256(bytes.concat(keccak256(abi.encode(site, updateHash, numSamples))))`.
 *
 * The training ledger stores this leaf for each commit, and the aggregator builds the round's Merkle tree from
 * exactly these leaves, so one value binds the update's hash and its sample count and proves inclusion.
 */
library UpdateLeaf {
    /// @notice The leaf for `site` committing the update with hash `updateHash` trained on `numSamples` examples.
    function hash(address site, bytes32 updateHash, uint64 numSamples) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(site, updateHash, numSamples))));
    }
}
