import type { AuditedTaskPrivacy } from "./privacyAudit";

/**
 * The text lines of the privacy section shared by `audit verify` and `audit lineage`: per DP task its
 * settings and budget, then one line per site with the ε recomputed from the chain.
 *
 * @example
 * lines.push(...formatPrivacy(report.privacy));
 */
export function formatPrivacy(privacy: readonly AuditedTaskPrivacy[]): string[] {
  const lines: string[] = [];
  for (const p of privacy) {
    if (!p.dp) {
      if (p.spec === "unavailable")
        lines.push(
          "",
          `privacy of task ${p.task}: not checked (the spec ${p.specHash} is neither in the store nor next to the model file)`,
        );
      continue;
    }
    const d = p.dp;
    lines.push(
      "",
      `privacy of task ${p.task}: DP-SGD q ${d.sampleRate}, σ ${d.noiseMultiplier}, C ${d.clipNorm}, ` +
        `${d.stepsPerRound} steps per round; budget ε ${d.epsilonBudget} at δ ${d.delta} (spec from the ${p.spec})`,
    );
    for (const s of p.sites) {
      const reports = s.reportsUnavailable > 0 ? `, ${s.reportsUnavailable} report(s) not available` : "";
      lines.push(
        `  ${s.withinBudget ? "+" : "✗"} ${s.site}${s.siteName ? ` ${s.siteName}` : ""}: ε ${s.epsilon.toFixed(4)} ` +
          `after ${s.roundsJoined} round(s)${s.withinBudget ? "" : ", OVER THE BUDGET"}; ` +
          `${s.reportsAgreeing} reported ε agree${reports}`,
      );
    }
  }
  return lines;
}
