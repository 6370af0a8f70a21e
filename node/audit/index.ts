/**
 * The auditor: proves a model's lineage from the file to its genesis (verifyModel), describes its family tree
 * (describeLineage), and records verdicts (recordVerdict). Reads the chain through a TrainingLedger and bytes
 * through an ObjectSource (a store directory or an aggregator URL). docs/audit.md describes the checks and
 * docs/verification.md how to repeat them without this code.
 */
export { verifyModel, type VerifyModelParameters } from "./verifyModel";
export { describeLineage, type DescribeLineageParameters } from "./describeLineage";
export { traceLineage, type Lineage, type LineageRound, type LineageTask } from "./traceLineage";
export { auditRound, type AuditRoundParameters, type AuditRoundResult } from "./auditRound";
export { findIncludedSet, type CommittedLeaf, type IncludedSetResult } from "./includedSet";
export { openObjectSource, type ObjectSource, type FetchedObject, type StoredUpload } from "./objectSource";
export { connectLedger, type ConnectLedgerParameters, type ConnectedLedger } from "./connectLedger";
export { recordVerdict, type RecordedVerdict, type RecordVerdictOptions } from "./recordVerdict";
export { reportHash } from "./reportHash";
export { formatReport } from "./formatReport";
export { formatLineage, LINEAGE_FORMATS, type LineageFormat } from "./formatLineage";
export { AuditSourceError } from "./errors";
export { LineageBreak, type BrokenLink, type BrokenLinkCode } from "./brokenLink";
export { LOW_NORM_SHARE, type AuditFinding, type FindingCode } from "./finding";
export { roundFindings, type RoundFindingsParameters } from "./roundFindings";
export {
  auditPrivacy,
  findTaskSpec,
  type AuditedSitePrivacy,
  type AuditedTaskPrivacy,
  type AuditPrivacyParameters,
} from "./privacyAudit";
export type { AuditReport, AuditedRound, AuditedUpdate, AuditedTask, BytesStatus } from "./auditReport";
export type { LineageDocument, LineageDocumentRound, LineageSite } from "./lineageDocument";
