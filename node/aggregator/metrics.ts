import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The aggregator's Prometheus metrics, in a registry of their own (several services may share a process). */
export interface AggregatorMetrics {
  registry: Registry;
  uploadsAccepted: Counter<string>;
  uploadsRejected: Counter<"reason">;
  /** Upload body bytes the server consumed (a request refused before its body counts none). */
  uploadBodyBytesRead: Counter<string>;
  /** Upload body bytes reserved by uploads being read now (uploadBudget.ts). */
  uploadBytesInFlight: Gauge<string>;
  /** Driver steps that failed. */
  driverStepFailures: Counter<string>;
  roundsFinalized: Counter<string>;
  roundsAborted: Counter<"reason">;
  aggregationSeconds: Histogram<string>;
  chainWaitSeconds: Histogram<"action">;
}

/** Creates the metrics (names prefixed `fedledger_aggregator_`). */
export function createAggregatorMetrics(): AggregatorMetrics {
  const registry = new Registry();
  const opts = { registers: [registry] };
  return {
    registry,
    uploadsAccepted: new Counter({
      name: "fedledger_aggregator_uploads_accepted_total",
      help: "Uploads stored as accepted (idempotent repeats not counted)",
      ...opts,
    }),
    uploadsRejected: new Counter({
      name: "fedledger_aggregator_uploads_rejected_total",
      help: "Uploads refused, by error code",
      labelNames: ["reason"],
      ...opts,
    }),
    uploadBodyBytesRead: new Counter({
      name: "fedledger_aggregator_upload_body_bytes_read_total",
      help: "Upload body bytes read from clients (refused requests are closed with their body unread)",
      ...opts,
    }),
    uploadBytesInFlight: new Gauge({
      name: "fedledger_aggregator_upload_bytes_in_flight",
      help: "Upload body bytes reserved by the uploads being received now",
      ...opts,
    }),
    driverStepFailures: new Counter({
      name: "fedledger_aggregator_driver_step_failures_total",
      help: "Round driver steps that failed (retried with backoff)",
      ...opts,
    }),
    roundsFinalized: new Counter({
      name: "fedledger_aggregator_rounds_finalized_total",
      help: "Rounds finalised on the chain by this process",
      ...opts,
    }),
    roundsAborted: new Counter({
      name: "fedledger_aggregator_rounds_aborted_total",
      help: "Rounds aborted on the chain by this process, by reason",
      labelNames: ["reason"],
      ...opts,
    }),
    aggregationSeconds: new Histogram({
      name: "fedledger_aggregator_aggregation_seconds",
      help: "Time to aggregate one round's updates",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      ...opts,
    }),
    chainWaitSeconds: new Histogram({
      name: "fedledger_aggregator_chain_wait_seconds",
      help: "Time from sending a transaction to its receipt, by action",
      labelNames: ["action"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60],
      ...opts,
    }),
  };
}
