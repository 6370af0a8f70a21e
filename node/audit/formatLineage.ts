/**
 * Renderings of a lineage document: text for people, Mermaid and Graphviz DOT for diagrams. Graph nodes are
 * models (genesis and each round's result) and site updates; an edge runs from each parent to its child
 * model and from each included update to the model it went into.
 */
import { canonicalJson } from "../fl";
import { formatPrivacy } from "./formatPrivacy";
import type { LineageDocument, LineageSite } from "./lineageDocument";

/** Output formats of `fedledger audit lineage`. */
export const LINEAGE_FORMATS = ["text", "json", "mermaid", "dot"] as const;
/** One of {@link LINEAGE_FORMATS}. */
export type LineageFormat = (typeof LINEAGE_FORMATS)[number];

function short(hash: string): string {
  return `${hash.slice(0, 10)}…${hash.slice(-4)}`;
}

function siteText(s: LineageSite): string {
  const name = s.name ? ` ${s.name}` : "";
  const metrics = s.metrics ? `, metrics ${canonicalJson(s.metrics)}` : "";
  const when = s.committedAt ? ` at ${s.committedAt}` : "";
  const included = s.included === false ? ", not included" : "";
  return (
    `${s.site}${name}: ${s.numSamples} samples, update ${s.updateHash}, metrics hash ${s.metricsHash}` +
    `${metrics}, block ${s.commitBlock}${when}${included}`
  );
}

function formatText(doc: LineageDocument): string {
  const lines = [
    `model ${doc.model.hash}: round ${doc.model.round} of task ${doc.model.task} (block ${doc.model.recordedAtBlock})`,
    `ledger ${doc.chain.ledger} on chain ${doc.chain.chainId}`,
    "",
    `genesis ${doc.genesis.modelHash} (task ${doc.genesis.task}, block ${doc.genesis.recordedAtBlock}` +
      `${doc.genesis.recordedAt ? `, ${doc.genesis.recordedAt}` : ""})`,
  ];
  for (const t of doc.tasks)
    for (const a of t.abortedRounds)
      lines.push(
        `  (round ${a.round} of task ${t.task} was aborted after ${a.commitCount} commit(s), reason ${a.reason})`,
      );
  for (const r of doc.rounds) {
    lines.push(
      "  │",
      `  ▼ round ${r.round} of task ${r.task} → model ${r.modelHash}`,
      `      finalised at block ${r.finalizedAtBlock}${r.finalizedAt ? ` (${r.finalizedAt})` : ""}, opened at block ${r.openedAtBlock}`,
      `      parent ${r.parentModelHash}`,
      `      updates root ${r.updatesRoot}: ${r.includedCount} of ${r.commitCount} commits`,
      `      metrics hash ${r.metricsHash}` +
        (Object.keys(r.metricsMean).length ? `, site mean ${canonicalJson(r.metricsMean)}` : ""),
    );
    for (const s of r.sites) lines.push(`      ${s.included === false ? "-" : "+"} ${siteText(s)}`);
  }
  lines.push(...formatPrivacy(doc.privacy));
  for (const b of doc.privacyBreaks) lines.push(`  ✗ ${b.code}: ${b.message}`);
  return `${lines.join("\n")}\n`;
}

function modelId(hash: string): string {
  return `m_${hash.slice(2, 14)}`;
}

function escapeLabel(text: string): string {
  return text.replace(/"/g, "'");
}

function formatMermaid(doc: LineageDocument): string {
  const lines = ["flowchart TD"];
  lines.push(
    `  ${modelId(doc.genesis.modelHash)}["genesis ${short(doc.genesis.modelHash)}<br/>task ${doc.genesis.task}"]`,
  );
  for (const r of doc.rounds) {
    const child = modelId(r.modelHash);
    const when = r.finalizedAt ? `<br/>${r.finalizedAt}` : "";
    lines.push(
      `  ${child}["round ${r.round} of task ${r.task}<br/>${short(r.modelHash)}<br/>block ${r.finalizedAtBlock}${when}"]`,
      `  ${modelId(r.parentModelHash)} --> ${child}`,
    );
    for (const [i, s] of r.sites.entries()) {
      if (s.included === false) continue;
      const id = `u_${r.task}_${r.round}_${i}`;
      const name = s.name ? `<br/>${escapeLabel(s.name)}` : "";
      lines.push(
        `  ${id}(["${short(s.site)}${name}<br/>${s.numSamples} samples"])`,
        `  ${id} -. "${short(s.updateHash)}" .-> ${child}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function formatDot(doc: LineageDocument): string {
  const lines = ["digraph lineage {", "  rankdir=TB;", "  node [fontname=Helvetica];"];
  lines.push(
    `  ${modelId(doc.genesis.modelHash)} [shape=box, label=${dotString(`genesis ${short(doc.genesis.modelHash)}\ntask ${doc.genesis.task}`)}];`,
  );
  for (const r of doc.rounds) {
    const child = modelId(r.modelHash);
    const when = r.finalizedAt ? `\n${r.finalizedAt}` : "";
    lines.push(
      `  ${child} [shape=box, label=${dotString(`round ${r.round} of task ${r.task}\n${short(r.modelHash)}\nblock ${r.finalizedAtBlock}${when}`)}];`,
      `  ${modelId(r.parentModelHash)} -> ${child};`,
    );
    for (const [i, s] of r.sites.entries()) {
      if (s.included === false) continue;
      const id = `u_${r.task}_${r.round}_${i}`;
      const name = s.name ? `\n${s.name}` : "";
      lines.push(
        `  ${id} [shape=ellipse, label=${dotString(`${short(s.site)}${name}\n${s.numSamples} samples`)}];`,
        `  ${id} -> ${child} [style=dashed, label=${dotString(short(s.updateHash))}];`,
      );
    }
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * Renders a lineage document in one of {@link LINEAGE_FORMATS}.
 *
 * @example
 * process.stdout.write(formatLineage(doc, "mermaid"));
 */
export function formatLineage(doc: LineageDocument, format: LineageFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(doc, null, 2)}\n`;
    case "mermaid":
      return formatMermaid(doc);
    case "dot":
      return formatDot(doc);
    default:
      return formatText(doc);
  }
}
