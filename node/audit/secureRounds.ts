/**
 * Auditing a securely aggregated round (docs/secure-aggregation.md, "The auditor's recomputation"). The task's
 * spec, fetched by its on-chain hash, says the rounds are masked; each finalised round must carry a
 * RoundUnmasked event, the store must hold the unmasking material under that hash, and the material must check
 * out on its own (advertisements signed by their sites, seeds matching their commitments, keys their public
 * keys). The round's rule is then the secure recomputation: unmask the sum of the included masked updates (each
 * already checked against its commit by auditRound) and finish as the task's rule does; auditRound compares the
 * result with the recorded model, bit for bit.
 */
import { AggregationError, type AggregationRule } from "../fl";
import type { SecureAggregationConfig } from "../model/spec";
import {
  aggregateMasked,
  checkMaterial,
  parseMaterial,
  SecAggError,
  type SecAggContext,
  type UnmaskingMaterial,
} from "../secagg";
import type { BrokenLink } from "./brokenLink";
import type { ObjectSource } from "./objectSource";
import { findTaskSpec } from "./privacyAudit";
import type { Lineage, LineageRound } from "./traceLineage";

/** A task on the lineage whose rounds are securely aggregated. */
export interface SecureTask {
  params: SecureAggregationConfig;
  /** The round's unmasking-material hash, by round (RoundUnmasked). */
  unmasked: ReadonlyMap<number, string>;
}

/** The secure tasks of a lineage, by decimal task id (their specs found in the store or beside the model). */
export async function secureTasks(
  lineage: Lineage,
  source: ObjectSource,
  modelFile?: string,
): Promise<Map<string, SecureTask>> {
  const out = new Map<string, SecureTask>();
  for (const t of lineage.tasks) {
    const { spec } = await findTaskSpec(source, t.task.specHash, modelFile);
    if (spec?.secureAggregation)
      out.set(t.task.taskId.toString(), { params: spec.secureAggregation, unmasked: t.events.unmasked });
  }
  return out;
}

async function loadMaterial(
  source: ObjectSource,
  context: SecAggContext,
  hash: string,
  where: string,
  link: (l: Omit<BrokenLink, "task" | "round">) => void,
): Promise<UnmaskingMaterial | null> {
  const got = await source.fetch(hash);
  if (got.status !== "ok") {
    link({
      code: "unmasking_material_missing",
      message:
        got.status === "missing"
          ? `${where}: the unmasking material ${hash} is missing from the store ${source.location}`
          : `${where}: the store's bytes for the unmasking material ${hash} hash to ${got.actualHash}`,
      expected: hash,
      found: got.status === "missing" ? "missing" : got.actualHash,
    });
    return null;
  }
  let problem: string;
  try {
    const parsed = parseMaterial(JSON.parse(got.bytes.toString("utf8")));
    if (parsed.ok) {
      checkMaterial(context, parsed.value);
      return parsed.value;
    }
    problem = parsed.problem;
  } catch (err) {
    if (!(err instanceof SecAggError) && !(err instanceof SyntaxError)) throw err;
    problem = err.message;
  }
  link({
    code: "unmasking_material_invalid",
    message: `${where}: the unmasking material ${hash} does not check out: ${problem}`,
    expected: "material that matches the sites' signed advertisements",
    found: problem,
  });
  return null;
}

/**
 * The rule that re-aggregates one secure round, or null (with the broken link recorded) when the round's
 * material is not on the chain, not in the store, or does not check out.
 */
export async function secureRoundRule(
  task: SecureTask,
  base: AggregationRule,
  round: LineageRound,
  lineage: Pick<Lineage, "chainId" | "ledger">,
  source: ObjectSource,
  links: BrokenLink[],
): Promise<AggregationRule | null> {
  const where = `round ${round.round} of task ${round.taskId}`;
  const link = (l: Omit<BrokenLink, "task" | "round">) =>
    links.push({ ...l, task: round.taskId.toString(), round: round.round });
  const hash = task.unmasked.get(round.round);
  if (hash === undefined) {
    link({
      code: "unmasking_missing",
      message: `${where}: the task's spec asks for secure aggregation, but the round was finalised without a RoundUnmasked event`,
      expected: "a RoundUnmasked event",
      found: "none",
    });
    return null;
  }
  const context: SecAggContext = {
    chainId: lineage.chainId,
    ledger: lineage.ledger,
    taskId: round.taskId,
    round: round.round,
  };
  const material = await loadMaterial(source, context, hash, where, link);
  if (!material) return null;
  return {
    id: base.id,
    name: `${base.name} over securely aggregated updates`,
    async aggregate(parent, updates) {
      const inputs = [];
      for (const u of updates)
        inputs.push({ site: u.site, numSamples: u.numSamples, bytes: await u.bytes() });
      try {
        return aggregateMasked(context, task.params, base.id, parent, material, inputs);
      } catch (err) {
        if (err instanceof SecAggError) throw new AggregationError(err.message);
        throw err;
      }
    },
  };
}
