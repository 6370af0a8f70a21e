// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/**
 * @title IConsortiumRegistry
 * @notice The part of the consortium registry that other contracts read: role membership (through
 * {IAccessControl-hasRole}), which hospital sites are currently allowed to take part in training, and what a
 * quorum vote held outside the registry (the ledger's task proposals) needs: the quorum, the epoch and the
 * admins' approval seats.
 *
 * The training ledger holds only this interface, so a registry can be upgraded by deploying a new ledger that
 * points at it, and tests can read the same surface the ledger reads.
 */
interface IConsortiumRegistry is IAccessControl {
    /// @notice Whether `operator` is a site whose status is Active.
    /// @param operator The site's operator address.
    /// @return active True exactly when the site is Active.
    function isActiveSite(address operator) external view returns (bool active);

    /// @notice The number of sites whose status is Active right now.
    /// @return count The number of Active sites.
    function activeSiteCount() external view returns (uint256 count);

    /// @notice The number of Active sites, and how many times a site stopped being Active (suspended or removed
    /// while Active) since deployment. The second number only grows; a ledger compares it with the value it saw
    /// when a round opened to learn, without a loop over sites, whether every commit still comes from an Active
    /// site.
    /// @return activeSites The number of Active sites.
    /// @return departures How many times a site left the Active status.
    function activeSiteCounts() external view returns (uint256 activeSites, uint256 departures);

    /// @notice How many distinct admin approvals a change needs.
    /// @return The quorum.
    function quorum() external view returns (uint256);

    /// @notice The admin/quorum epoch: it grows whenever the admin set or the quorum changes, and proposal ids
    /// bind it, so approvals cast before such a change never count after it.
    /// @return The epoch.
    function epoch() external view returns (uint256);

    /// @notice The approval bit of `admin` in a ballot: a power of two, distinct among the current admins, and 0
    /// for an account that is not an admin.
    /// @param admin The account.
    /// @return seat The seat bit.
    function adminSeat(address admin) external view returns (uint256 seat);
}
