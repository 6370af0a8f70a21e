// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice Life cycle of a training round: None until opened, then Open, then Finalized or Aborted.
enum RoundStatus {
    None,
    Open,
    Finalized,
    Aborted
}

/**
 * @notice Every number of a training round packed into one storage word, so that a commit reads and writes the
 * round with one SLOAD and one SSTORE.
 *
 * Layout, from the least significant bit: status (8 bits), minSitesPerRound (16), commitCount (32),
 * includedCount (32), deadline (64), openedAtBlock (64), departuresAtOpen (40).
 */
type RoundState is uint256;

using RoundStateLibrary for RoundState global;

/// @title RoundStateLibrary
/// @notice Reads and updates the fields of a {RoundState}.
library RoundStateLibrary {
    uint256 private constant MIN_SITES_SHIFT = 8;
    uint256 private constant COMMIT_COUNT_SHIFT = 24;
    uint256 private constant INCLUDED_COUNT_SHIFT = 56;
    uint256 private constant DEADLINE_SHIFT = 88;
    uint256 private constant OPENED_AT_BLOCK_SHIFT = 152;
    uint256 private constant DEPARTURES_SHIFT = 216;
    uint256 private constant STATUS_MASK = 0xff;
    uint256 private constant COUNT_MASK = 0xffffffff;

    /// @notice A freshly opened round with no commits; `departures` is the registry's count of sites that left
    /// the Active status, as it stood at the opening.
    function open(
        uint16 minSites,
        uint64 deadline_,
        uint64 openedAtBlock_,
        uint40 departures
    ) internal pure returns (RoundState) {
        return
            RoundState.wrap(
                uint256(RoundStatus.Open) |
                    (uint256(minSites) << MIN_SITES_SHIFT) |
                    (uint256(deadline_) << DEADLINE_SHIFT) |
                    (uint256(openedAtBlock_) << OPENED_AT_BLOCK_SHIFT) |
                    (uint256(departures) << DEPARTURES_SHIFT)
            );
    }

    /// @notice The round's status.
    function status(RoundState state) internal pure returns (RoundStatus) {
        return RoundStatus(uint8(RoundState.unwrap(state)));
    }

    /// @notice The fewest updates the round must include, copied from its task when it opened.
    function minSitesPerRound(RoundState state) internal pure returns (uint16) {
        return uint16(RoundState.unwrap(state) >> MIN_SITES_SHIFT);
    }

    /// @notice How many sites committed an update.
    function commitCount(RoundState state) internal pure returns (uint32) {
        return uint32(RoundState.unwrap(state) >> COMMIT_COUNT_SHIFT);
    }

    /// @notice How many updates the finalised model used (zero unless Finalized).
    function includedCount(RoundState state) internal pure returns (uint32) {
        return uint32(RoundState.unwrap(state) >> INCLUDED_COUNT_SHIFT);
    }

    /// @notice The end of the commit window (a block timestamp).
    function deadline(RoundState state) internal pure returns (uint64) {
        return uint64(RoundState.unwrap(state) >> DEADLINE_SHIFT);
    }

    /// @notice The block the round opened in.
    function openedAtBlock(RoundState state) internal pure returns (uint64) {
        return uint64(RoundState.unwrap(state) >> OPENED_AT_BLOCK_SHIFT);
    }

    /// @notice How many times a site had left the Active status (the registry's count) when the round opened.
    function departuresAtOpen(RoundState state) internal pure returns (uint40) {
        return uint40(RoundState.unwrap(state) >> DEPARTURES_SHIFT);
    }

    /// @notice The state with one more commit. The count cannot wrap: it is bounded by the number of sites,
    /// which is far below 2^32.
    function withCommit(RoundState state) internal pure returns (RoundState) {
        return RoundState.wrap(RoundState.unwrap(state) + (1 << COMMIT_COUNT_SHIFT));
    }

    /// @notice The state marked Finalized with `included` updates used.
    function finalized(RoundState state, uint32 included) internal pure returns (RoundState) {
        uint256 cleared = RoundState.unwrap(state) & ~(STATUS_MASK | (COUNT_MASK << INCLUDED_COUNT_SHIFT));
        return
            RoundState.wrap(
                cleared | uint256(RoundStatus.Finalized) | (uint256(included) << INCLUDED_COUNT_SHIFT)
            );
    }

    /// @notice The state marked Aborted.
    function aborted(RoundState state) internal pure returns (RoundState) {
        return RoundState.wrap((RoundState.unwrap(state) & ~STATUS_MASK) | uint256(RoundStatus.Aborted));
    }
}
