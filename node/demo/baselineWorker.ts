/**
 * Worker-thread entry that trains the demo's baselines (see evaluation.ts), so they train while the federation
 * runs and the demo's own event loop stays free to follow the rounds.
 */
import { parentPort, workerData } from "node:worker_threads";
import { trainDemoBaselines, type DemoBaselineParameters } from "./evaluation";

process.env.FEDLEDGER_QUIET ??= "1";
trainDemoBaselines(workerData as DemoBaselineParameters).then(
  (report) => parentPort?.postMessage({ report }),
  (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
