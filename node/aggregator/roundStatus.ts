import type { RoundStatusName } from "../chain";
import { metricsHash } from "../fl";
import type { ContentStore } from "../store";
import { ApiError } from "./apiError";
import type { AggregatorLedger } from "./ledgerPort";
import type { RoundGates } from "./roundGates";

/** The JSON document of `GET /tasks/:task/rounds/:round`. */
export interface RoundStatusDocument {
  task: string;
  round: number;
  status: RoundStatusName;
  baseModelHash: string;
  /** The finalised model, or null. */
  modelHash: string | null;
  updatesRoot: string | null;
  deadline: number;
  openedAtBlock: number;
  minSitesPerRound: number;
  commitCount: number;
  includedCount: number;
  acceptingUploads: boolean;
  commits: { site: string; updateHash: string; numSamples: string; metricsHash: string; uploaded: boolean }[];
  uploads: {
    site: string;
    updateHash: string;
    numSamples: string;
    metrics: unknown;
    metricsHash: string;
    receivedAt: string;
  }[];
  /** Per metric name, the mean over the sites that reported it as a number. */
  metricsMean: Record<string, number>;
}

const ZERO = /^0x0{64}$/;

function meanOfNumbers(records: readonly { metrics: Record<string, unknown> }[]): Record<string, number> {
  const sums = new Map<string, { total: number; n: number }>();
  for (const r of records) {
    for (const [k, v] of Object.entries(r.metrics)) {
      if (typeof v !== "number") continue;
      const s = sums.get(k) ?? { total: 0, n: 0 };
      s.total += v;
      s.n += 1;
      sums.set(k, s);
    }
  }
  return Object.fromEntries([...sums.entries()].sort().map(([k, s]) => [k, s.total / s.n]));
}

/** Builds the status document of one round from the chain and the store. */
export async function roundStatus(
  deps: { taskId: bigint; ledger: AggregatorLedger; store: ContentStore; gates: RoundGates },
  round: number,
): Promise<RoundStatusDocument> {
  const info = await deps.ledger.round(deps.taskId, round);
  if (info.status === "None")
    throw new ApiError("unknown_round", `round ${round} of task ${deps.taskId} has not been opened`);
  const [commits, uploads] = await Promise.all([
    deps.ledger.commits(deps.taskId, round, info.openedAtBlock),
    deps.store.listRound(deps.taskId, round),
  ]);
  const uploaded = new Set(uploads.map((u) => u.site.toLowerCase()));
  return {
    task: deps.taskId.toString(),
    round,
    status: info.status,
    baseModelHash: info.baseModelHash,
    modelHash: ZERO.test(info.modelHash) ? null : info.modelHash,
    updatesRoot: ZERO.test(info.updatesRoot) ? null : info.updatesRoot,
    deadline: info.deadline,
    openedAtBlock: info.openedAtBlock,
    minSitesPerRound: info.minSitesPerRound,
    commitCount: info.commitCount,
    includedCount: info.includedCount,
    acceptingUploads: info.status === "Open" && !deps.gates.isSealed(round),
    commits: commits.map((c) => ({
      site: c.site,
      updateHash: c.updateHash,
      numSamples: c.numSamples.toString(),
      metricsHash: c.metricsHash,
      uploaded: uploaded.has(c.site.toLowerCase()),
    })),
    uploads: uploads.map((u) => ({
      site: u.site,
      updateHash: u.updateHash,
      numSamples: u.numSamples,
      metrics: u.metrics,
      metricsHash: metricsHash(u.metrics),
      receivedAt: u.receivedAt,
    })),
    metricsMean: meanOfNumbers(uploads),
  };
}
