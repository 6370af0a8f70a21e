/**
 * The findings of an audit. A broken link is one step from the model file back to its genesis that does not
 * hold; its message names the round, the site and the expected and found values, on one line.
 */

/** What kind of link broke. docs/audit.md lists each one with its cause. */
export type BrokenLinkCode =
  | "model_layout"
  | "model_unknown"
  | "model_other_ledger"
  | "chain_inconsistent"
  | "unknown_rule"
  | "genesis_missing"
  | "genesis_corrupt"
  | "commit_leaf_mismatch"
  | "site_not_active"
  | "upload_record_mismatch"
  | "updates_root_mismatch"
  | "included_count_mismatch"
  | "update_missing"
  | "update_hash_mismatch"
  | "update_unusable"
  | "model_mismatch"
  | "parent_unavailable"
  | "unmasking_missing"
  | "unmasking_material_missing"
  | "unmasking_material_invalid"
  | "dp_budget_exceeded"
  | "dp_epsilon_mismatch";

/** One link that does not hold. */
export interface BrokenLink {
  code: BrokenLinkCode;
  /** One line naming the link, with the expected and found values. */
  message: string;
  /** Task id (decimal), when the link belongs to a task. */
  task?: string;
  /** Round number, when the link belongs to a round. */
  round?: number;
  /** Site address, when the link belongs to one site's update. */
  site?: string;
  /** The value the chain (or the recomputation) requires. */
  expected?: string;
  /** The value found instead. */
  found?: string;
}

/** Thrown while tracing a lineage when the chain itself does not lead back to a genesis. */
export class LineageBreak extends Error {
  constructor(readonly link: BrokenLink) {
    super(link.message);
    this.name = "LineageBreak";
  }
}
