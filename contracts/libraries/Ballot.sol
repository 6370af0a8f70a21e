// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @notice The approvals of one pending quorum vote in one storage word: how many admins approved, and one bit per
 * admin seat (see `ConsortiumRegistry.adminSeat`) so that an admin's approval counts once.
 *
 * The registry keeps a ballot per pending site, role and quorum proposal; the training ledger keeps one per
 * pending task proposal. Ballots are keyed by proposal ids that bind the admin/quorum epoch (see {ProposalId}),
 * so a seat reused by a newly voted-in admin never inherits an old approval.
 */
struct Ballot {
    uint32 approvals;
    uint224 approvers;
}

using BallotLibrary for Ballot global;

/// @title BallotLibrary
/// @notice Counts approvals in a {Ballot}.
library BallotLibrary {
    /**
     * @notice Counts the approval of the admin holding `seat`.
     * @param ballot The pending vote's ballot.
     * @param seat The admin's seat bit (non-zero).
     * @param quorum How many approvals carry the vote.
     * @return count The approvals counted with this one; 0 when `seat` had already approved (nothing changes).
     * @return reached Whether `count` reaches `quorum`. The ballot is then left as it was: the caller carries out
     * the change and deletes the ballot (or the record holding it).
     */
    function approve(
        Ballot storage ballot,
        uint256 seat,
        uint256 quorum
    ) internal returns (uint256 count, bool reached) {
        uint256 approvers = ballot.approvers;
        if (approvers & seat != 0) return (0, false);
        count = ballot.approvals + 1;
        reached = count >= quorum;
        if (!reached) {
            ballot.approvals = uint32(count);
            ballot.approvers = uint224(approvers | seat);
        }
    }

    /// @notice Whether the admin holding `seat` approved.
    /// @param ballot The ballot.
    /// @param seat The admin's seat bit (0 for an account that is not an admin: always false).
    /// @return True when the approval is counted.
    function hasApproved(Ballot storage ballot, uint256 seat) internal view returns (bool) {
        return ballot.approvers & seat != 0;
    }
}
