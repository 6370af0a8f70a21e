/**
 * The same rounds without a chain: the folder of an off-ledger run (the services' ordinary config files plus
 * the task the in-memory ledger runs), and the processes that run it (main.ts).
 */
import { cp, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { freePort, AGGREGATION_RULE_IDS } from "../../node/chain";
import { demoLayout, writeAggregatorConfig, writeSiteConfig, type DemoLayout } from "../../node/demo/configs";
import { demoAggregationRule } from "../../node/demo/options";
import type { ProcessSpec } from "../../node/demo/processes";
import type { DemoSession } from "../../node/demo/session";
import type { DemoSite } from "../../node/demo/sitePlan";
import type { OffLedgerTaskFile } from "./main";

/** The entry point of the off-ledger services (run with tsx). */
export const OFF_LEDGER_MAIN = path.join(__dirname, "main.ts");

/** A written off-ledger run: its layout, and how to start its aggregator and sites. */
export interface OffLedgerRun {
  layout: DemoLayout;
  /** The task the in-memory ledger runs (main.ts `--task`). */
  taskFile: string;
  /** The aggregator's process (for ProcessGroup.start, with a name and log file added). */
  aggregator: Pick<ProcessSpec, "script" | "args">;
  /** One site's process. */
  site(site: DemoSite): Pick<ProcessSpec, "script" | "args">;
}

/**
 * Writes the folder of an off-ledger run of a prepared session (benchmarks and tests): the same notes, spec,
 * genesis model, deployment and service configs, plus the task file of the in-memory ledger, so the same rounds
 * run with no chain. The deployment only names the signature domain.
 *
 * @example
 * const run = await writeOffLedgerRun(session, "/tmp/bench/off-ledger");
 * session.group.start({ name: "aggregator", logFile, ...run.aggregator });
 */
export async function writeOffLedgerRun(session: DemoSession, out: string): Promise<OffLedgerRun> {
  const from = session.layout;
  const layout = demoLayout(out);
  await mkdir(layout.logsDir, { recursive: true });
  await cp(from.deployment, layout.deployment);
  await cp(path.dirname(from.spec), path.dirname(layout.spec), { recursive: true });
  for (const site of session.sites) {
    await mkdir(layout.siteDir(site), { recursive: true });
    await cp(from.siteNotes(site), layout.siteNotes(site));
  }
  const s = session.settings;
  const common = {
    layout,
    rpc: session.rpc,
    chainId: session.chainId,
    taskId: session.taskId,
    aggregatorPort: await freePort(),
    pollIntervalMs: s.pollIntervalMs,
    uploadGraceSeconds: 10,
    keepRunning: false,
  };
  const task: OffLedgerTaskFile = {
    sites: session.sites.map((site) => site.address),
    minSitesPerRound: s.minSites,
    commitWindowSeconds: s.commitWindowSeconds,
    roundsPlanned: s.rounds,
    // The rule the demo's task was created with, so both kinds of run aggregate alike.
    aggregationRule: AGGREGATION_RULE_IDS[demoAggregationRule(s)],
  };
  const taskFile = path.join(layout.aggregatorDir, "off-ledger-task.json");
  await mkdir(layout.aggregatorDir, { recursive: true });
  await writeFile(taskFile, `${JSON.stringify(task, null, 2)}\n`);
  await writeAggregatorConfig(common);
  for (const site of session.sites) await writeSiteConfig(common, site, s.seed * 1_000 + site.index);
  return {
    layout,
    taskFile,
    aggregator: {
      script: OFF_LEDGER_MAIN,
      args: ["aggregator", "--config", layout.aggregatorConfig, "--task", taskFile],
    },
    site: (site) => ({ script: OFF_LEDGER_MAIN, args: ["site", "--config", layout.siteConfig(site)] }),
  };
}
