/**
 * The same rounds without a chain: config files for the aggregator's off-chain ledger (benchmarks only).
 */
import { cp, mkdir } from "node:fs/promises";
import path from "node:path";
import { freePort } from "../chain/freePort";
import { AGGREGATION_RULE_IDS } from "../chain/vocabulary";
import { demoLayout, writeAggregatorConfig, writeSiteConfig, type DemoLayout } from "./configs";
import { demoAggregationRule } from "./options";
import type { DemoSession } from "./session";

/**
 * Writes the folder of an off-ledger run of a prepared session (benchmarks and tests): the same notes, spec,
 * genesis model and deployment, with aggregator and site configs that set offLedger, so the same rounds run
 * with no chain (node/aggregator/ledgerPort.ts). Returns the folder's layout.
 *
 * @example
 * const layout = await writeOffLedgerRun(session, "/tmp/bench/off-ledger");
 */
export async function writeOffLedgerRun(session: DemoSession, out: string): Promise<DemoLayout> {
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
    offLedger: {
      sites: session.sites.map((site) => site.address),
      minSitesPerRound: s.minSites,
      commitWindowSeconds: s.commitWindowSeconds,
      roundsPlanned: s.rounds,
      // The rule the demo's task was created with, so both kinds of run aggregate alike.
      aggregationRule: AGGREGATION_RULE_IDS[demoAggregationRule(s)],
    },
  };
  await writeAggregatorConfig(common);
  for (const site of session.sites) await writeSiteConfig(common, site, s.seed * 1_000 + site.index);
  return layout;
}
