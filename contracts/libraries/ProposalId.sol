// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title ProposalId
 * @notice Computes the identifier of a quorum vote in the consortium registry.
 *
 * An identifier is `keccak256(abi.encode(uint8 kind, address target, bytes32 parameter, uint256 nonce,
 * uint256 epoch))`. The nonce belongs to the target and grows each time the target changes; the epoch grows
 * each time the admin set or the quorum changes. A change to either yields a new identifier, so approvals cast
 * before the change no longer count toward anything.
 */
library ProposalId {
    /// @notice Kind of a vote that moves a site to a new status.
    uint8 internal constant KIND_SITE = 1;
    /// @notice Kind of a vote that grants or revokes a role.
    uint8 internal constant KIND_ROLE = 2;
    /// @notice Kind of a vote that changes the quorum.
    uint8 internal constant KIND_QUORUM = 3;
    /// @notice Kind of a vote that creates a training task in the ledger.
    uint8 internal constant KIND_TASK = 4;

    /// @notice Identifier of a vote that moves site `operator` to status number `targetStatus`.
    function site(
        address operator,
        uint8 targetStatus,
        uint256 nonce,
        uint256 epoch
    ) internal pure returns (bytes32) {
        return compute(KIND_SITE, operator, bytes32(uint256(targetStatus)), nonce, epoch);
    }

    /// @notice Identifier of a vote that grants (`grant` true) or revokes `role` for `account`.
    function role(
        bytes32 roleId,
        address account,
        bool grant,
        uint256 nonce,
        uint256 epoch
    ) internal pure returns (bytes32) {
        return compute(KIND_ROLE, account, keccak256(abi.encode(roleId, grant)), nonce, epoch);
    }

    /// @notice Identifier of a vote that sets the quorum of `registry` to `newQuorum`.
    /// @dev Every quorum change moves the epoch, so the quorum target needs no nonce of its own.
    function quorum(address registry, uint8 newQuorum, uint256 epoch) internal pure returns (bytes32) {
        return compute(KIND_QUORUM, registry, bytes32(uint256(newQuorum)), 0, epoch);
    }

    /// @notice Identifier of a vote that creates, in training ledger `ledger`, the task whose parameters hash to
    /// `parametersHash`.
    /// @dev A task proposal names its genesis model, which can be recorded only once, so the proposal can be
    /// carried out only once and needs no nonce of its own; the epoch makes admin or quorum changes start it over.
    function task(address ledger, bytes32 parametersHash, uint256 epoch) internal pure returns (bytes32) {
        return compute(KIND_TASK, ledger, parametersHash, 0, epoch);
    }

    /// @notice The identifier over all five parts.
    function compute(
        uint8 kind,
        address target,
        bytes32 parameter,
        uint256 nonce,
        uint256 epoch
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(kind, target, parameter, nonce, epoch));
    }
}
