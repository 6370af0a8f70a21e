/**
 * What each custom error of the fedledger contracts means to the person who caused it, and what to do next.
 * describeChainError appends the entry to the decoded error. Keep this the only table of its kind: when a
 * contract gains an error, add its sentence here.
 */
export const ERROR_EXPLANATIONS: Readonly<Record<string, string>> = {
  // ConsortiumRegistry
  RegistryNotAdmin: "only a consortium admin may do this; sign with an admin's key",
  RegistryChangeNeedsQuorum:
    "roles change only by quorum vote; use `fedledger role grant|revoke` with each admin's key",
  RegistryAdminsBelowQuorum: "that would leave fewer admins than the quorum; lower the quorum first",
  RegistryAlreadyApproved: "this admin has already approved; another admin must approve",
  RegistrySiteExists:
    "this operator address is already a site (a removed site cannot return); use another operator address",
  RegistryUnknownSite: "no site has this operator address; check it with `fedledger site list`",
  RegistryInvalidSiteStatus:
    "the site is not in the state this action needs; check it with `fedledger site show <operator>`",
  RegistryInvalidQuorum: "the quorum must be at least 1 and at most the number of admins",
  RegistryInvalidSiteField:
    "name must be 1-64 bytes, country two upper-case letters (e.g. SE), language 1-35 ASCII bytes (e.g. sv)",
  RegistryZeroAddress: "the zero address cannot be used here",
  RegistryDuplicateAdmin: "an address appears twice in the admin list",
  RegistryUnknownRole: "only the admin, aggregator and auditor roles are voted on",
  RegistryRoleUnchanged: "the account already has (or already lacks) that role; nothing to vote on",
  RegistryQuorumUnchanged: "the quorum already has that value",
  RegistryTooManyAdmins: "the registry holds at most this many admins; revoke one first",
  RegistrySiteNotRemovable: "only a Proposed, Active or Suspended site can be removed",
  // TrainingLedger
  LedgerZeroRegistry: "the ledger needs the registry's address",
  LedgerNotAdmin: "only a consortium admin may do this; sign with an admin's key",
  LedgerNotAggregator: "only the aggregator may do this; sign with the aggregator's key",
  LedgerNotActiveSite: "only an Active site may commit updates; check the site with `fedledger site show`",
  LedgerNotAuditor: "only an auditor may record audits; ask the admins to grant the auditor role",
  LedgerUnknownTask: "no task has this id; check it with `fedledger task show <id>`",
  LedgerRoundNotOpen: "the round is not open",
  LedgerWrongRound: "that is not the task's current round",
  LedgerCommitWindowClosed: "the round's commit window has closed; wait for the next round",
  LedgerAlreadyCommitted: "this site has already committed an update for the round",
  LedgerZeroSamples: "an update must come from at least one training sample",
  LedgerZeroHash: "a hash of all zeros is not allowed here",
  LedgerRoundStillOpen:
    "the round can close only after its deadline or once every active site has committed; wait",
  LedgerDeadlineNotReached: "the round's commit window has not closed yet; wait for its deadline",
  LedgerInvalidAbortReason: "the abort reason must be 1 (too few commits) or 2 (too few valid updates)",
  LedgerIncludedCountOutOfRange:
    "the number of included updates must lie between the task's minimum and the number of commits",
  LedgerAllRoundsDone: "the task has run all its planned rounds; create a new task",
  LedgerPreviousRoundOpen: "the previous round is still open; finalise or abort it first",
  LedgerInvalidTaskParameter:
    "task parameters: non-zero hashes and rule, at least 1 site per round, a window of 1 s or more, 1 round or more",
  LedgerBaseModelMismatch:
    "the base model must be the genesis model or the model the previous round produced",
  LedgerGenesisAlreadyRecorded:
    "a task must start from a model never recorded before; this hash is already a genesis or a round's model",
  LedgerAlreadyApproved: "this admin has already approved the task proposal; another admin must approve",
  LedgerUnknownTaskProposal:
    "no task proposal with this id is pending (it was never made, or the task was already created)",
  LedgerStaleTaskProposal:
    "the admins or the quorum changed since the proposal, so its approvals lapsed; propose the task again with `fedledger task create`",
  LedgerSiteLeftDuringRound:
    "a site stopped being Active after the round opened, so the round can close only at its deadline; wait",
  LedgerUnknownModel: "no round recorded this model hash",
  // OpenZeppelin AccessControl
  AccessControlUnauthorizedAccount: "the signing account lacks the role this action needs",
  AccessControlBadConfirmation: "an account can only renounce its own role",
};
