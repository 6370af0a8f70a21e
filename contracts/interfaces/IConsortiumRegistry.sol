// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/**
 * @title IConsortiumRegistry
 * @notice The part of the consortium registry that other contracts read: role membership (through
 * {IAccessControl-hasRole}) and which hospital sites are currently allowed to take part in training.
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
}
