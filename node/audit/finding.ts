/**
 * The audit's findings: facts about a round that do not break the model's lineage (the arithmetic was
 * followed and the ledger is consistent) but that a consortium wants to know about: a valid update the
 * aggregator left out (censorship), and an included update that carries no training (free riding).
 * `fedledger audit verify` prints them as warnings; with `--strict` they fail the audit. docs/audit.md lists
 * the codes.
 */

/** What kind of finding. */
export type FindingCode =
  "update_left_out" | "update_is_base_model" | "update_zero_delta" | "update_norm_low";

/** One finding; the shape of a broken link. */
export interface AuditFinding {
  code: FindingCode;
  /** One line naming the round, the site and the values. */
  message: string;
  task: string;
  round: number;
  site: string;
  /** What an honest round would show. */
  expected?: string;
  /** What the audit found. */
  found?: string;
}

/**
 * An included update whose norm is below this share of the median norm of the round's other included updates
 * is reported as `update_norm_low`.
 */
export const LOW_NORM_SHARE = 0.01;
