/**
 * The audit report: what `fedledger audit verify` prints (as text or JSON) and whose hash `--record` puts on
 * the chain. Every field is plain JSON (numbers, strings, booleans, null), so the report's canonical JSON and
 * its hash are reproducible; it holds no timings.
 */
import type { BrokenLink } from "./brokenLink";
import type { AuditFinding } from "./finding";
import type { AuditedTaskPrivacy } from "./privacyAudit";

/** What the store gave for an update's hash. */
export type BytesStatus = "ok" | "missing" | "corrupt";

/** One committed update of a round. */
export interface AuditedUpdate {
  site: string;
  /** The site's registered name and country, e.g. "Rigshospitalet (DK)", or null when unknown. */
  siteName: string | null;
  updateHash: string;
  /** Sample count the site committed (decimal). */
  numSamples: string;
  metricsHash: string;
  commitBlock: number;
  commitTransaction: string;
  /** The site's registry status just before its commit. */
  statusAtCommit: string;
  /** The leaf the ledger stores for this commit. */
  storedLeaf: string;
  /** Whether the stored leaf equals the leaf of the event's values. */
  leafMatches: boolean;
  /** Whether the update is under the round's updates root. */
  included: boolean;
  /** What the store gave for the update hash. */
  bytes: BytesStatus;
  /** The real hash of the store's bytes when they do not match (corrupt), else null. */
  bytesHash: string | null;
}

/** What the ledger records of a finalised round, as the audit's documents show it. */
export interface RecordedRound {
  task: string;
  round: number;
  parentModelHash: string;
  modelHash: string;
  updatesRoot: string;
  includedCount: number;
  commitCount: number;
  metricsHash: string;
}

/** One round on the path from the genesis to the model. */
export interface AuditedRound extends RecordedRound {
  openedAtBlock: number;
  finalizedAtBlock: number;
  /** ISO 8601 time of the finalising block, or null when unknown. */
  finalizedAt: string | null;
  /** How the included set was found: "available", "all-commits", "search", or null when it was not. */
  includedSetMethod: string | null;
  /** Hash of the model recomputed from the parent and the included updates, or null when not recomputed. */
  recomputedModelHash: string | null;
  updates: AuditedUpdate[];
  /** "passed", "failed", or "not checked" when an earlier failure left nothing to check against. */
  verdict: "passed" | "failed" | "not checked";
  brokenLinks: BrokenLink[];
  /** Censorship and free riding in this round; they do not change the verdict (see finding.ts). */
  findings: AuditFinding[];
}

/** A task on the path. */
export interface AuditedTask {
  task: string;
  aggregationRule: number;
  /** The rule's name in this build ("fedavg"), or null when this build does not know the rule. */
  aggregationRuleName: string | null;
  genesisModelHash: string;
  specHash: string;
  createdAtBlock: number;
}

/** The whole audit. */
export interface AuditReport {
  format: "fedledger-audit-v1";
  verdict: "passed" | "failed";
  model: {
    file: string | null;
    hash: string;
    sizeBytes: number;
    /** Number of tensors, or null when the file is not a valid model file. */
    tensors: number | null;
  };
  chain: { chainId: string; ledger: string; registry: string | null };
  store: { kind: string; location: string };
  /** The model's provenance record, or null when the ledger does not record the model. */
  provenance: { task: string; round: number; recordedAtBlock: number } | null;
  genesis: {
    modelHash: string;
    task: string;
    recordedAtBlock: number;
    bytes: BytesStatus | "not needed";
  } | null;
  tasks: AuditedTask[];
  rounds: AuditedRound[];
  /** The first link that does not hold, from the file back to the chain and then from the genesis forward. */
  firstBrokenLink: BrokenLink | null;
  brokenLinks: BrokenLink[];
  /** Every round's findings, oldest round first; `--strict` fails the audit when there is any. */
  findings: AuditFinding[];
  /** Per task on the path: its spec's DP settings and every site's ε recomputed from the chain (privacyAudit.ts). */
  privacy: AuditedTaskPrivacy[];
}
