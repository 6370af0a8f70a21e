// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {Ballot} from "./libraries/Ballot.sol";
import {ProposalId} from "./libraries/ProposalId.sol";
import {SiteProfile} from "./libraries/SiteProfile.sol";

/**
 * @title ConsortiumRegistry
 * @notice Who belongs to a federated-training consortium of hospitals, and in which role.
 *
 * Admins (one per member organisation) decide every change by a quorum of distinct approvals: onboarding a
 * hospital site, reinstating or removing it, granting or revoking the admin, aggregator and auditor roles, and
 * changing the quorum itself. The one exception is {suspendSite}: any single admin can stop a misbehaving site at
 * once, and bringing it back needs the quorum again.
 *
 * Roles use OpenZeppelin {AccessControl}, so other contracts (the training ledger) and auditors use the usual
 * {hasRole} and the standard {RoleGranted} and {RoleRevoked} events. {grantRole} and {revokeRole} always revert:
 * role changes go through {voteRole}. `hasRole(SITE_ROLE, a)` is true exactly when site `a` is Active; sites
 * hold no role storage of their own. `DEFAULT_ADMIN_ROLE` is held by nobody.
 *
 * Votes: every change has a proposal id (see {ProposalId}) over its kind, target, parameter, a nonce of the target
 * that grows each time the target changes, and an epoch that grows each time the admin set or the quorum changes.
 * Approvals of an old id never count again. The approval that reaches the quorum carries out the change in the
 * same transaction, and the ballot of a carried-out change is deleted. No function loops over sites or votes.
 */
contract ConsortiumRegistry is AccessControl, IConsortiumRegistry {
    /// @notice Life cycle of a site. Removed is final.
    enum SiteStatus {
        None,
        Proposed,
        Active,
        Suspended,
        Removed
    }

    /// @notice A site as {getSite} returns it.
    struct Site {
        address operator;
        SiteStatus status;
        uint64 changedAtBlock;
        bytes2 country;
        string name;
        string language;
        bytes32 metadataHash;
        bytes publicKey;
    }

    /// @dev Storage form of a site. The operator is the mapping key, so the first slot holds status, country,
    /// block and the site's vote nonce; a status change rewrites that one slot. Name, language and public key
    /// are packed into `profile` by {SiteProfile}.
    struct SiteRecord {
        SiteStatus status;
        bytes2 country;
        uint64 changedAtBlock;
        uint64 nonce;
        bytes32 metadataHash;
        bytes profile;
    }

    /// @notice Consortium admins: onboard sites, manage roles and the quorum, define training tasks.
    bytes32 public constant ADMIN_ROLE = keccak256("ADMIN_ROLE");
    /// @notice The aggregator: opens, finalises and aborts training rounds.
    bytes32 public constant AGGREGATOR_ROLE = keccak256("AGGREGATOR_ROLE");
    /// @notice Auditors: record audit verdicts on models.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// @notice Held exactly by the operators of Active sites (derived from the site status).
    bytes32 public constant SITE_ROLE = keccak256("SITE_ROLE");
    /// @notice Largest number of admins (one approval bit each in a ballot).
    uint256 public constant MAX_ADMINS = 224;

    mapping(address operator => SiteRecord) private _sites;
    mapping(bytes32 proposalId => Ballot) private _ballots;
    mapping(address admin => uint256 seatBit) private _adminSeat;
    mapping(address account => uint64 nonce) private _roleNonce;
    uint256 private _occupiedSeats;
    uint8 private _quorum;
    uint8 private _adminCount;
    uint64 private _epoch;
    uint64 private _siteCount;
    uint64 private _activeSiteCount;
    uint40 private _siteDepartures;

    /// @notice An admin proposed site `operator`; its approval follows as {SiteApproved}.
    event SiteProposed(
        address indexed operator,
        address indexed admin,
        string name,
        bytes2 country,
        string language,
        bytes32 metadataHash,
        bytes publicKey
    );
    /// @notice `admin` approved moving site `operator` to `target`; `approvals` of `quorum` are now counted.
    event SiteApproved(
        address indexed operator,
        address indexed admin,
        SiteStatus indexed target,
        uint256 approvals,
        uint256 quorum
    );
    /// @notice Site `operator` moved from status `from` to status `to`.
    event SiteStatusChanged(address indexed operator, SiteStatus indexed from, SiteStatus indexed to);
    /// @notice `admin` suspended site `operator`; `reasonHash` identifies the written reason kept off the chain.
    event SiteSuspended(address indexed operator, address indexed admin, bytes32 reasonHash);
    /// @notice `admin` voted to grant (or revoke) `role` for `account`; `approvals` of `quorum` are now counted.
    event RoleVote(
        bytes32 indexed role,
        address indexed account,
        address indexed admin,
        bool grant,
        uint256 approvals,
        uint256 quorum
    );
    /// @notice `admin` voted to set the quorum to `newQuorum`; `approvals` of `quorum` are now counted.
    event QuorumVote(uint8 indexed newQuorum, address indexed admin, uint256 approvals, uint256 quorum);
    /// @notice The quorum changed from `oldQuorum` to `newQuorum` (from 0 at deployment).
    event QuorumChanged(uint8 oldQuorum, uint8 newQuorum);

    /// @notice `account` is not an admin.
    error RegistryNotAdmin(address account);
    /// @notice Roles change only through {voteRole}; sites leave only through {removeSite}.
    error RegistryChangeNeedsQuorum();
    /// @notice The change would leave `admins` admins, fewer than the quorum `quorum`.
    error RegistryAdminsBelowQuorum(uint256 admins, uint256 quorum);
    /// @notice `quorum` must lie between 1 and the number of admins `admins`.
    error RegistryInvalidQuorum(uint256 quorum, uint256 admins);
    /// @notice The quorum already is `quorum`.
    error RegistryQuorumUnchanged(uint256 quorum);
    /// @notice An address argument was the zero address.
    error RegistryZeroAddress();
    /// @notice `admin` appears twice in the deployment's admin list.
    error RegistryDuplicateAdmin(address admin);
    /// @notice More than `max` admins.
    error RegistryTooManyAdmins(uint256 max);
    /// @notice `admin` already approved proposal `proposalId`.
    error RegistryAlreadyApproved(address admin, bytes32 proposalId);
    /// @notice Site `operator` already exists with status `status` (a removed operator cannot come back).
    error RegistrySiteExists(address operator, SiteStatus status);
    /// @notice No site was ever proposed for `operator`.
    error RegistryUnknownSite(address operator);
    /// @notice Site `operator` has status `status`, but the action needs `expected`.
    error RegistryInvalidSiteStatus(address operator, SiteStatus status, SiteStatus expected);
    /// @notice Site `operator` has status `status`, so there is nothing to remove.
    error RegistrySiteNotRemovable(address operator, SiteStatus status);
    /// @notice The site field `field` is empty, too long or badly formed.
    error RegistryInvalidSiteField(string field);
    /// @notice `role` is not one of ADMIN_ROLE, AGGREGATOR_ROLE and AUDITOR_ROLE.
    error RegistryUnknownRole(bytes32 role);
    /// @notice `account` already has (`grant` true) or already lacks `role`.
    error RegistryRoleUnchanged(bytes32 role, address account, bool grant);

    /**
     * @notice Deploys the registry with its first admins and quorum.
     * @param admins The first admins, one per member organisation.
     * @param initialQuorum How many distinct admin approvals a change needs.
     *
     * Requirements:
     * - `admins` has at most {MAX_ADMINS} entries, none of them zero and none twice.
     * - `1 <= initialQuorum <= admins.length`.
     *
     * Emits {RoleGranted} for each admin, {RoleAdminChanged} making ADMIN_ROLE the admin of every role, and
     * {QuorumChanged} from 0.
     */
    constructor(address[] memory admins, uint8 initialQuorum) {
        uint256 count = admins.length;
        if (count > MAX_ADMINS) revert RegistryTooManyAdmins(MAX_ADMINS);
        if (initialQuorum == 0 || initialQuorum > count) revert RegistryInvalidQuorum(initialQuorum, count);
        for (uint256 i = 0; i < count; ++i) {
            address admin = admins[i];
            if (admin == address(0)) revert RegistryZeroAddress();
            if (!_grantRole(ADMIN_ROLE, admin)) revert RegistryDuplicateAdmin(admin);
        }
        _quorum = initialQuorum;
        _setRoleAdmin(ADMIN_ROLE, ADMIN_ROLE);
        _setRoleAdmin(AGGREGATOR_ROLE, ADMIN_ROLE);
        _setRoleAdmin(AUDITOR_ROLE, ADMIN_ROLE);
        _setRoleAdmin(SITE_ROLE, ADMIN_ROLE);
        emit QuorumChanged(0, initialQuorum);
    }

    // ------------------------------------------------------------------ sites

    /**
     * @notice Proposes hospital site `operator` and counts the caller's approval toward making it Active.
     * @param operator The address the site signs its transactions with.
     * @param name Display name of the hospital or department (UTF-8).
     * @param country ISO 3166-1 alpha-2 country code, such as "NO".
     * @param language BCP 47 tag of the language of the site's clinical notes, such as "nb".
     * @param metadataHash Hash of the site's metadata document kept off the chain (may be zero).
     * @param publicKey The site's public key for signed uploads, such as a 33-byte compressed secp256k1 key.
     *
     * Requirements:
     * - the caller is an admin.
     * - `operator` is not zero and was never proposed before.
     * - `name` has 1 to 64 bytes; `country` is two upper-case ASCII letters; `language` has 1 to 35 visible
     *   ASCII characters.
     *
     * Emits {SiteProposed}, {SiteApproved}, and {SiteStatusChanged} to Active when the quorum is 1.
     */
    function proposeSite(
        address operator,
        string calldata name,
        bytes2 country,
        string calldata language,
        bytes32 metadataHash,
        bytes calldata publicKey
    ) external {
        uint256 seat = _adminSeatOf(msg.sender);
        if (operator == address(0)) revert RegistryZeroAddress();
        SiteRecord storage site = _sites[operator];
        SiteStatus status = site.status;
        if (status != SiteStatus.None) revert RegistrySiteExists(operator, status);
        if (!SiteProfile.isValidName(name)) revert RegistryInvalidSiteField("name");
        if (!SiteProfile.isValidCountry(country)) revert RegistryInvalidSiteField("country");
        if (!SiteProfile.isValidLanguage(language)) revert RegistryInvalidSiteField("language");

        site.status = SiteStatus.Proposed;
        site.country = country;
        site.changedAtBlock = uint64(block.number);
        site.nonce = 1;
        site.metadataHash = metadataHash;
        site.profile = SiteProfile.pack(name, language, publicKey);
        ++_siteCount;
        emit SiteProposed(operator, msg.sender, name, country, language, metadataHash, publicKey);
        _voteOnSite(operator, site, SiteStatus.Active, seat);
    }

    /**
     * @notice Approves making proposed site `operator` Active; the approval that reaches the quorum activates it.
     * @param operator The site's operator address.
     *
     * Requirements:
     * - the caller is an admin who has not yet approved this proposal.
     * - the site is Proposed.
     *
     * Emits {SiteApproved}, and {SiteStatusChanged} from Proposed to Active at the quorum.
     */
    function approveSite(address operator) external {
        uint256 seat = _adminSeatOf(msg.sender);
        SiteRecord storage site = _sites[operator];
        _requireSiteStatus(operator, site.status, SiteStatus.Proposed);
        _voteOnSite(operator, site, SiteStatus.Active, seat);
    }

    /**
     * @notice Suspends Active site `operator` at once; one admin is enough. Pending votes on the site lapse.
     * @param operator The site's operator address.
     * @param reasonHash Hash of the written reason kept off the chain.
     *
     * Requirements:
     * - the caller is an admin.
     * - the site is Active.
     *
     * Emits {SiteSuspended} and {SiteStatusChanged} from Active to Suspended.
     */
    function suspendSite(address operator, bytes32 reasonHash) external {
        _adminSeatOf(msg.sender);
        SiteRecord storage site = _sites[operator];
        _requireSiteStatus(operator, site.status, SiteStatus.Active);
        emit SiteSuspended(operator, msg.sender, reasonHash);
        _setSiteStatus(operator, site, SiteStatus.Suspended);
    }

    /**
     * @notice Approves making suspended site `operator` Active again; the approval that reaches the quorum
     * reinstates it.
     * @param operator The site's operator address.
     *
     * Requirements:
     * - the caller is an admin who has not yet approved this proposal.
     * - the site is Suspended.
     *
     * Emits {SiteApproved}, and {SiteStatusChanged} from Suspended to Active at the quorum.
     */
    function reinstateSite(address operator) external {
        uint256 seat = _adminSeatOf(msg.sender);
        SiteRecord storage site = _sites[operator];
        _requireSiteStatus(operator, site.status, SiteStatus.Suspended);
        _voteOnSite(operator, site, SiteStatus.Active, seat);
    }

    /**
     * @notice Approves removing site `operator` for good; the approval that reaches the quorum removes it.
     * @param operator The site's operator address.
     *
     * Requirements:
     * - the caller is an admin who has not yet approved this proposal.
     * - the site is Proposed, Active or Suspended.
     *
     * Emits {SiteApproved}, and {SiteStatusChanged} to Removed at the quorum.
     */
    function removeSite(address operator) external {
        uint256 seat = _adminSeatOf(msg.sender);
        SiteRecord storage site = _sites[operator];
        SiteStatus status = site.status;
        if (status == SiteStatus.None || status == SiteStatus.Removed) {
            revert RegistrySiteNotRemovable(operator, status);
        }
        _voteOnSite(operator, site, SiteStatus.Removed, seat);
    }

    // ------------------------------------------------------------------ roles and quorum

    /**
     * @notice Votes to grant (`grant` true) or revoke `role` for `account`; the approval that reaches the quorum
     * makes the change.
     * @param role ADMIN_ROLE, AGGREGATOR_ROLE or AUDITOR_ROLE.
     * @param account The account whose role changes.
     * @param grant True to grant, false to revoke.
     *
     * Requirements:
     * - the caller is an admin who has not yet approved this proposal.
     * - `role` is ADMIN_ROLE, AGGREGATOR_ROLE or AUDITOR_ROLE, and `account` is not zero.
     * - `account` does not already have (when granting) or lack (when revoking) the role.
     * - granting an admin keeps at most {MAX_ADMINS} admins; revoking one leaves at least the quorum.
     *
     * Emits {RoleVote}, and {RoleGranted} or {RoleRevoked} at the quorum.
     */
    function voteRole(bytes32 role, address account, bool grant) external {
        uint256 seat = _adminSeatOf(msg.sender);
        if (role != ADMIN_ROLE && role != AGGREGATOR_ROLE && role != AUDITOR_ROLE) {
            revert RegistryUnknownRole(role);
        }
        if (account == address(0)) revert RegistryZeroAddress();
        if (super.hasRole(role, account) == grant) revert RegistryRoleUnchanged(role, account, grant);
        if (role == ADMIN_ROLE) {
            if (grant) {
                if (_adminCount == MAX_ADMINS) revert RegistryTooManyAdmins(MAX_ADMINS);
            } else {
                _requireAdminRemovable();
            }
        }

        uint256 currentQuorum = _quorum;
        (uint256 count, bool reached) = _approve(roleProposalId(role, account, grant), seat, currentQuorum);
        emit RoleVote(role, account, msg.sender, grant, count, currentQuorum);
        if (reached) {
            if (grant) {
                _grantRole(role, account);
            } else {
                _revokeRole(role, account);
            }
        }
    }

    /**
     * @notice Votes to set the quorum to `newQuorum`; the approval that reaches the current quorum changes it.
     * @param newQuorum The new number of distinct approvals a change needs.
     *
     * Requirements:
     * - the caller is an admin who has not yet approved this proposal.
     * - `1 <= newQuorum <= adminCount()` and `newQuorum` differs from the current quorum.
     *
     * Emits {QuorumVote}, and {QuorumChanged} at the quorum.
     */
    function voteQuorum(uint8 newQuorum) external {
        uint256 seat = _adminSeatOf(msg.sender);
        uint256 admins = _adminCount;
        if (newQuorum == 0 || newQuorum > admins) revert RegistryInvalidQuorum(newQuorum, admins);
        uint8 oldQuorum = _quorum;
        if (newQuorum == oldQuorum) revert RegistryQuorumUnchanged(newQuorum);

        (uint256 count, bool reached) = _approve(quorumProposalId(newQuorum), seat, oldQuorum);
        emit QuorumVote(newQuorum, msg.sender, count, oldQuorum);
        if (reached) {
            _quorum = newQuorum;
            ++_epoch;
            emit QuorumChanged(oldQuorum, newQuorum);
        }
    }

    /**
     * @notice Always reverts: roles change only through {voteRole}.
     *
     * Requirements:
     * - none can be met; the call reverts with {RegistryChangeNeedsQuorum}.
     */
    function grantRole(bytes32, address) public pure override(AccessControl, IAccessControl) {
        revert RegistryChangeNeedsQuorum();
    }

    /**
     * @notice Always reverts: roles change only through {voteRole}.
     *
     * Requirements:
     * - none can be met; the call reverts with {RegistryChangeNeedsQuorum}.
     */
    function revokeRole(bytes32, address) public pure override(AccessControl, IAccessControl) {
        revert RegistryChangeNeedsQuorum();
    }

    /**
     * @notice Gives up `role` held by the caller.
     * @param role The role to give up.
     * @param callerConfirmation Must be the caller's own address.
     *
     * Requirements:
     * - `callerConfirmation` is the caller.
     * - `role` is not SITE_ROLE (a site leaves through {removeSite}).
     * - an admin giving up ADMIN_ROLE leaves at least the quorum of admins.
     *
     * Emits {RoleRevoked} when the caller held the role.
     */
    function renounceRole(
        bytes32 role,
        address callerConfirmation
    ) public override(AccessControl, IAccessControl) {
        if (role == SITE_ROLE) revert RegistryChangeNeedsQuorum();
        super.renounceRole(role, callerConfirmation);
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice Whether `account` has `role`. For SITE_ROLE: whether `account` is an Active site.
     * @param role The role.
     * @param account The account.
     * @return True when `account` has the role.
     */
    function hasRole(
        bytes32 role,
        address account
    ) public view override(AccessControl, IAccessControl) returns (bool) {
        if (role == SITE_ROLE) return _sites[account].status == SiteStatus.Active;
        return super.hasRole(role, account);
    }

    /**
     * @notice Everything stored about site `operator`.
     * @param operator The site's operator address.
     * @return site The site.
     *
     * Requirements:
     * - the site was proposed at some time ({RegistryUnknownSite} otherwise).
     */
    function getSite(address operator) external view returns (Site memory site) {
        SiteRecord storage record = _sites[operator];
        if (record.status == SiteStatus.None) revert RegistryUnknownSite(operator);
        (string memory name, string memory language, bytes memory publicKey) = SiteProfile.unpack(
            record.profile
        );
        site = Site({
            operator: operator,
            status: record.status,
            changedAtBlock: record.changedAtBlock,
            country: record.country,
            name: name,
            language: language,
            metadataHash: record.metadataHash,
            publicKey: publicKey
        });
    }

    /// @notice The status of site `operator` (None when never proposed).
    /// @param operator The site's operator address.
    /// @return The status.
    function siteStatus(address operator) external view returns (SiteStatus) {
        return _sites[operator].status;
    }

    /// @inheritdoc IConsortiumRegistry
    function isActiveSite(address operator) external view returns (bool) {
        return _sites[operator].status == SiteStatus.Active;
    }

    /// @inheritdoc IConsortiumRegistry
    function activeSiteCount() external view returns (uint256) {
        return _activeSiteCount;
    }

    /// @inheritdoc IConsortiumRegistry
    function activeSiteCounts() external view returns (uint256 activeSites, uint256 departures) {
        return (_activeSiteCount, _siteDepartures);
    }

    /// @notice The number of sites ever proposed, whatever their status now.
    /// @return The count.
    function siteCount() external view returns (uint256) {
        return _siteCount;
    }

    /// @notice The number of admins.
    /// @return The count.
    function adminCount() external view returns (uint256) {
        return _adminCount;
    }

    /// @inheritdoc IConsortiumRegistry
    function quorum() external view returns (uint256) {
        return _quorum;
    }

    /// @inheritdoc IConsortiumRegistry
    function epoch() external view returns (uint256) {
        return _epoch;
    }

    /// @inheritdoc IConsortiumRegistry
    function adminSeat(address admin) external view returns (uint256 seat) {
        return _adminSeat[admin];
    }

    /// @notice The number of approvals counted for pending proposal `proposalId` (0 once carried out).
    /// @param proposalId A proposal id from {siteProposalId}, {roleProposalId} or {quorumProposalId}.
    /// @return The count.
    function approvals(bytes32 proposalId) external view returns (uint256) {
        return _ballots[proposalId].approvals;
    }

    /// @notice Whether `admin` approved pending proposal `proposalId` (false once carried out).
    /// @param proposalId A proposal id of the current epoch.
    /// @param admin The admin.
    /// @return True when the approval is counted.
    function hasApproved(bytes32 proposalId, address admin) external view returns (bool) {
        return _ballots[proposalId].hasApproved(_adminSeat[admin]);
    }

    /// @notice The id of the current proposal to move site `operator` to `target` (Active or Removed).
    /// @param operator The site's operator address.
    /// @param target The status the vote leads to.
    /// @return The proposal id.
    function siteProposalId(address operator, SiteStatus target) public view returns (bytes32) {
        return ProposalId.site(operator, uint8(target), _sites[operator].nonce, _epoch);
    }

    /// @notice The id of the current proposal to grant (`grant` true) or revoke `role` for `account`.
    /// @param role The role.
    /// @param account The account.
    /// @param grant True for a grant, false for a revocation.
    /// @return The proposal id.
    function roleProposalId(bytes32 role, address account, bool grant) public view returns (bytes32) {
        return ProposalId.role(role, account, grant, _roleNonce[account], _epoch);
    }

    /// @notice The id of the current proposal to set the quorum to `newQuorum`.
    /// @param newQuorum The proposed quorum.
    /// @return The proposal id.
    function quorumProposalId(uint8 newQuorum) public view returns (bytes32) {
        return ProposalId.quorum(address(this), newQuorum, _epoch);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Moves the account's vote nonce on every grant, and keeps the admin seats, the admin count and the
    /// epoch in step with ADMIN_ROLE grants.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (!granted) return false;
        ++_roleNonce[account];
        if (role == ADMIN_ROLE) {
            uint256 occupied = _occupiedSeats;
            uint256 seat = ~occupied & (occupied + 1);
            _occupiedSeats = occupied | seat;
            _adminSeat[account] = seat;
            ++_adminCount;
            ++_epoch;
        }
    }

    /// @dev Moves the account's vote nonce on every revocation (renouncing included), and keeps the admin seats,
    /// the admin count and the epoch in step with ADMIN_ROLE revocations, leaving at least the quorum of admins.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (!revoked) return false;
        ++_roleNonce[account];
        if (role == ADMIN_ROLE) {
            _requireAdminRemovable();
            _occupiedSeats &= ~_adminSeat[account];
            delete _adminSeat[account];
            --_adminCount;
            ++_epoch;
        }
    }

    function _voteOnSite(address operator, SiteRecord storage site, SiteStatus target, uint256 seat) private {
        uint256 currentQuorum = _quorum;
        (uint256 count, bool reached) = _approve(
            ProposalId.site(operator, uint8(target), site.nonce, _epoch),
            seat,
            currentQuorum
        );
        emit SiteApproved(operator, msg.sender, target, count, currentQuorum);
        if (reached) _setSiteStatus(operator, site, target);
    }

    function _setSiteStatus(address operator, SiteRecord storage site, SiteStatus to) private {
        SiteStatus from = site.status;
        site.status = to;
        site.changedAtBlock = uint64(block.number);
        ++site.nonce;
        if (to == SiteStatus.Active) {
            ++_activeSiteCount;
        } else if (from == SiteStatus.Active) {
            --_activeSiteCount;
            ++_siteDepartures;
        }
        emit SiteStatusChanged(operator, from, to);
    }

    /// @dev Counts the caller's approval of `proposalId`. At the quorum the ballot is deleted and `reached` is
    /// true; the caller then carries out the change, which moves a nonce or the epoch so the id is never reused.
    function _approve(
        bytes32 proposalId,
        uint256 seat,
        uint256 currentQuorum
    ) private returns (uint256 count, bool reached) {
        (count, reached) = _ballots[proposalId].approve(seat, currentQuorum);
        if (count == 0) revert RegistryAlreadyApproved(msg.sender, proposalId);
        if (reached) delete _ballots[proposalId];
    }

    function _adminSeatOf(address account) private view returns (uint256 seat) {
        seat = _adminSeat[account];
        if (seat == 0) revert RegistryNotAdmin(account);
    }

    function _requireAdminRemovable() private view {
        uint256 admins = _adminCount;
        if (admins <= _quorum) revert RegistryAdminsBelowQuorum(admins - 1, _quorum);
    }

    function _requireSiteStatus(address operator, SiteStatus status, SiteStatus expected) private pure {
        if (status != expected) revert RegistryInvalidSiteStatus(operator, status, expected);
    }
}
