/**
 * `fedledger audit verify`: proves a model file's lineage from the file to its genesis, bit for bit. Starting
 * from nothing but the bytes and the ledger, it hashes the file canonically, finds its provenance record,
 * walks parent hashes back to the genesis model, and audits every round on the way (auditRound.ts), feeding
 * each recomputed model to the next round as its parent. docs/audit.md describes every check.
 */
import type { Provider } from "ethers";
import { ConsortiumRegistry__factory, type TrainingLedger } from "../../typechain-types";
import { FedledgerError } from "../errors";
import { type AggregationRule, getAggregationRule } from "../fl";
import { hashModelBytes, ModelFormatError, readModelHeader } from "../model/format";
import type { AuditedTask, AuditReport } from "./auditReport";
import { auditRound } from "./auditRound";
import { LineageBreak, type BrokenLink } from "./brokenLink";
import type { ObjectSource } from "./objectSource";
import { auditPrivacy, metricsFromUploads, type UploadsByRound } from "./privacyAudit";
import { fetchRoundInputs, type RoundInputs } from "./roundInputs";
import { siteName } from "./siteLabel";
import { secureRoundRule, secureTasks } from "./secureRounds";
import { readSiteRegistry } from "./siteRegistry";
import { traceLineage, type Lineage } from "./traceLineage";

/** Options of {@link verifyModel}. */
export interface VerifyModelParameters {
  /** The ledger to audit against (read-only). */
  ledger: TrainingLedger;
  provider: Provider;
  /** The model file's bytes. */
  modelBytes: Uint8Array;
  /** The model file's path, for the report. */
  modelFile?: string;
  /** Where update and genesis bytes come from. */
  source: ObjectSource;
  /** First block to read registry events from (0 by default; a deployment's deployBlock when known). */
  registryFromBlock?: number;
}

function finish(report: AuditReport): AuditReport {
  report.firstBrokenLink = report.brokenLinks[0] ?? null;
  report.verdict = report.brokenLinks.length === 0 ? "passed" : "failed";
  return report;
}

function ruleFor(taskId: bigint, ruleId: number, links: BrokenLink[]): AggregationRule | null {
  try {
    return getAggregationRule(ruleId);
  } catch (err) {
    if (!(err instanceof FedledgerError)) throw err;
    links.push({
      code: "unknown_rule",
      message: `task ${taskId} aggregates with rule ${ruleId}, which this build cannot re-run (${err.toLine()})`,
      task: taskId.toString(),
      expected: "a known aggregation rule",
      found: String(ruleId),
    });
    return null;
  }
}

/**
 * Verifies a model file against the ledger and the store and returns the report. Broken links are findings
 * in the report (verdict "failed"), not exceptions; it throws only when the chain or the store cannot be read
 * (AuditSourceError or an ethers error).
 *
 * @example
 * const report = await verifyModel({ ledger, provider, modelBytes, source: await openObjectSource(dir) });
 * report.verdict; // "passed"
 * report.firstBrokenLink?.message; // "round 2 of task 1, site 0x…: the store's bytes for update 0x… hash to 0x…"
 */
export async function verifyModel(params: VerifyModelParameters): Promise<AuditReport> {
  const { ledger, provider, source } = params;
  const bytes = params.modelBytes;
  const hash = hashModelBytes(bytes);
  const ledgerAddress = await ledger.getAddress();
  const { chainId } = await provider.getNetwork();
  const report: AuditReport = {
    format: "fedledger-audit-v1",
    verdict: "failed",
    model: { file: params.modelFile ?? null, hash, sizeBytes: bytes.byteLength, tensors: null },
    chain: { chainId: chainId.toString(), ledger: ledgerAddress, registry: null },
    store: { kind: source.kind, location: source.location },
    provenance: null,
    genesis: null,
    tasks: [],
    rounds: [],
    firstBrokenLink: null,
    brokenLinks: [],
    findings: [],
    privacy: [],
  };
  const links = report.brokenLinks;
  const subject = params.modelFile ? `the model file ${params.modelFile}` : "the model";

  // The file: canonical layout and hash.
  try {
    report.model.tensors = readModelHeader(bytes).length;
  } catch (err) {
    if (!(err instanceof ModelFormatError)) throw err;
    links.push({ code: "model_layout", message: `${subject} is ${err.message}`, found: hash });
    return finish(report);
  }

  // The chain: provenance record, then parents back to the genesis.
  let lineage: Lineage;
  try {
    lineage = await traceLineage({ ledger, provider, modelHash: hash, times: "finalized" });
  } catch (err) {
    if (!(err instanceof LineageBreak)) throw err;
    links.push({ ...err.link, message: `${subject} (hash ${hash}): ${err.link.message}` });
    return finish(report);
  }
  report.provenance = {
    task: lineage.provenance.taskId.toString(),
    round: lineage.provenance.round,
    recordedAtBlock: lineage.provenance.recordedAtBlock,
  };
  // Reading the store runs ahead by one round (off the main thread), while the main thread re-aggregates.
  const prefetch = (i: number): Promise<RoundInputs> | undefined => {
    if (i >= lineage.rounds.length) return undefined;
    const pending = fetchRoundInputs(source, lineage.rounds[i]);
    pending.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    return pending;
  };
  let next = prefetch(0);
  const registryAddress = await ledger.registry();
  report.chain.registry = registryAddress;
  const registry = ConsortiumRegistry__factory.connect(registryAddress, provider);

  // One batch of reads: the registry's site events, each path round's storage and each commit's stored leaf.
  // It is awaited only where first needed, so it runs while the genesis model is fetched.
  const chainReads = Promise.all([
    readSiteRegistry(registry, params.registryFromBlock ?? 0, lineage.provenance.recordedAtBlock),
    Promise.all(lineage.rounds.map((r) => ledger.getRound(r.taskId, r.round))),
    Promise.all(
      lineage.rounds.map((r) =>
        Promise.all(r.commits.map((c) => ledger.commitLeaf(r.taskId, r.round, c.site))),
      ),
    ),
  ]);
  chainReads.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled

  const rules = new Map<string, AggregationRule | null>();
  for (const t of lineage.tasks) {
    const rule = ruleFor(t.task.taskId, t.task.aggregationRule, links);
    rules.set(t.task.taskId.toString(), rule);
    const audited: AuditedTask = {
      task: t.task.taskId.toString(),
      aggregationRule: t.task.aggregationRule,
      aggregationRuleName: rule?.name ?? null,
      genesisModelHash: t.task.genesisModelHash,
      specHash: t.task.specHash,
      createdAtBlock: t.task.blockNumber,
    };
    report.tasks.push(audited);
  }

  // The genesis model: the first parent.
  const genesis = lineage.genesis;
  report.genesis = {
    modelHash: genesis.modelHash,
    task: genesis.taskId.toString(),
    recordedAtBlock: genesis.recordedAtBlock,
    bytes: "not needed",
  };
  let parent: Buffer | null = null;
  if (lineage.rounds.length > 0) {
    const got = await source.fetch(genesis.modelHash);
    report.genesis.bytes = got.status;
    if (got.status === "ok") parent = got.bytes;
    else if (got.status === "missing")
      links.push({
        code: "genesis_missing",
        message: `the genesis model ${genesis.modelHash} of task ${lineage.tasks[0].task.taskId} is missing from the store ${source.location}`,
        task: lineage.tasks[0].task.taskId.toString(),
        expected: genesis.modelHash,
        found: "missing",
      });
    else
      links.push({
        code: "genesis_corrupt",
        message: `the store's bytes for the genesis model ${genesis.modelHash} hash to ${got.actualHash}`,
        task: lineage.tasks[0].task.taskId.toString(),
        expected: genesis.modelHash,
        found: got.actualHash,
      });
  }

  const [sites, storedRounds, storedLeaves] = await chainReads;
  const commitsByHash = new Map<string, { task: bigint; round: number; site: string }>();
  for (const r of lineage.rounds)
    for (const c of r.commits)
      commitsByHash.set(c.updateHash.toLowerCase(), { task: r.taskId, round: r.round, site: c.site });

  // Tasks whose rounds are securely aggregated (their specs say so): each round is re-run from its material.
  const secure = await secureTasks(lineage, source, params.modelFile);

  // Every round, oldest first; each recomputed model is the next round's parent.
  const uploads: UploadsByRound = new Map();
  for (const [i, round] of lineage.rounds.entries()) {
    const inputs = (await next) as RoundInputs;
    next = prefetch(i + 1);
    uploads.set(`${round.taskId}:${round.round}`, inputs.records);
    let rule = rules.get(round.taskId.toString()) ?? null;
    const secureTask = secure.get(round.taskId.toString());
    const secureLinks: BrokenLink[] = [];
    if (secureTask && rule)
      rule = await secureRoundRule(secureTask, rule, round, lineage, source, secureLinks);
    const { audited, model } = await auditRound({
      round,
      stored: storedRounds[i],
      storedLeaves: storedLeaves[i],
      parent,
      rule,
      source,
      inputs,
      sites,
      commitsByHash,
      blockTimes: lineage.blockTimes,
    });
    if (secureLinks.length > 0) {
      audited.brokenLinks.unshift(...secureLinks);
      audited.verdict = "failed";
    }
    report.rounds.push(audited);
    links.push(...audited.brokenLinks);
    report.findings.push(...audited.findings);
    parent = model;
  }

  // The privacy budget of every DP task on the path, from the chain and the spec alone.
  const privacy = await auditPrivacy({
    lineage,
    source,
    modelFile: params.modelFile,
    metrics: metricsFromUploads(uploads),
    siteName: (site) => siteName(sites, site),
  });
  report.privacy = privacy.privacy;
  links.push(...privacy.links);
  return finish(report);
}
