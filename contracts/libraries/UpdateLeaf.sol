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
    /// @dev Same value as `keccak256(bytes.concat(keccak256(abi.encode(site, updateHash, numSamples))))`, hashed
    /// in place in memory past the free memory pointer instead of allocating two byte arrays: this runs once per
    /// commit, the ledger's most frequent transaction.
    function hash(address site, bytes32 updateHash, uint64 numSamples) internal pure returns (bytes32 leaf) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, site)
            mstore(add(ptr, 0x20), updateHash)
            mstore(add(ptr, 0x40), numSamples)
            mstore(0x00, keccak256(ptr, 0x60))
            leaf := keccak256(0x00, 0x20)
        }
    }
}
