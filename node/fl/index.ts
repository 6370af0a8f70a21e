/**
 * The federated protocol's pure pieces: aggregation rules, the update Merkle tree, signed uploads, metrics
 * hashing and update checks. No chain, network or disk access here; docs/aggregation.md and docs/protocol.md
 * specify each piece for independent re-implementation.
 */
export { AggregationError, type AggregationRule, type UpdateSource } from "./rule";
export { fedAvg, fedAvgAggregate, MAX_TOTAL_SAMPLES } from "./fedavg";
export { fedAvgSparse, fedAvgSparseAggregate } from "./fedavgSparse";
export { median, medianAggregate, sortedMedian } from "./median";
export { trimmedMean, trimmedMeanAggregate, trimCount, sortedTrimmedMean } from "./trimmedMean";
export { normClipped, normClippedAggregate, clipFactors, deltaNorm, type ClipFactors } from "./normClipped";
export { multiKrum, multiKrumAggregate, krumByzantine, krumSelect, type KrumSelection } from "./multiKrum";
export { DEFAULT_CHUNK_BUDGET, type CoordinateRuleOptions } from "./coordinateChunks";
export { AGGREGATION_RULES, getAggregationRule } from "./rules";
export {
  buildUpdateTree,
  commitLeaf,
  verifyUpdateProof,
  LEAF_ENCODING,
  type UpdateLeaf,
  type UpdateTree,
} from "./merkle";
export {
  recoverUpdateSigner,
  signUpdate,
  updateDigest,
  updateDomain,
  UPDATE_TYPES,
  type TypedDataSigner,
  type UpdateDomainParameters,
  type UpdateMessage,
} from "./signature";
export {
  canonicalJson,
  metricsHash,
  metricsSchema,
  parseMetrics,
  MAX_METRICS_BYTES,
  type Metrics,
} from "./metrics";
export {
  checkFinite,
  checkUpdate,
  checkUpdateLayout,
  UpdateCheckError,
  type TensorLayout,
  type UpdateProblem,
} from "./updateCheck";
export { compareSites, normaliseSite, sortBySite } from "./siteOrder";
