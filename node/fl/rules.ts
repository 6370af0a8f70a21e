import { FedledgerError } from "../errors";
import { fedAvg } from "./fedavg";
import { fedAvgSparse } from "./fedavgSparse";
import { median } from "./median";
import { multiKrum } from "./multiKrum";
import { normClipped } from "./normClipped";
import type { AggregationRule } from "./rule";
import { trimmedMean } from "./trimmedMean";

/** Every aggregation rule this build knows, by on-chain id. */
export const AGGREGATION_RULES: ReadonlyMap<number, AggregationRule> = new Map([
  [fedAvg.id, fedAvg],
  [fedAvgSparse.id, fedAvgSparse],
  [median.id, median],
  [trimmedMean.id, trimmedMean],
  [normClipped.id, normClipped],
  [multiKrum.id, multiKrum],
]);

/**
 * The aggregation rule behind an on-chain rule id; throws a FedledgerError for an unknown id.
 *
 * @example
 * const rule = getAggregationRule(1); // fedAvg
 */
export function getAggregationRule(id: number | bigint): AggregationRule {
  const rule = AGGREGATION_RULES.get(Number(id));
  if (!rule) {
    const known = [...AGGREGATION_RULES.values()].map((r) => `${r.id} = ${r.name}`).join(", ");
    throw new FedledgerError(`unknown aggregation rule ${id}`, {
      hint: `This build knows ${known}; upgrade fedledger or create the task with a known rule`,
    });
  }
  return rule;
}
