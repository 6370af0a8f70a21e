/**
 * The config files the demo writes for its aggregator and site processes, in the formats their CLIs read
 * (node/aggregator/config.ts, node/site/config.ts). Paths inside are relative to each config's folder; a site's
 * folder holds everything that site reads: its config, notes, model spec, deployment file and state.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { DemoSite } from "./sitePlan";

/** Where a demo run keeps its files. */
export interface DemoLayout {
  out: string;
  /** The deployment file the auditor uses. */
  deployment: string;
  spec: string;
  genesis: string;
  aggregatorDir: string;
  aggregatorConfig: string;
  store: string;
  /** Where the embedded chain keeps its state, so it can be brought back after the demo. */
  chainDir: string;
  evalDir: string;
  logsDir: string;
  finalModel: string;
  report: string;
  siteDir(site: DemoSite): string;
  siteConfig(site: DemoSite): string;
  siteNotes(site: DemoSite): string;
  testNotes(lang: string): string;
}

/** The file layout under an output folder. */
export function demoLayout(out: string): DemoLayout {
  const siteDir = (site: DemoSite) => path.join(out, "sites", site.id);
  return {
    out,
    deployment: path.join(out, "deployment.json"),
    spec: path.join(out, "model", "spec.json"),
    genesis: path.join(out, "model", "genesis.flm"),
    aggregatorDir: path.join(out, "aggregator"),
    aggregatorConfig: path.join(out, "aggregator", "config.json"),
    store: path.join(out, "aggregator", "store"),
    chainDir: path.join(out, "chain"),
    evalDir: path.join(out, "eval"),
    logsDir: path.join(out, "logs"),
    finalModel: path.join(out, "final-model.flm"),
    report: path.join(out, "report.json"),
    siteDir,
    siteConfig: (site) => path.join(siteDir(site), "config.json"),
    siteNotes: (site) => path.join(siteDir(site), "notes.jsonl"),
    testNotes: (lang) => path.join(out, "eval", `test-${lang}.jsonl`),
  };
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** What both kinds of config need. */
export interface DemoConfigParameters {
  layout: DemoLayout;
  rpc: string;
  chainId: number;
  taskId: bigint;
  aggregatorPort: number;
  pollIntervalMs: number;
  /** Seconds the aggregator waits after the deadline for uploads of sites that committed. */
  uploadGraceSeconds: number;
  /** Sites stay up (idle) after the task's last round instead of exiting. */
  keepRunning: boolean;
}

/** Writes the aggregator's config (signing with the `aggregator` dev account). */
export async function writeAggregatorConfig(p: DemoConfigParameters): Promise<string> {
  const dir = p.layout.aggregatorDir;
  const rel = (file: string) => path.relative(dir, file);
  await writeJson(p.layout.aggregatorConfig, {
    rpc: p.rpc,
    chainId: p.chainId,
    deployment: rel(p.layout.deployment),
    signer: { devAccount: "aggregator" },
    taskId: Number(p.taskId),
    modelSpec: rel(p.layout.spec),
    genesisModel: rel(p.layout.genesis),
    storeDir: rel(p.layout.store),
    listen: { host: "127.0.0.1", port: p.aggregatorPort },
    pollIntervalMs: p.pollIntervalMs,
    uploadGraceSeconds: p.uploadGraceSeconds,
  });
  return p.layout.aggregatorConfig;
}

/**
 * Writes one site's folder: copies of the deployment file and the model spec, and its config (signing with
 * the site's dev account, training seed of its own). The notes file must already be there.
 */
export async function writeSiteConfig(
  p: DemoConfigParameters,
  site: DemoSite,
  trainingSeed: number,
): Promise<string> {
  const dir = p.layout.siteDir(site);
  await mkdir(dir, { recursive: true });
  await copyFile(p.layout.deployment, path.join(dir, "deployment.json"));
  await copyFile(p.layout.spec, path.join(dir, "spec.json"));
  await writeJson(p.layout.siteConfig(site), {
    signer: { devAccount: site.account },
    rpc: p.rpc,
    chainId: p.chainId,
    deployment: "deployment.json",
    aggregator: `http://127.0.0.1:${p.aggregatorPort}`,
    tasks: [{ id: Number(p.taskId), modelSpec: "spec.json" }],
    data: ["notes.jsonl"],
    // The demo scores models on its own held-out notes, so every local note trains.
    validationShare: 0,
    training: { seed: trainingSeed },
    stateDir: "state",
    pollIntervalMs: p.pollIntervalMs,
    keepRunning: p.keepRunning,
  });
  return p.layout.siteConfig(site);
}
