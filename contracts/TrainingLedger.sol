// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IConsortiumRegistry} from "./interfaces/IConsortiumRegistry.sol";
import {Ballot} from "./libraries/Ballot.sol";
import {ProposalId} from "./libraries/ProposalId.sol";
import {RoundState, RoundStateLibrary, RoundStatus} from "./libraries/RoundState.sol";
import {UpdateLeaf} from "./libraries/UpdateLeaf.sol";

/**
 * @title TrainingLedger
 * @notice The public record of federated training: tasks, their rounds, each site's commitment to its model
 * update, and the provenance of every model the rounds produce.
 *
 * The admins define a task with a genesis model by a quorum vote, as they decide every change in the registry:
 * {createTask} proposes it and counts the proposer's approval, {approveTask} adds approvals, and the approval that
 * reaches the registry's quorum creates the task (at once when the quorum is 1). The aggregator opens round after
 * round; each round starts from
 * the task's latest model (the genesis, or the model of the last finalised round). While the commit window is
 * open, every Active site commits once to its update: the stored value is the StandardMerkleTree leaf of
 * `(site, updateHash, numSamples)` (see {UpdateLeaf}). The aggregator then finalises the round with the new model
 * hash and the Merkle root of the leaves it used, or aborts it. Auditors record verdicts on models.
 *
 * Roles, the quorum and the admin/quorum epoch are read from the {IConsortiumRegistry}. Hot paths are sized for
 * gas: a commit writes one new slot and finalising writes two (the model's provenance and the round's updates
 * root), whatever the number of sites. A task's genesis must be a model hash never recorded before; it is recorded
 * as "round 0" of the task. A round's model is recorded by hash the first time that hash appears, and a hash seen
 * before never blocks a round (a task's genesis cannot be chosen to stall another task's round): the provenance by
 * hash is the model's first record, and the provenance of a round is always the round's own record. Every model's
 * parent is recorded before the model itself, so following parents always ends at a genesis.
 */
contract TrainingLedger {
    /// @notice A training task. The first two slots pack the numbers; `latestModelHash` is the base the next
    /// round must start from.
    struct Task {
        address creator;
        uint16 aggregationRule;
        uint16 minSitesPerRound;
        uint32 commitWindowSeconds;
        uint16 roundsPlanned;
        uint32 currentRound;
        uint64 createdAtBlock;
        bytes32 specHash;
        bytes32 genesisModelHash;
        bytes32 latestModelHash;
    }

    /// @notice A round as {getRound} returns it.
    struct Round {
        RoundStatus status;
        uint16 minSitesPerRound;
        uint32 commitCount;
        uint32 includedCount;
        uint64 deadline;
        uint64 openedAtBlock;
        bytes32 baseModelHash;
        bytes32 updatesRoot;
        bytes32 modelHash;
    }

    /// @dev Storage form of a round: every number in the one word `state` (see {RoundState}), which each
    /// commit rewrites, then the base model and, once finalised, the updates root.
    struct RoundRecord {
        RoundState state;
        bytes32 baseModelHash;
        bytes32 updatesRoot;
    }

    /// @dev Where a model was recorded, in one slot. Round 0 marks a task's genesis model.
    struct ProvenanceRecord {
        uint64 taskId;
        uint32 round;
        uint64 recordedAtBlock;
    }

    /// @notice The parameters of a task, as {createTask} takes them.
    struct TaskParameters {
        bytes32 specHash;
        bytes32 genesisModelHash;
        uint16 aggregationRule;
        uint16 minSitesPerRound;
        uint32 commitWindowSeconds;
        uint16 roundsPlanned;
    }

    /// @notice A pending task proposal, in four slots: its approvals, its proposer and its parameters.
    struct TaskProposal {
        Ballot ballot;
        address proposer;
        uint16 aggregationRule;
        uint16 minSitesPerRound;
        uint32 commitWindowSeconds;
        uint16 roundsPlanned;
        bytes32 specHash;
        bytes32 genesisModelHash;
    }

    /// @notice Aggregation rule 1: federated averaging weighted by sample count.
    uint16 public constant AGGREGATION_FEDAVG = 1;
    /// @notice Abort reason 1: too few sites committed an update before the deadline.
    uint8 public constant ABORT_TOO_FEW_COMMITS = 1;
    /// @notice Abort reason 2: too few committed updates were valid.
    uint8 public constant ABORT_TOO_FEW_VALID_UPDATES = 2;
    /// @notice Abort reason 3: a secure-aggregation round could not be unmasked (fewer than its threshold of
    /// sites answered, or a committed site's masked update never arrived).
    uint8 public constant ABORT_UNMASKING_FAILED = 3;

    bytes32 private constant AGGREGATOR_ROLE = keccak256("AGGREGATOR_ROLE");
    bytes32 private constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    IConsortiumRegistry private immutable _REGISTRY;

    mapping(uint256 taskId => Task) private _tasks;
    mapping(uint256 taskId => mapping(uint32 round => RoundRecord)) private _rounds;
    mapping(uint256 taskId => mapping(uint32 round => mapping(address site => bytes32 leaf)))
        private _commitLeaves;
    mapping(bytes32 modelHash => ProvenanceRecord) private _provenance;
    mapping(bytes32 proposalId => TaskProposal) private _taskProposals;
    uint64 private _taskCount;

    /// @notice Admin `proposer` proposed a task; the proposal is pending until a quorum of admins approves it.
    event TaskProposed(
        bytes32 indexed proposalId,
        address indexed proposer,
        bytes32 indexed genesisModelHash,
        bytes32 specHash,
        uint16 aggregationRule,
        uint16 minSitesPerRound,
        uint32 commitWindowSeconds,
        uint16 roundsPlanned
    );
    /// @notice `admin` approved task proposal `proposalId`; `approvals` of `quorum` are now counted. `taskId` is
    /// the task this approval created (it reached the quorum), or 0 while the proposal is still pending.
    event TaskApproved(
        bytes32 indexed proposalId,
        address indexed admin,
        uint256 indexed taskId,
        uint256 approvals,
        uint256 quorum
    );
    /// @notice Task `taskId`, proposed by admin `creator`, was created by a quorum of admins.
    event TaskCreated(
        uint256 indexed taskId,
        address indexed creator,
        bytes32 specHash,
        bytes32 genesisModelHash,
        uint16 aggregationRule,
        uint16 minSitesPerRound,
        uint32 commitWindowSeconds,
        uint16 roundsPlanned
    );
    /// @notice Round `round` of task `taskId` opened from `baseModelHash`; sites may commit until `deadline`.
    event RoundOpened(
        uint256 indexed taskId,
        uint32 indexed round,
        bytes32 indexed baseModelHash,
        uint64 deadline
    );
    /// @notice `site` committed to the update `updateHash` trained on `numSamples` examples.
    event UpdateCommitted(
        uint256 indexed taskId,
        uint32 indexed round,
        address indexed site,
        bytes32 updateHash,
        uint64 numSamples,
        bytes32 metricsHash
    );
    /// @notice The round produced `modelHash` from `parentModelHash` using `includedCount` updates under
    /// `updatesRoot`.
    event RoundFinalized(
        uint256 indexed taskId,
        uint32 indexed round,
        bytes32 indexed modelHash,
        bytes32 parentModelHash,
        bytes32 updatesRoot,
        uint32 includedCount,
        bytes32 metricsHash
    );
    /// @notice The round ended without a model after `commitCount` commits, for abort reason `reason`.
    event RoundAborted(uint256 indexed taskId, uint32 indexed round, uint32 commitCount, uint8 reason);

    /// @notice A secure-aggregation round was finalised from masked updates: `unmaskingHash` is the SHA-256 of
    /// the unmasking material the aggregator stored (docs/secure-aggregation.md). Emitted with {RoundFinalized}.
    event RoundUnmasked(uint256 indexed taskId, uint32 indexed round, bytes32 unmaskingHash);
    /// @notice `auditor` audited `modelHash`; `reportHash` identifies the report kept off the chain.
    event ModelAudited(bytes32 indexed modelHash, address indexed auditor, bool passed, bytes32 reportHash);

    /// @notice `account` is not an admin in the registry.
    error LedgerNotAdmin(address account);
    /// @notice `account` does not hold the aggregator role.
    error LedgerNotAggregator(address account);
    /// @notice `account` does not hold the auditor role.
    error LedgerNotAuditor(address account);
    /// @notice `account` is not an Active site.
    error LedgerNotActiveSite(address account);
    /// @notice The registry address is zero.
    error LedgerZeroRegistry();
    /// @notice No task has id `taskId`.
    error LedgerUnknownTask(uint256 taskId);
    /// @notice Task parameter `name` is zero or out of range.
    error LedgerInvalidTaskParameter(string name);
    /// @notice Round `round` of task `taskId` has status `status`, not Open.
    error LedgerRoundNotOpen(uint256 taskId, uint32 round, RoundStatus status);
    /// @notice Round `round` of task `taskId` was never opened; the current round is `current`.
    error LedgerWrongRound(uint256 taskId, uint32 round, uint32 current);
    /// @notice Round `round` of task `taskId` is still open; finalise or abort it first.
    error LedgerPreviousRoundOpen(uint256 taskId, uint32 round);
    /// @notice Task `taskId` already ran all `roundsPlanned` rounds.
    error LedgerAllRoundsDone(uint256 taskId, uint16 roundsPlanned);
    /// @notice The round must start from model `expected`, not `given`.
    error LedgerBaseModelMismatch(bytes32 expected, bytes32 given);
    /// @notice The commit window of the round closed at `deadline`.
    error LedgerCommitWindowClosed(uint256 taskId, uint32 round, uint64 deadline);
    /// @notice `site` already committed an update in this round.
    error LedgerAlreadyCommitted(uint256 taskId, uint32 round, address site);
    /// @notice An update must be trained on at least one example.
    error LedgerZeroSamples();
    /// @notice A hash argument that must be set was zero.
    error LedgerZeroHash();
    /// @notice The round cannot end yet: its deadline has not passed and only `commits` of `activeSites` committed.
    error LedgerRoundStillOpen(
        uint256 taskId,
        uint32 round,
        uint64 deadline,
        uint32 commits,
        uint256 activeSites
    );
    /// @notice The deadline `deadline` of the round has not passed yet.
    error LedgerDeadlineNotReached(uint256 taskId, uint32 round, uint64 deadline);
    /// @notice `includedCount` must lie between the task's `minSites` and the round's `commits`.
    error LedgerIncludedCountOutOfRange(uint32 includedCount, uint16 minSites, uint32 commits);
    /// @notice The genesis `genesisModelHash` is already recorded, as round `round` of task `taskId` (round 0: a
    /// genesis model); a task must start from a model never recorded before.
    error LedgerGenesisAlreadyRecorded(bytes32 genesisModelHash, uint256 taskId, uint32 round);
    /// @notice `admin` already approved task proposal `proposalId`.
    error LedgerAlreadyApproved(address admin, bytes32 proposalId);
    /// @notice No task proposal with id `proposalId` is pending.
    error LedgerUnknownTaskProposal(bytes32 proposalId);
    /// @notice The admins or the quorum changed since task proposal `proposalId` was made, so its approvals no
    /// longer count; the same task proposed now has id `currentId`.
    error LedgerStaleTaskProposal(bytes32 proposalId, bytes32 currentId);
    /// @notice The round cannot end before its deadline `deadline`: a site stopped being Active after the round
    /// opened, so its commit may be counted although it no longer takes part.
    error LedgerSiteLeftDuringRound(uint256 taskId, uint32 round, uint64 deadline);
    /// @notice `modelHash` was never recorded.
    error LedgerUnknownModel(bytes32 modelHash);
    /// @notice `reason` is not a known abort reason (1 or 2).
    error LedgerInvalidAbortReason(uint8 reason);

    modifier onlyRole(bytes32 role) {
        if (!_REGISTRY.hasRole(role, msg.sender)) _revertMissingRole(role);
        _;
    }

    /**
     * @notice Deploys the ledger on top of `registry_`.
     * @param registry_ The consortium registry.
     *
     * Requirements:
     * - `registry_` is not the zero address.
     */
    constructor(IConsortiumRegistry registry_) {
        if (address(registry_) == address(0)) revert LedgerZeroRegistry();
        _REGISTRY = registry_;
    }

    // ------------------------------------------------------------------ tasks

    /**
     * @notice Proposes a training task and counts the caller's approval; the approval that reaches the registry's
     * quorum creates the task and records its genesis model as round 0 of the task. At quorum 1 the task is created
     * at once. An admin who calls this with the parameters of a pending proposal approves that proposal.
     * @param specHash Hash of the task specification document kept off the chain.
     * @param genesisModelHash SHA-256 of the initial model bytes; never recorded before.
     * @param aggregationRule Aggregation rule id; 1 is FedAvg weighted by sample count.
     * @param minSitesPerRound Fewest updates a round must include.
     * @param commitWindowSeconds How long each round accepts commits.
     * @param roundsPlanned How many rounds the task runs at most.
     * @return taskId The new task's id (ids start at 1), or 0 while the proposal awaits more approvals; the
     * proposal id is {taskProposalId} of the same parameters, and is in {TaskProposed} and {TaskApproved}.
     *
     * Requirements:
     * - the caller is an admin in the registry and has not yet approved this proposal.
     * - both hashes are non-zero, and `aggregationRule`, `minSitesPerRound`, `commitWindowSeconds` and
     *   `roundsPlanned` are at least 1.
     * - `genesisModelHash` is not recorded, as any task's genesis or any round's model.
     *
     * Emits {TaskProposed} when the proposal is new, {TaskApproved}, and {TaskCreated} at the quorum.
     */
    function createTask(
        bytes32 specHash,
        bytes32 genesisModelHash,
        uint16 aggregationRule,
        uint16 minSitesPerRound,
        uint32 commitWindowSeconds,
        uint16 roundsPlanned
    ) external returns (uint256 taskId) {
        return
            _proposeTask(
                TaskParameters({
                    specHash: specHash,
                    genesisModelHash: genesisModelHash,
                    aggregationRule: aggregationRule,
                    minSitesPerRound: minSitesPerRound,
                    commitWindowSeconds: commitWindowSeconds,
                    roundsPlanned: roundsPlanned
                })
            );
    }

    /**
     * @notice Approves pending task proposal `proposalId`; the approval that reaches the registry's quorum creates
     * the task.
     * @param proposalId The proposal, from {TaskProposed} or {taskProposalId}.
     * @return taskId The new task's id when this approval reached the quorum, else 0.
     *
     * Requirements:
     * - the caller is an admin in the registry and has not yet approved this proposal.
     * - the proposal is pending ({LedgerUnknownTaskProposal}), and was made in the current admin/quorum epoch
     *   ({LedgerStaleTaskProposal}: propose it again).
     * - its genesis model is still not recorded ({LedgerGenesisAlreadyRecorded}).
     *
     * Emits {TaskApproved}, and {TaskCreated} at the quorum.
     */
    function approveTask(bytes32 proposalId) external returns (uint256 taskId) {
        uint256 seat = _adminSeatOf(msg.sender);
        TaskProposal storage proposal = _taskProposals[proposalId];
        address proposer = proposal.proposer;
        if (proposer == address(0)) revert LedgerUnknownTaskProposal(proposalId);
        TaskParameters memory params = TaskParameters({
            specHash: proposal.specHash,
            genesisModelHash: proposal.genesisModelHash,
            aggregationRule: proposal.aggregationRule,
            minSitesPerRound: proposal.minSitesPerRound,
            commitWindowSeconds: proposal.commitWindowSeconds,
            roundsPlanned: proposal.roundsPlanned
        });
        bytes32 currentId = _taskProposalId(params);
        if (currentId != proposalId) revert LedgerStaleTaskProposal(proposalId, currentId);
        _requireGenesisUnrecorded(params.genesisModelHash);
        taskId = _voteOnTask(proposalId, proposal, params, proposer, seat);
    }

    // ------------------------------------------------------------------ rounds

    /**
     * @notice Opens the next round of task `taskId`, starting from `baseModelHash`.
     * @param taskId The task.
     * @param baseModelHash The model the round trains from: the genesis for round 1, else the model of the last
     * finalised round (after an aborted round, that round's base).
     * @return round The new round's number; rounds start at 1.
     *
     * Requirements:
     * - the caller holds the aggregator role.
     * - the task exists, its previous round (if any) is Finalized or Aborted, and fewer than `roundsPlanned`
     *   rounds were opened.
     * - `baseModelHash` equals the task's latest model.
     *
     * Emits {RoundOpened}; commits are accepted until `block.timestamp + commitWindowSeconds`.
     */
    function openRound(
        uint256 taskId,
        bytes32 baseModelHash
    ) external onlyRole(AGGREGATOR_ROLE) returns (uint32 round) {
        Task storage task = _requireTask(taskId);
        uint32 current = task.currentRound;
        if (current != 0 && _rounds[taskId][current].state.status() == RoundStatus.Open) {
            revert LedgerPreviousRoundOpen(taskId, current);
        }
        if (current == task.roundsPlanned) revert LedgerAllRoundsDone(taskId, task.roundsPlanned);
        bytes32 expected = task.latestModelHash;
        if (baseModelHash != expected) revert LedgerBaseModelMismatch(expected, baseModelHash);

        round = current + 1;
        uint64 deadline = uint64(block.timestamp) + task.commitWindowSeconds;
        task.currentRound = round;
        RoundRecord storage record = _rounds[taskId][round];
        (, uint256 departures) = _REGISTRY.activeSiteCounts();
        record.state = RoundStateLibrary.open(
            task.minSitesPerRound,
            deadline,
            uint64(block.number),
            uint40(departures)
        );
        record.baseModelHash = baseModelHash;
        emit RoundOpened(taskId, round, baseModelHash, deadline);
    }

    /**
     * @notice Commits the caller's model update for round `round` of task `taskId`.
     * @param taskId The task.
     * @param round The open round.
     * @param updateHash SHA-256 of the update bytes the site will hand to the aggregator.
     * @param numSamples How many training examples the update was trained on (its FedAvg weight).
     * @param metricsHash Hash of the site's local metrics kept off the chain (may be zero).
     *
     * Requirements:
     * - the caller is an Active site in the registry.
     * - `updateHash` is non-zero and `numSamples` at least 1.
     * - the round is Open and its deadline has not passed.
     * - the caller has not committed in this round.
     *
     * Emits {UpdateCommitted}. Storage keeps only the leaf {commitLeaf} and the round's commit count.
     */
    function commitUpdate(
        uint256 taskId,
        uint32 round,
        bytes32 updateHash,
        uint64 numSamples,
        bytes32 metricsHash
    ) external {
        if (!_isActiveSite(msg.sender)) revert LedgerNotActiveSite(msg.sender);
        if (updateHash == 0) revert LedgerZeroHash();
        if (numSamples == 0) revert LedgerZeroSamples();
        RoundRecord storage record = _rounds[taskId][round];
        RoundState state = record.state;
        _requireOpen(taskId, round, state.status());
        if (block.timestamp >= state.deadline())
            revert LedgerCommitWindowClosed(taskId, round, state.deadline());
        mapping(address site => bytes32 leaf) storage leaves = _commitLeaves[taskId][round];
        if (leaves[msg.sender] != 0) revert LedgerAlreadyCommitted(taskId, round, msg.sender);

        leaves[msg.sender] = UpdateLeaf.hash(msg.sender, updateHash, numSamples);
        record.state = state.withCommit();
        emit UpdateCommitted(taskId, round, msg.sender, updateHash, numSamples, metricsHash);
    }

    /**
     * @notice Records the model produced by round `round` of task `taskId`, and closes the round.
     * @param taskId The task.
     * @param round The open round.
     * @param modelHash SHA-256 of the new global model bytes.
     * @param updatesRoot Root of the StandardMerkleTree over the leaves of the updates used.
     * @param includedCount How many updates the aggregate used.
     * @param metricsHash Hash of the round's evaluation metrics kept off the chain (may be zero).
     *
     * Requirements:
     * - the caller holds the aggregator role.
     * - `modelHash` and `updatesRoot` are non-zero.
     * - the round is Open, and its deadline has passed, or (early close) every Active site has committed and no
     *   site has stopped being Active since the round opened.
     * - `minSitesPerRound <= includedCount <= commitCount`.
     *
     * Emits {RoundFinalized}. The model becomes the task's latest model and the base of the next round. A model
     * hash already recorded (by another task's genesis or round, or by an earlier round) does not stop the round:
     * its provenance by hash stays the first record, and this round's own record ({getRound}) names the model.
     */
    function finalizeRound(
        uint256 taskId,
        uint32 round,
        bytes32 modelHash,
        bytes32 updatesRoot,
        uint32 includedCount,
        bytes32 metricsHash
    ) external onlyRole(AGGREGATOR_ROLE) {
        _finalize(taskId, round, modelHash, updatesRoot, includedCount, metricsHash);
    }

    /**
     * @notice Records the model of a secure-aggregation round, as {finalizeRound}, and binds the round to the
     * unmasking material its model was computed with, in the same transaction.
     * @param unmaskingHash SHA-256 of the unmasking material (the revealed self-mask seeds and the rebuilt mask
     * keys of dropped sites) stored beside the masked updates.
     *
     * Requirements: those of {finalizeRound}, and `unmaskingHash` is non-zero.
     *
     * Emits {RoundFinalized} and {RoundUnmasked}.
     */
    function finalizeMaskedRound(
        uint256 taskId,
        uint32 round,
        bytes32 modelHash,
        bytes32 updatesRoot,
        uint32 includedCount,
        bytes32 metricsHash,
        bytes32 unmaskingHash
    ) external onlyRole(AGGREGATOR_ROLE) {
        if (unmaskingHash == 0) revert LedgerZeroHash();
        _finalize(taskId, round, modelHash, updatesRoot, includedCount, metricsHash);
        emit RoundUnmasked(taskId, round, unmaskingHash);
    }

    /**
     * @notice Ends round `round` of task `taskId` without a model; the next round starts from the same base.
     * @param taskId The task.
     * @param round The open round.
     * @param reason 1 = too few commits, 2 = too few valid updates, 3 = unmasking failed.
     *
     * Requirements:
     * - the caller holds the aggregator role.
     * - `reason` is 1, 2 or 3.
     * - the round is Open and its deadline has passed.
     *
     * Emits {RoundAborted}.
     */
    function abortRound(uint256 taskId, uint32 round, uint8 reason) external onlyRole(AGGREGATOR_ROLE) {
        if (reason == 0 || reason > ABORT_UNMASKING_FAILED) {
            revert LedgerInvalidAbortReason(reason);
        }
        RoundRecord storage record = _rounds[taskId][round];
        RoundState state = record.state;
        _requireOpen(taskId, round, state.status());
        uint64 deadline = state.deadline();
        if (block.timestamp < deadline) revert LedgerDeadlineNotReached(taskId, round, deadline);
        record.state = state.aborted();
        emit RoundAborted(taskId, round, state.commitCount(), reason);
    }

    // ------------------------------------------------------------------ audits

    /**
     * @notice Records an auditor's verdict on a recorded model. The verdict lives in the event only.
     * @param modelHash The audited model.
     * @param passed Whether the model passed the audit.
     * @param reportHash Hash of the audit report kept off the chain.
     *
     * Requirements:
     * - the caller holds the auditor role.
     * - `reportHash` is non-zero and `modelHash` is recorded.
     *
     * Emits {ModelAudited}.
     */
    function recordAudit(bytes32 modelHash, bool passed, bytes32 reportHash) external onlyRole(AUDITOR_ROLE) {
        if (reportHash == 0) revert LedgerZeroHash();
        if (_provenance[modelHash].taskId == 0) revert LedgerUnknownModel(modelHash);
        emit ModelAudited(modelHash, msg.sender, passed, reportHash);
    }

    // ------------------------------------------------------------------ views

    /// @notice The registry that says who is an admin, the aggregator, an auditor or an Active site.
    /// @return The registry.
    function registry() external view returns (IConsortiumRegistry) {
        return _REGISTRY;
    }

    /// @notice Task `taskId`.
    /// @param taskId The task.
    /// @return The task; reverts with {LedgerUnknownTask} when there is none.
    function getTask(uint256 taskId) external view returns (Task memory) {
        return _requireTask(taskId);
    }

    /// @notice The number of tasks, which is also the id of the newest task.
    /// @return The count.
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /**
     * @notice Round `round` of task `taskId`; all fields are zero (status None) for a round not yet opened.
     * @param taskId The task.
     * @param round The round.
     * @return result The round. `modelHash` is the finalised model for a Finalized round and zero otherwise; it
     * is derived (the base of the next round, or the task's latest model) rather than stored, to keep
     * {finalizeRound} at two new storage slots.
     */
    function getRound(uint256 taskId, uint32 round) external view returns (Round memory result) {
        Task storage task = _requireTask(taskId);
        RoundRecord storage record = _rounds[taskId][round];
        RoundState state = record.state;
        result.status = state.status();
        result.minSitesPerRound = state.minSitesPerRound();
        result.commitCount = state.commitCount();
        result.includedCount = state.includedCount();
        result.deadline = state.deadline();
        result.openedAtBlock = state.openedAtBlock();
        result.baseModelHash = record.baseModelHash;
        result.updatesRoot = record.updatesRoot;
        if (result.status == RoundStatus.Finalized) {
            result.modelHash =
                round == task.currentRound ? task.latestModelHash : _rounds[taskId][round + 1].baseModelHash;
        }
    }

    /// @notice The leaf `site` committed in round `round` of task `taskId`, or zero when it has not committed.
    /// @param taskId The task.
    /// @param round The round.
    /// @param site The site's operator address.
    /// @return The leaf.
    function commitLeaf(uint256 taskId, uint32 round, address site) external view returns (bytes32) {
        return _commitLeaves[taskId][round][site];
    }

    /// @notice Whether `site` committed an update in round `round` of task `taskId`.
    /// @param taskId The task.
    /// @param round The round.
    /// @param site The site's operator address.
    /// @return True when it committed.
    function hasCommitted(uint256 taskId, uint32 round, address site) external view returns (bool) {
        return _commitLeaves[taskId][round][site] != 0;
    }

    /// @notice Whether `site` committed exactly `updateHash` with `numSamples` in round `round` of task `taskId`.
    /// @param taskId The task.
    /// @param round The round.
    /// @param site The site's operator address.
    /// @param updateHash The update hash to check.
    /// @param numSamples The sample count to check.
    /// @return True on an exact match.
    function commitMatches(
        uint256 taskId,
        uint32 round,
        address site,
        bytes32 updateHash,
        uint64 numSamples
    ) public view returns (bool) {
        bytes32 leaf = _commitLeaves[taskId][round][site];
        return leaf != 0 && leaf == UpdateLeaf.hash(site, updateHash, numSamples);
    }

    /**
     * @notice Whether `site` committed exactly this update and `proof` shows its leaf under the round's updates
     * root.
     * @param taskId The task.
     * @param round The round.
     * @param site The site's operator address.
     * @param updateHash The update hash.
     * @param numSamples The sample count.
     * @param proof The StandardMerkleTree proof of the leaf.
     * @return True when both hold; false too when the round has no root yet.
     */
    function verifyUpdateIncluded(
        uint256 taskId,
        uint32 round,
        address site,
        bytes32 updateHash,
        uint64 numSamples,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (!commitMatches(taskId, round, site, updateHash, numSamples)) return false;
        bytes32 root = _rounds[taskId][round].updatesRoot;
        return
            root != 0 &&
            MerkleProof.verifyCalldata(proof, root, UpdateLeaf.hash(site, updateHash, numSamples));
    }

    /**
     * @notice Where model `modelHash` came from.
     * @param modelHash The model.
     * @return taskId The task that recorded it.
     * @return round The round that produced it; 0 for a task's genesis model.
     * @return parentModelHash The model the round started from; zero for a genesis model.
     * @return updatesRoot The Merkle root of the updates used; zero for a genesis model.
     * @return recordedAtBlock The block of the recording.
     *
     * Requirements:
     * - the model is recorded ({LedgerUnknownModel} otherwise).
     */
    function getProvenance(
        bytes32 modelHash
    )
        external
        view
        returns (
            uint256 taskId,
            uint32 round,
            bytes32 parentModelHash,
            bytes32 updatesRoot,
            uint64 recordedAtBlock
        )
    {
        ProvenanceRecord storage provenance = _provenance[modelHash];
        taskId = provenance.taskId;
        if (taskId == 0) revert LedgerUnknownModel(modelHash);
        round = provenance.round;
        recordedAtBlock = provenance.recordedAtBlock;
        RoundRecord storage record = _rounds[taskId][round];
        parentModelHash = record.baseModelHash;
        updatesRoot = record.updatesRoot;
    }

    /// @notice Whether `modelHash` is recorded, as a task's genesis or as a round's result.
    /// @param modelHash The model.
    /// @return True when recorded.
    function isRecorded(bytes32 modelHash) external view returns (bool) {
        return _provenance[modelHash].taskId != 0;
    }

    /**
     * @notice Whether round `round` of task `taskId` may be finalised now although its deadline has not passed:
     * it is Open, at least as many sites committed as are Active, and no site has stopped being Active since the
     * round opened (so every commit comes from a site that is still Active, and every Active site committed).
     * @param taskId The task.
     * @param round The round.
     * @return True when an early close is allowed now.
     */
    function canCloseEarly(uint256 taskId, uint32 round) external view returns (bool) {
        RoundState state = _rounds[taskId][round].state;
        if (state.status() != RoundStatus.Open) return false;
        (uint256 activeSites, bool siteLeft) = _earlyCloseCheck(state);
        return !siteLeft && state.commitCount() >= activeSites;
    }

    /**
     * @notice The id of the task proposal with these parameters in the current admin/quorum epoch:
     * `keccak256(abi.encode(uint8(4), address(this), parametersHash, uint256(0), epoch))` with `parametersHash =
     * keccak256(abi.encode(specHash, genesisModelHash, aggregationRule, minSitesPerRound, commitWindowSeconds,
     * roundsPlanned))` (see {ProposalId}).
     * @param specHash The task's specification hash.
     * @param genesisModelHash The task's genesis model.
     * @param aggregationRule The aggregation rule id.
     * @param minSitesPerRound The fewest updates per round.
     * @param commitWindowSeconds The commit window.
     * @param roundsPlanned The rounds planned.
     * @return The proposal id.
     */
    function taskProposalId(
        bytes32 specHash,
        bytes32 genesisModelHash,
        uint16 aggregationRule,
        uint16 minSitesPerRound,
        uint32 commitWindowSeconds,
        uint16 roundsPlanned
    ) external view returns (bytes32) {
        return
            _taskProposalId(
                TaskParameters({
                    specHash: specHash,
                    genesisModelHash: genesisModelHash,
                    aggregationRule: aggregationRule,
                    minSitesPerRound: minSitesPerRound,
                    commitWindowSeconds: commitWindowSeconds,
                    roundsPlanned: roundsPlanned
                })
            );
    }

    /// @notice Pending task proposal `proposalId`: its approvals, proposer and parameters; all zero when none is
    /// pending (never made, or carried out). A proposal of an earlier epoch stays readable but cannot be approved.
    /// @param proposalId The proposal.
    /// @return The proposal.
    function getTaskProposal(bytes32 proposalId) external view returns (TaskProposal memory) {
        return _taskProposals[proposalId];
    }

    /// @notice Whether `admin` approved pending task proposal `proposalId`.
    /// @param proposalId The proposal.
    /// @param admin The admin.
    /// @return True when the approval is counted.
    function hasApprovedTask(bytes32 proposalId, address admin) external view returns (bool) {
        return _taskProposals[proposalId].ballot.hasApproved(_REGISTRY.adminSeat(admin));
    }

    /// @notice The commitment leaf for `(site, updateHash, numSamples)`, as stored by {commitUpdate}.
    /// @param site The site's operator address.
    /// @param updateHash The update hash.
    /// @param numSamples The sample count.
    /// @return The leaf.
    function updateLeaf(address site, bytes32 updateHash, uint64 numSamples) external pure returns (bytes32) {
        return UpdateLeaf.hash(site, updateHash, numSamples);
    }

    // ------------------------------------------------------------------ internals

    /// @dev `registry.isActiveSite(account)` through a bare STATICCALL in scratch memory; this saves the ABI
    /// encoding round trip on the hottest path ({commitUpdate}). Any failure or malformed answer counts as false.
    function _isActiveSite(address account) private view returns (bool active) {
        IConsortiumRegistry registry_ = _REGISTRY;
        bytes4 selector = IConsortiumRegistry.isActiveSite.selector;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, account)
            let ok := staticcall(gas(), registry_, 0x00, 0x24, 0x00, 0x20)
            active := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1)))
        }
    }

    function _adminSeatOf(address account) private view returns (uint256 seat) {
        seat = _REGISTRY.adminSeat(account);
        if (seat == 0) revert LedgerNotAdmin(account);
    }

    function _checkTaskParameters(TaskParameters memory params) private pure {
        if (params.specHash == 0) revert LedgerInvalidTaskParameter("specHash");
        if (params.genesisModelHash == 0) revert LedgerInvalidTaskParameter("genesisModelHash");
        if (params.aggregationRule == 0) revert LedgerInvalidTaskParameter("aggregationRule");
        if (params.minSitesPerRound == 0) revert LedgerInvalidTaskParameter("minSitesPerRound");
        if (params.commitWindowSeconds == 0) revert LedgerInvalidTaskParameter("commitWindowSeconds");
        if (params.roundsPlanned == 0) revert LedgerInvalidTaskParameter("roundsPlanned");
    }

    function _requireGenesisUnrecorded(bytes32 genesisModelHash) private view {
        ProvenanceRecord storage provenance = _provenance[genesisModelHash];
        if (provenance.taskId != 0) {
            revert LedgerGenesisAlreadyRecorded(genesisModelHash, provenance.taskId, provenance.round);
        }
    }

    function _taskProposalId(TaskParameters memory params) private view returns (bytes32) {
        return ProposalId.task(address(this), keccak256(abi.encode(params)), _REGISTRY.epoch());
    }

    /// @dev {createTask} with the parameters in memory: checks them, then counts the caller's approval of the
    /// proposal, storing the proposal when it is new and still pending.
    function _proposeTask(TaskParameters memory params) private returns (uint256 taskId) {
        uint256 seat = _adminSeatOf(msg.sender);
        _checkTaskParameters(params);
        _requireGenesisUnrecorded(params.genesisModelHash);

        bytes32 proposalId = _taskProposalId(params);
        TaskProposal storage proposal = _taskProposals[proposalId];
        address proposer = proposal.proposer;
        bool isNew = proposer == address(0);
        if (isNew) {
            proposer = msg.sender;
            emit TaskProposed(
                proposalId,
                msg.sender,
                params.genesisModelHash,
                params.specHash,
                params.aggregationRule,
                params.minSitesPerRound,
                params.commitWindowSeconds,
                params.roundsPlanned
            );
        }
        taskId = _voteOnTask(proposalId, proposal, params, proposer, seat);
        if (isNew && taskId == 0) {
            proposal.proposer = msg.sender;
            proposal.aggregationRule = params.aggregationRule;
            proposal.minSitesPerRound = params.minSitesPerRound;
            proposal.commitWindowSeconds = params.commitWindowSeconds;
            proposal.roundsPlanned = params.roundsPlanned;
            proposal.specHash = params.specHash;
            proposal.genesisModelHash = params.genesisModelHash;
        }
    }

    /// @dev Counts the caller's approval of the task proposal; at the quorum deletes the proposal (when it was
    /// stored) and creates the task, returning its id (0 otherwise).
    function _voteOnTask(
        bytes32 proposalId,
        TaskProposal storage proposal,
        TaskParameters memory params,
        address proposer,
        uint256 seat
    ) private returns (uint256 taskId) {
        uint256 currentQuorum = _REGISTRY.quorum();
        (uint256 count, bool reached) = proposal.ballot.approve(seat, currentQuorum);
        if (count == 0) revert LedgerAlreadyApproved(msg.sender, proposalId);
        if (reached) taskId = _taskCount + 1;
        emit TaskApproved(proposalId, msg.sender, taskId, count, currentQuorum);
        if (reached) {
            if (proposal.proposer != address(0)) delete _taskProposals[proposalId];
            _createTask(params, proposer);
        }
    }

    /// @dev Stores the task, records its (unrecorded) genesis as round 0 of it, and emits {TaskCreated}.
    function _createTask(TaskParameters memory params, address creator) private {
        uint64 id = ++_taskCount;
        _tasks[id] = Task({
            creator: creator,
            aggregationRule: params.aggregationRule,
            minSitesPerRound: params.minSitesPerRound,
            commitWindowSeconds: params.commitWindowSeconds,
            roundsPlanned: params.roundsPlanned,
            currentRound: 0,
            createdAtBlock: uint64(block.number),
            specHash: params.specHash,
            genesisModelHash: params.genesisModelHash,
            latestModelHash: params.genesisModelHash
        });
        _provenance[params.genesisModelHash] = ProvenanceRecord(id, 0, uint64(block.number));
        emit TaskCreated(
            id,
            creator,
            params.specHash,
            params.genesisModelHash,
            params.aggregationRule,
            params.minSitesPerRound,
            params.commitWindowSeconds,
            params.roundsPlanned
        );
    }

    function _requireTask(uint256 taskId) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.creator == address(0)) revert LedgerUnknownTask(taskId);
    }

    /// @dev Reverts unless `status` is Open, naming the precise reason: unknown task, unopened round, or a round
    /// that already ended.
    function _requireOpen(uint256 taskId, uint32 round, RoundStatus status) private view {
        if (status == RoundStatus.Open) return;
        if (status == RoundStatus.None) {
            revert LedgerWrongRound(taskId, round, _requireTask(taskId).currentRound);
        }
        revert LedgerRoundNotOpen(taskId, round, status);
    }

    /// @dev The number of Active sites, and whether a site has stopped being Active since the round opened (the
    /// registry's departure count moved). One registry call, whatever the number of sites.
    function _earlyCloseCheck(RoundState state) private view returns (uint256 activeSites, bool siteLeft) {
        uint256 departures;
        (activeSites, departures) = _REGISTRY.activeSiteCounts();
        siteLeft = uint40(departures) != state.departuresAtOpen();
    }

    /// @dev Reverts unless the round is Open, may end now (deadline passed, or every Active site committed and no
    /// site left the Active status since the opening), and `includedCount` lies between the task's minimum and the
    /// round's commits.
    function _requireFinalizable(
        uint256 taskId,
        uint32 round,
        RoundState state,
        uint32 includedCount
    ) private view {
        _requireOpen(taskId, round, state.status());
        uint32 commits = state.commitCount();
        if (block.timestamp < state.deadline()) {
            (uint256 activeSites, bool siteLeft) = _earlyCloseCheck(state);
            if (commits < activeSites) {
                revert LedgerRoundStillOpen(taskId, round, state.deadline(), commits, activeSites);
            }
            if (siteLeft) revert LedgerSiteLeftDuringRound(taskId, round, state.deadline());
        }
        uint16 minSites = state.minSitesPerRound();
        if (includedCount < minSites || includedCount > commits) {
            revert LedgerIncludedCountOutOfRange(includedCount, minSites, commits);
        }
    }

    /// @dev Records where `modelHash` came from, the first time it appears. A hash recorded before keeps its first
    /// record (whose parent was recorded earlier still, so following parents never loops); the round's own record
    /// names the model either way.
    function _recordModel(bytes32 modelHash, uint256 taskId, uint32 round) private {
        ProvenanceRecord storage provenance = _provenance[modelHash];
        if (provenance.taskId == 0) {
            _provenance[modelHash] = ProvenanceRecord(uint64(taskId), round, uint64(block.number));
        }
    }

    /// @dev The body of {finalizeRound} and {finalizeMaskedRound}.
    function _finalize(
        uint256 taskId,
        uint32 round,
        bytes32 modelHash,
        bytes32 updatesRoot,
        uint32 includedCount,
        bytes32 metricsHash
    ) private {
        if (modelHash == 0 || updatesRoot == 0) revert LedgerZeroHash();
        RoundRecord storage record = _rounds[taskId][round];
        RoundState state = record.state;
        _requireFinalizable(taskId, round, state, includedCount);
        _recordModel(modelHash, taskId, round);
        record.state = state.finalized(includedCount);
        record.updatesRoot = updatesRoot;
        Task storage task = _tasks[taskId];
        bytes32 parent = task.latestModelHash;
        task.latestModelHash = modelHash;
        emit RoundFinalized(taskId, round, modelHash, parent, updatesRoot, includedCount, metricsHash);
    }

    function _revertMissingRole(bytes32 role) private view {
        if (role == AGGREGATOR_ROLE) revert LedgerNotAggregator(msg.sender);
        revert LedgerNotAuditor(msg.sender);
    }
}
