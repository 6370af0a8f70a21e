/**
 * The demo's results: `report.json` in the output folder and the summary printed at the end (scores per
 * language, the final model hash, and the command an auditor runs to verify the model).
 */
import type { RoundStatusName, RoundInfo } from "../chain";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Lang } from "../text/labels";
import type { LanguageF1, DemoScores } from "./evaluation";
import type { DemoSettings } from "./options";
import type { RoundProgress } from "./roundTracker";

/** The contents of report.json. */
export interface DemoReport {
  createdAt: string;
  settings: Omit<DemoSettings, "out"> & { out: string };
  chain: {
    rpc: string;
    chainId: number;
    embedded: boolean;
    registry: string;
    ledger: string;
    /** The folder the embedded chain was kept in, and its port: `chain up` brings it back from them. */
    stateDir?: string;
    port?: number;
  };
  task: {
    id: string;
    specHash: string;
    genesisModelHash: string;
    roundsPlanned: number;
    minSitesPerRound: number;
    commitWindowSeconds: number;
  };
  sites: { id: string; name: string; lang: Lang; country: string; address: string; trainingNotes: number }[];
  rounds: {
    round: number;
    status: RoundStatusName;
    commits: number;
    included: number;
    modelHash: string | null;
    updatesRoot: string | null;
    /** Seconds from the demo seeing the round open to seeing it close. */
    seconds: number | null;
  }[];
  finalModel: { hash: string; file: string; bytes: number };
  /** Macro-F1 per language on the held-out notes (see docs/demo.md). */
  scores: DemoScores;
  /** federated − centralized macro-F1 per language, in points (×100). */
  gapToCentralizedPoints?: LanguageF1;
  timings: Record<string, number>;
  auditCommand: string;
  /** With --dp-epsilon: the task's DP settings and each site's ε, counted from its commits on the chain. */
  privacy?: DemoPrivacy;
}

/** The privacy part of the report (docs/privacy.md). */
export interface DemoPrivacy {
  epsilonBudget: number;
  delta: number;
  noiseMultiplier: number;
  sampleRate: number;
  clipNorm: number;
  stepsPerRound: number;
  sites: { id: string; address: string; roundsJoined: number; epsilon: number }[];
}

const ZERO = /^0x0{64}$/;

/** Shell-quotes a path when it needs it. */
function quote(arg: string): string {
  return /^[\w./:@=+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** A path as shown to the user: relative to the working directory when inside it, else absolute. */
export function displayPath(file: string): string {
  const r = path.relative(process.cwd(), file);
  return r === "" ? "." : r.startsWith("..") || path.isAbsolute(r) ? file : r;
}

/** The command an auditor runs to verify the final model. */
export function auditCommand(p: {
  finalModel: string;
  rpc: string;
  deployment: string;
  store: string;
}): string {
  const rel = displayPath;
  return [
    "npx fedledger audit verify",
    `--model ${quote(rel(p.finalModel))}`,
    `--rpc ${quote(p.rpc)}`,
    `--deployment ${quote(rel(p.deployment))}`,
    `--store ${quote(rel(p.store))}`,
  ].join(" ");
}

/**
 * The command that brings the demo's chain back from its output folder once the demo has ended (none while
 * the chain still runs, or for a chain the demo did not start).
 */
function restartLines(report: DemoReport): string[] {
  const { stateDir, port } = report.chain;
  if (report.settings.keepRunning || stateDir === undefined || port === undefined) return [];
  return [
    "  in one terminal, bring the demo's chain back (it was kept in the output folder):",
    `  npx fedledger chain up --data ${quote(displayPath(stateDir))} --port ${port}`,
    "  then, in another:",
  ];
}

/** Joins the chain's round records with what the demo observed. */
export function reportRounds(
  chain: readonly RoundInfo[],
  seen: readonly RoundProgress[],
): DemoReport["rounds"] {
  const byRound = new Map(seen.map((r) => [r.round, r]));
  return chain.map((r) => {
    const s = byRound.get(r.round);
    return {
      round: r.round,
      status: r.status,
      commits: r.commitCount,
      included: r.includedCount,
      modelHash: ZERO.test(r.modelHash) ? null : r.modelHash,
      updatesRoot: ZERO.test(r.updatesRoot) ? null : r.updatesRoot,
      seconds: s?.closedAt ? Number(((s.closedAt - s.openedAt) / 1000).toFixed(2)) : null,
    };
  });
}

/** federated − centralized, in F1 points, per language. */
export function gapToCentralized(scores: DemoScores): LanguageF1 | undefined {
  if (!scores.centralized) return undefined;
  const gap: LanguageF1 = {};
  for (const [lang, f] of Object.entries(scores.federated) as [Lang, number | null][]) {
    const c = scores.centralized[lang];
    gap[lang] = f === null || c === null || c === undefined ? null : Number(((f - c) * 100).toFixed(2));
  }
  return gap;
}

/** Writes report.json (pretty JSON). */
export async function writeReport(file: string, report: DemoReport): Promise<void> {
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

function f1(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : value.toFixed(3);
}

/** A plain-text table: the first column left-aligned, the others right-aligned, a rule under the headers. */
function tableLines(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)];
}

/** The privacy table of the summary: one row per site with its rounds and ε. */
export function privacyLines(privacy: DemoPrivacy | undefined): string[] {
  if (!privacy) return [];
  const headers = ["Site", "Rounds joined", "ε spent", "Budget"];
  const rows = privacy.sites.map((s) => [
    s.id,
    String(s.roundsJoined),
    s.epsilon.toFixed(3),
    `${privacy.epsilonBudget} (δ ${privacy.delta})`,
  ]);
  return [
    "",
    `Differential privacy (DP-SGD, q ${privacy.sampleRate}, σ ${privacy.noiseMultiplier.toFixed(4)}, ` +
      `C ${privacy.clipNorm}, ${privacy.stepsPerRound} steps per round), ε per site from its commits on the chain:`,
    ...tableLines(headers, rows),
  ];
}

/**
 * The summary lines printed at the end of a run.
 *
 * @example
 * for (const line of summaryLines(report)) console.log(line);
 */
export function summaryLines(report: DemoReport): string[] {
  const { scores } = report;
  const langs = Object.keys(scores.federated) as Lang[];
  const headers = [
    "Language",
    "Federated",
    "Centralized",
    "Fed − Cen (pts)",
    "Local, own site",
    "Local, other sites",
  ];
  const rows = langs.map((lang) => [
    lang,
    f1(scores.federated[lang]),
    f1(scores.centralized?.[lang]),
    report.gapToCentralizedPoints?.[lang]?.toFixed(1) ?? "–",
    f1(scores.localOwn?.[lang]),
    f1(scores.localOther?.[lang]),
  ]);
  const finalised = report.rounds.filter((r) => r.status === "Finalized").length;
  return [
    ...privacyLines(report.privacy),
    "",
    `Macro-F1 per language on ${report.settings.testNotesPerLang} held-out notes each:`,
    ...tableLines(headers, rows),
    "",
    `Rounds finalised: ${finalised} of ${report.task.roundsPlanned}`,
    `Final model:      ${report.finalModel.hash}`,
    `                  ${displayPath(report.finalModel.file)} (${report.finalModel.bytes.toLocaleString("en")} bytes)`,
    `Report:           ${displayPath(path.join(report.settings.out, "report.json"))}`,
    "",
    "Verify where the model came from (chain records, parents back to genesis, every update, recomputed aggregates):",
    ...restartLines(report),
    `  ${report.auditCommand}`,
    ...(report.settings.keepRunning || report.settings.rpc || report.chain.stateDir
      ? []
      : [
          "  (this chain was kept in memory and stops when the demo ends: run with --keep-running, on the anvil node, or on your own chain with --rpc, to audit)",
        ]),
  ];
}
