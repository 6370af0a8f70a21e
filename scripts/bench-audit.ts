/**
 * Audit benchmark (`npm run bench:audit`): builds a 20-round history with the real contracts (in-process
 * Hardhat network) and a real store on disk, then measures in the same run
 *
 *   - the aggregator's time: the FedAvg rule run on each round's parent and updates, loading every update
 *     from the store inside the rule exactly as the aggregator's round driver does (its aggregation metric);
 *   - the audit's time: `verifyModel` on the final model, from nothing but the file, the ledger and the store
 *     (chain reads, hashing every update, re-running FedAvg for every round, hashing every result).
 *
 * The two are measured alternately BENCH_REPEAT times (5), so that load from other processes hits both alike,
 * and compared by their minimums (the least disturbed runs) and by their medians. Prints one JSON object.
 * Other settings by environment: BENCH_ROUNDS (20), BENCH_SITES (4), BENCH_BUCKETS (32768 rows of the
 * embedding table), BENCH_DIM (32), BENCH_LABELS (12).
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { ethers } from "hardhat";
import { TrainingLedger__factory } from "../typechain-types";
import { openObjectSource, verifyModel } from "../node/audit";
import { fedAvg } from "../node/fl";
import { buildHistory, type History, type TensorShape } from "../test/audit/fixture";
import { median } from "./stats";

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// A full garbage collection before each timed run, so that no run pays for the garbage of the one before.
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/**
 * The aggregator's work on every round of the history: the FedAvg rule on the round's parent and included
 * updates, each update loaded from the store inside the rule (read and re-hashed), as the round driver does.
 * Checks that every result equals the recorded model. Returns the seconds spent inside the rule.
 */
async function replayAggregator(history: History): Promise<number> {
  let total = 0;
  for (const r of history.rounds) {
    const parent = (await history.store.get(r.parentHash)) as Buffer;
    const included = r.updates.filter((u) => r.included.includes(u.site));
    const started = process.hrtime.bigint();
    const model = await fedAvg.aggregate(
      parent,
      included.map((u) => ({
        site: u.site,
        numSamples: u.numSamples,
        bytes: async () => (await history.store.get(u.updateHash)) as Buffer,
      })),
    );
    total += seconds(started);
    if (Buffer.compare(Buffer.from(model), Buffer.from(r.modelBytes)) !== 0)
      throw new Error(`round ${r.round}: the replayed aggregate differs from the recorded model`);
  }
  return total;
}

async function main(): Promise<void> {
  const rounds = setting("BENCH_ROUNDS", 20);
  const siteCount = setting("BENCH_SITES", 4);
  const buckets = setting("BENCH_BUCKETS", 32_768);
  const dim = setting("BENCH_DIM", 32);
  const labels = setting("BENCH_LABELS", 12);
  const repeat = setting("BENCH_REPEAT", 5);
  const layout: TensorShape[] = [
    { name: "embedding/table", shape: [buckets, dim] },
    { name: "head/bias", shape: [labels] },
    { name: "head/kernel", shape: [dim, labels] },
  ];
  const params = layout.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);

  const signers = await ethers.getSigners();
  if (signers.length < 5 + siteCount) throw new Error(`BENCH_SITES is at most ${signers.length - 5}`);
  const storeDir = await mkdtemp(path.join(os.tmpdir(), "fedledger-bench-audit-"));
  try {
    let started = process.hrtime.bigint();
    const history = await buildHistory({
      actors: {
        admin: signers[0],
        aggregator: signers[3],
        auditor: signers[4],
        sites: signers.slice(5, 5 + siteCount),
      },
      storeDir,
      rounds,
      layout,
      seed: 2026,
    });
    const buildSeconds = seconds(started);

    const aggregatorRuns: number[] = [];
    const auditRuns: number[] = [];
    let report;
    for (let run = 0; run < repeat; run++) {
      collectGarbage();
      aggregatorRuns.push(await replayAggregator(history));
      collectGarbage();
      started = process.hrtime.bigint();
      report = await verifyModel({
        ledger: TrainingLedger__factory.connect(history.ledgerAddress, ethers.provider),
        provider: ethers.provider,
        modelBytes: history.finalModel.bytes,
        source: await openObjectSource(storeDir),
        registryFromBlock: history.deployBlock,
      });
      auditRuns.push(seconds(started));
      if (report.verdict !== "passed")
        throw new Error(`the audit failed: ${report.firstBrokenLink?.message}`);
    }
    const summary = (runs: number[]) => ({
      min: round3(Math.min(...runs)),
      median: round3(median(runs)),
      runs: runs.map(round3),
    });

    const result = {
      benchmark: "audit",
      rounds,
      sites: siteCount,
      updatesReaggregated: report?.rounds.reduce((n, r) => n + r.includedCount, 0),
      modelParameters: params,
      modelBytes: history.finalModel.bytes.byteLength,
      historyBuildSeconds: round3(buildSeconds),
      repetitions: repeat,
      aggregatorSeconds: summary(aggregatorRuns),
      aggregatorSecondsWhileBuilding: round3(
        history.rounds.reduce((sum, r) => sum + r.aggregationSeconds, 0),
      ),
      auditSeconds: summary(auditRuns),
      auditToAggregatorRatio: {
        ofMinimums: round3(Math.min(...auditRuns) / Math.min(...aggregatorRuns)),
        ofMedians: round3(median(auditRuns) / median(aggregatorRuns)),
      },
      targetRatio: 2,
      verdict: report?.verdict,
      cpus: os.cpus().length,
      loadAverage1m: round3(os.loadavg()[0]),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rm(storeDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-audit failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
