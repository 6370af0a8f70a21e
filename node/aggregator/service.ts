/**
 * The aggregator service: checks that the configured task matches the model spec and genesis model, then runs
 * the HTTP API and the round driver side by side.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Provider } from "ethers";
import type { ConsortiumRegistry, TrainingLedger } from "../../typechain-types";
import { FedledgerError } from "../errors";
import { getAggregationRule } from "../fl/rules";
import { checkUpdate, UpdateCheckError } from "../fl/updateCheck";
import { hashModelBytes } from "../model/format";
import { expectedTensors } from "../model/params";
import { specHash, type ModelSpec } from "../model/spec";
import type { ContentStore } from "../store";
import type { AggregatorLedger } from "./ledgerPort";
import { LedgerView } from "./ledgerView";
import { OffChainLedger } from "./offChainLedger";
import { offChainLedgerRoutes } from "./offChainRoutes";
import { jsonLineLogger, type Logger } from "./log";
import { createAggregatorMetrics, type AggregatorMetrics } from "./metrics";
import { RoundDriver } from "./roundDriver";
import { RoundGates } from "./roundGates";
import { createAggregatorApp } from "./server";

/** Everything the service needs, already connected and loaded. */
export interface AggregatorServiceParameters {
  /** The ledger, connected to the aggregator's signer (not needed with `ledgerPort`). */
  ledger?: TrainingLedger;
  registry?: ConsortiumRegistry;
  /** Provider of the chain; it should not cache requests (ethers JsonRpcProvider option cacheTimeout: -1). */
  provider?: Provider;
  /**
   * Another implementation of the ledger port instead of the contracts: an OffChainLedger runs the rounds with
   * no chain at all (benchmarks only, see ledgerPort.ts); its endpoints for sites are served under /ledger.
   */
  ledgerPort?: AggregatorLedger;
  chainId: bigint | number;
  taskId: bigint | number;
  spec: ModelSpec;
  /** The genesis model bytes (their hash must equal the task's genesisModelHash). */
  genesis: Uint8Array;
  store: ContentStore;
  /** Interface to listen on (127.0.0.1 by default). */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  maxUploadBytes: number;
  pollIntervalMs: number;
  uploadGraceSeconds: number;
  log?: Logger;
}

/** A running aggregator. */
export interface AggregatorService {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8760 */
  url: string;
  port: number;
  driver: RoundDriver;
  metrics: AggregatorMetrics;
  /** Resolves when the driver has closed every planned round (or was stopped). */
  driverDone: Promise<void>;
  /** Stops the driver and the HTTP server. Idempotent. */
  stop(): Promise<void>;
}

async function checkTask(
  params: AggregatorServiceParameters,
  view: AggregatorLedger,
  taskId: bigint,
  signer: string,
) {
  const task = await view.task(taskId);
  if (!task)
    throw new FedledgerError(`task ${taskId} does not exist on the ledger`, {
      hint: "Create it with `fedledger task create` or set taskId in the config",
    });
  const wantSpec = specHash(params.spec);
  if (wantSpec !== task.specHash.toLowerCase())
    throw new FedledgerError(
      `the model spec hashes to ${wantSpec}, but task ${taskId} was created with spec hash ${task.specHash}`,
      { hint: "Point modelSpec at the spec file the task was created from" },
    );
  const genesisHash = hashModelBytes(params.genesis);
  if (genesisHash !== task.genesisModelHash.toLowerCase())
    throw new FedledgerError(
      `the genesis model hashes to ${genesisHash}, but task ${taskId} records ${task.genesisModelHash}`,
      { hint: "Point genesisModel at the model file the task was created with" },
    );
  try {
    checkUpdate(params.genesis, expectedTensors(params.spec));
  } catch (err) {
    if (err instanceof UpdateCheckError)
      throw new FedledgerError(`the genesis model does not fit the spec: ${err.message}`, { hint: err.hint });
    throw err;
  }
  getAggregationRule(task.aggregationRule);
  if (!(await view.isAggregator(signer)))
    throw new FedledgerError(`${signer} does not hold the aggregator role`, {
      hint: "Ask the admins to grant it (`fedledger role vote aggregator <address> --grant`) or sign with the aggregator key",
    });
  return task;
}

/**
 * Starts the aggregator: validates the task against the spec and genesis model, stores the genesis model,
 * listens for HTTP, and starts the round driver. Throws a FedledgerError naming what does not match.
 *
 * @example
 * const service = await startAggregatorService({ ledger, registry, provider, chainId, taskId: 1n, spec, genesis,
 *   store, port: 0, maxUploadBytes: 64 << 20, pollIntervalMs: 1000, uploadGraceSeconds: 30 });
 * await service.driverDone;
 */
export async function startAggregatorService(
  params: AggregatorServiceParameters,
): Promise<AggregatorService> {
  const taskId = BigInt(params.taskId);
  const chainId = BigInt(params.chainId);
  const log = params.log ?? jsonLineLogger();
  let view: AggregatorLedger;
  if (params.ledgerPort) view = params.ledgerPort;
  else if (params.ledger && params.registry && params.provider)
    view = new LedgerView(params.ledger, params.registry, params.provider);
  else throw new FedledgerError("the aggregator needs the ledger, the registry and a provider");
  const signer = await view.signerAddress();
  if (!signer) throw new FedledgerError("the aggregator needs the ledger connected to a signer");
  await checkTask(params, view, taskId, signer);
  await params.store.put(params.genesis);

  const ledgerAddress = view.ledgerAddress;
  const metrics = createAggregatorMetrics();
  const gates = new RoundGates();
  const driver = new RoundDriver({
    taskId,
    view,
    store: params.store,
    gates,
    metrics,
    log,
    pollIntervalMs: params.pollIntervalMs,
    uploadGraceSeconds: params.uploadGraceSeconds,
  });
  const app = createAggregatorApp({
    taskId,
    chainId,
    ledgerAddress,
    view,
    store: params.store,
    gates,
    layout: expectedTensors(params.spec),
    driver,
    metrics,
    log,
    maxUploadBytes: params.maxUploadBytes,
    ledgerRoutes: view instanceof OffChainLedger ? offChainLedgerRoutes(view, chainId) : undefined,
  });

  const host = params.host ?? "127.0.0.1";
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(params.port, host);
    s.once("listening", () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new FedledgerError(`port ${params.port} on ${host} is already in use`, {
              hint: "Stop the other process or set listen.port in the config",
            })
          : err,
      ),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log("info", "aggregator_started", { task: taskId, url, ledger: ledgerAddress, aggregator: signer });

  const driverDone = driver.run();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      driver.stop();
      await driverDone;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      log("info", "aggregator_stopped", { task: taskId });
    })();
    return stopping;
  };
  return { url, port, driver, metrics, driverDone, stop };
}
