import type { Provider } from "ethers";
import { ConsortiumRegistry__factory, type TrainingLedger } from "../../typechain-types";
import { buildLineageDocument, type LineageDocument } from "./lineageDocument";
import type { ObjectSource } from "./objectSource";
import { readSiteRegistry } from "./siteRegistry";
import { traceLineage } from "./traceLineage";

/** Options of {@link describeLineage}. */
export interface DescribeLineageParameters {
  ledger: TrainingLedger;
  provider: Provider;
  modelHash: string;
  /** Where to look for metric values and task specs (optional). */
  source?: ObjectSource;
  /** The model file, whose `.spec.json` may hold a task's spec (optional). */
  modelFile?: string;
  /** First block to read registry events from (0 by default). */
  registryFromBlock?: number;
}

/**
 * The family tree of a recorded model (`fedledger audit lineage`): traces it to its genesis and adds site
 * names and, when a store is given, verified metric values. Nothing is re-aggregated. Throws a LineageBreak
 * when the model is not recorded on the ledger.
 *
 * @example
 * const doc = await describeLineage({ ledger, provider, modelHash });
 * formatLineage(doc, "mermaid");
 */
export async function describeLineage(params: DescribeLineageParameters): Promise<LineageDocument> {
  const lineage = await traceLineage(params);
  const registry = ConsortiumRegistry__factory.connect(await params.ledger.registry(), params.provider);
  const sites = await readSiteRegistry(
    registry,
    params.registryFromBlock ?? 0,
    lineage.provenance.recordedAtBlock,
  );
  return buildLineageDocument({ lineage, sites, source: params.source, modelFile: params.modelFile });
}
