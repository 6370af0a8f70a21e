/**
 * A site's privacy spend on a DP task (docs/privacy.md, "The budget on the ledger"): the rounds of the task in
 * which it committed an update, counted on the chain, and the ε they cost with the spec's (q, σ, steps, δ).
 * Before a round the site asks what joining it would cost and refuses the round when that passes the task's
 * ε budget. The auditor recomputes the same figures from the chain alone (node/audit/privacyAudit.ts).
 */
import type { Metrics } from "../fl";
import { siteEpsilon } from "../privacy/budget";
import type { SiteRuntime, SiteTask } from "./runtime";

/** What a site has spent on a DP task before a round, and what it would have spent after it. */
export interface PrivacySpend {
  /** Rounds before this one in which the site committed an update. */
  roundsJoined: number;
  /** ε over those rounds (0 for none). */
  epsilonSpent: number;
  /** ε once this round's update is published too. */
  epsilonWithRound: number;
  epsilonBudget: number;
  delta: number;
  /** Whether joining this round keeps the site within the budget. */
  withinBudget: boolean;
}

/**
 * The spend of `rt`'s site on `task` before round `round` (one `hasCommitted` read per earlier round, sent
 * together), or undefined when the task trains without DP.
 *
 * @example
 * const spend = await privacySpend(rt, task, 3); // { roundsJoined: 2, epsilonWithRound: 5.1, … }
 */
export async function privacySpend(
  rt: SiteRuntime,
  task: SiteTask,
  round: number,
): Promise<PrivacySpend | undefined> {
  const dp = task.spec.training.dp;
  if (!dp) return undefined;
  const earlier = await Promise.all(
    Array.from({ length: round - 1 }, (_, i) => rt.ledger.hasCommitted(task.id, i + 1, rt.site)),
  );
  const roundsJoined = earlier.filter(Boolean).length;
  const epochs = task.spec.training.epochs;
  const epsilonWithRound = siteEpsilon(dp, epochs, roundsJoined + 1);
  return {
    roundsJoined,
    epsilonSpent: siteEpsilon(dp, epochs, roundsJoined),
    epsilonWithRound,
    epsilonBudget: dp.epsilonBudget,
    delta: dp.delta,
    withinBudget: epsilonWithRound <= dp.epsilonBudget,
  };
}

/**
 * The metrics a site commits for a round of a DP task: only its privacy spend, `dpEpsilon` (ε after this
 * round, at the spec's δ) and `dpRounds` (rounds committed up to and including this one). The validation
 * scores and the training loss are computed from the notes without noise, so they stay at the site.
 *
 * @example
 * dpReportMetrics(spend); // { dpEpsilon: 5.1, dpRounds: 3 }
 */
export function dpReportMetrics(spend: PrivacySpend): Metrics {
  return { dpEpsilon: spend.epsilonWithRound, dpRounds: spend.roundsJoined + 1 };
}
