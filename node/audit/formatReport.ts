import type { AuditedRound, AuditReport } from "./auditReport";
import { formatPrivacy } from "./formatPrivacy";

/*
 * The readable form of an audit report: a header (model, chain, store, path), then round by round the parent,
 * the recorded and recomputed model, the updates root, each committed update (site, sample count, hash, what
 * the store gave, the site's status at its commit) and the round's verdict, then the overall verdict.
 */

const METHODS: Record<string, string> = {
  available: "the updates in the store",
  "all-commits": "all commits",
  search: "found by searching the commits",
};

function formatRound(r: AuditedRound): string[] {
  const lines = [`round ${r.round} of task ${r.task}: ${r.verdict.toUpperCase()}`];
  lines.push(`  parent        ${r.parentModelHash}`);
  const recomputed =
    r.recomputedModelHash === null
      ? "not recomputed"
      : r.recomputedModelHash.toLowerCase() === r.modelHash.toLowerCase()
        ? "recomputed: identical"
        : `recomputed: ${r.recomputedModelHash}`;
  lines.push(`  model         ${r.modelHash} (${recomputed})`);
  const method = r.includedSetMethod ? `; set: ${METHODS[r.includedSetMethod] ?? r.includedSetMethod}` : "";
  lines.push(
    `  updates root  ${r.updatesRoot} (${r.includedCount} of ${r.commitCount} commits included${method})`,
  );
  lines.push(
    `  blocks        opened ${r.openedAtBlock}, finalised ${r.finalizedAtBlock}${r.finalizedAt ? ` at ${r.finalizedAt}` : ""}`,
  );
  lines.push(`  metrics hash  ${r.metricsHash}`);
  for (const u of r.updates) {
    const mark = u.included ? "+" : "-";
    const name = u.siteName ? ` ${u.siteName}` : "";
    const bytes = u.bytes === "corrupt" ? `corrupt (hash ${u.bytesHash})` : u.bytes;
    lines.push(
      `  ${mark} ${u.site}${name}: ${u.numSamples} samples, update ${u.updateHash}, bytes ${bytes}, ` +
        `${u.statusAtCommit} at commit (block ${u.commitBlock})${u.included ? "" : ", not included"}`,
    );
  }
  for (const link of r.brokenLinks) lines.push(`  ✗ ${link.code}: ${link.message}`);
  for (const finding of r.findings) lines.push(`  ! ${finding.code}: ${finding.message}`);
  return lines;
}

/**
 * Renders a report as text for people (the default output of `fedledger audit verify`).
 *
 * @example
 * process.stdout.write(formatReport(report));
 */
export function formatReport(report: AuditReport): string {
  const m = report.model;
  const lines: string[] = [];
  lines.push(`fedledger audit: ${report.verdict.toUpperCase()}`);
  const size = `${m.sizeBytes.toLocaleString("en-US")} bytes${m.tensors === null ? "" : `, ${m.tensors} tensors`}`;
  lines.push(`model     ${m.file ? `${m.file} ` : ""}${m.hash} (${size})`);
  lines.push(
    `ledger    ${report.chain.ledger} on chain ${report.chain.chainId}` +
      (report.chain.registry ? ` (registry ${report.chain.registry})` : ""),
  );
  lines.push(`store     ${report.store.kind} ${report.store.location}`);
  if (report.provenance && report.genesis) {
    const steps = report.rounds.map((r) => `task ${r.task} round ${r.round}`);
    lines.push(
      `lineage   genesis ${report.genesis.modelHash} (task ${report.genesis.task})` +
        (steps.length ? ` → ${steps.join(" → ")}` : "") +
        " = this model",
    );
  }
  for (const t of report.tasks)
    lines.push(
      `task ${t.task}    rule ${t.aggregationRuleName ?? "unknown"} (${t.aggregationRule}), genesis ${t.genesisModelHash}, ` +
        `spec ${t.specHash}, created at block ${t.createdAtBlock}`,
    );
  if (report.genesis && report.genesis.bytes !== "not needed")
    lines.push(`genesis   bytes in the store: ${report.genesis.bytes}`);
  for (const r of report.rounds) lines.push("", ...formatRound(r));
  lines.push(...formatPrivacy(report.privacy));
  lines.push("");
  const first = report.firstBrokenLink;
  if (first === null) {
    const updates = report.rounds.reduce((n, r) => n + r.includedCount, 0);
    lines.push(
      `verdict: PASSED: every link from the file to the genesis holds (${report.rounds.length} round(s), ` +
        `${updates} included update(s) re-aggregated)`,
    );
  } else {
    lines.push(`verdict: FAILED: ${first.message}`);
    if (report.brokenLinks.length > 1)
      lines.push(`(${report.brokenLinks.length} broken links in all; the first is shown here)`);
  }
  if (report.findings.length > 0)
    lines.push(
      `findings: ${report.findings.length} (censorship or free riding; --strict fails the audit on them)`,
      ...report.findings.map((f) => `  ! ${f.code}: ${f.message}`),
    );
  return `${lines.join("\n")}\n`;
}
