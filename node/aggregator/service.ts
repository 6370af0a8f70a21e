/**
 * The aggregator service: checks that the configured task matches the model spec and genesis model, then runs
 * the HTTP API and the round driver side by side.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Router } from "express";
import { FedledgerError } from "../errors";
import { getAggregationRule, checkUpdate, UpdateCheckError } from "../fl";
import { hashModelBytes } from "../model/format";
import { expectedTensors } from "../model/params";
import { specBytes, specHash, type ModelSpec } from "../model/spec";
import type { ContentStore } from "../store";
import type { AggregatorLedger } from "./ledgerPort";
import { jsonLineLogger, type Logger } from "./log";
import { DEFAULT_HTTP, DEFAULT_LIMITS } from "./config";
import { createAggregatorMetrics, type AggregatorMetrics } from "./metrics";
import { RoundDriver } from "./roundDriver";
import { RoundGates } from "./roundGates";
import { MaskedSums } from "./maskedSums";
import { SecAggCoordinator } from "./secaggRound";
import { maskedLayout, SECURE_RULES } from "../secagg";
import type { ReadAuthSettings } from "./readAuth";
import { createAggregatorApp } from "./server";
import { UploadBudget } from "./uploadBudget";
import { updateLimitsFor } from "./updateLimits";

/** Everything the service needs, already connected and loaded. */
export interface AggregatorServiceParameters {
  /**
   * The ledger port (ledgerPort.ts), its writes sent from the aggregator's key: an OnChainAggregatorLedger for the
   * contracts (runFromConfig.ts builds it), or another implementation from the caller.
   */
  ledger: AggregatorLedger;
  /** Routes the caller serves under /ledger beside the API (the off-ledger benchmark's ledger for sites). */
  ledgerRoutes?: Router;
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
  /** Caps on upload bytes in flight, the update limits, the driver's longest retry delay (config.ts defaults). */
  limits?: Partial<AggregatorLimits>;
  /** HTTP server timeouts and connection cap (config.ts defaults). */
  http?: Partial<AggregatorHttpSettings>;
  /** How long a signed read of a site's update is good for (readAuth.ts defaults). */
  readAuth?: Partial<ReadAuthSettings>;
  log?: Logger;
}

/** The limits of {@link AggregatorServiceParameters}; docs/protocol.md explains each. */
export interface AggregatorLimits {
  maxUploadBytesInFlight: number;
  maxUploadBytesInFlightPerSite: number;
  retryAfterSeconds: number;
  maxNumSamples: number;
  maxUpdateNorm: number | null;
  maxRetryDelayMs: number;
}

/** The HTTP settings of {@link AggregatorServiceParameters}. */
export interface AggregatorHttpSettings {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A running aggregator. */
export interface AggregatorService {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8760 */
  url: string;
  port: number;
  /** The HTTP server (its timeouts and connection cap are set from the parameters). */
  server: Server;
  driver: RoundDriver;
  metrics: AggregatorMetrics;
  /** Resolves when the driver has closed every planned round (or was stopped). */
  driverDone: Promise<void>;
  /** Stops the driver and the HTTP server. Idempotent. */
  stop(): Promise<void>;
}

async function checkTask(
  params: AggregatorServiceParameters,
  ledger: AggregatorLedger,
  taskId: bigint,
  signer: string,
) {
  const task = await ledger.task(taskId);
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
  if (params.spec.secureAggregation && !SECURE_RULES.has(task.aggregationRule))
    throw new FedledgerError(
      `task ${taskId} uses aggregation rule ${task.aggregationRule}, which cannot run on securely aggregated sums`,
      {
        hint: "Create the task with rule 1 (FedAvg) or 2 (sparse FedAvg), or leave secureAggregation out of the spec",
      },
    );
  if (!(await ledger.isAggregator(signer)))
    throw new FedledgerError(`${signer} does not hold the aggregator role`, {
      hint: "Ask the admins to grant it (`fedledger role grant aggregator <address>`) or sign with the aggregator key",
    });
  return task;
}

/**
 * Starts the aggregator: validates the task against the spec and genesis model, stores the genesis model,
 * listens for HTTP, and starts the round driver. Throws a FedledgerError naming what does not match.
 *
 * @example
 * const ledger = new OnChainAggregatorLedger(trainingLedger, registry, provider);
 * const service = await startAggregatorService({ ledger, chainId, taskId: 1n, spec, genesis, store, port: 0,
 *   maxUploadBytes: 64 << 20, pollIntervalMs: 1000, uploadGraceSeconds: 30 });
 * await service.driverDone;
 */
export async function startAggregatorService(
  params: AggregatorServiceParameters,
): Promise<AggregatorService> {
  const taskId = BigInt(params.taskId);
  const chainId = BigInt(params.chainId);
  const log = params.log ?? jsonLineLogger();
  const { ledger } = params;
  const signer = await ledger.signerAddress();
  if (!signer) throw new FedledgerError("the aggregator needs the ledger connected to a signer");
  const task = await checkTask(params, ledger, taskId, signer);
  await params.store.put(params.genesis);
  // The spec's canonical JSON under its on-chain hash, so an auditor can fetch it (ε recomputation).
  await params.store.put(specBytes(params.spec));

  const ledgerAddress = ledger.ledgerAddress;
  const metrics = createAggregatorMetrics();
  const gates = new RoundGates();
  const limits: AggregatorLimits = { ...DEFAULT_LIMITS, ...params.limits };
  const httpSettings: AggregatorHttpSettings = { ...DEFAULT_HTTP, ...params.http };
  const updateLimits = updateLimitsFor(taskId, limits);
  const layout = expectedTensors(params.spec);
  const secureSpec = params.spec.secureAggregation;
  const sums = secureSpec ? new MaskedSums(layout, task.aggregationRule) : undefined;
  const secure = secureSpec && {
    coordinator: new SecAggCoordinator({
      taskId,
      chainId,
      ledgerAddress,
      ledger,
      store: params.store,
      log,
      params: secureSpec,
      commitWindowSeconds: task.commitWindowSeconds,
      onAllAnswered: () => driver.nudge(),
    }),
    params: secureSpec,
    layout,
    answerWaitSeconds: params.uploadGraceSeconds,
    sums,
  };
  const driver = new RoundDriver({
    taskId,
    ledger,
    store: params.store,
    gates,
    metrics,
    log,
    pollIntervalMs: params.pollIntervalMs,
    uploadGraceSeconds: params.uploadGraceSeconds,
    limits: updateLimits,
    maxRetryDelayMs: limits.maxRetryDelayMs,
    secure,
  });
  const app = createAggregatorApp({
    taskId,
    chainId,
    ledgerAddress,
    ledger,
    store: params.store,
    gates,
    layout: secure ? maskedLayout(layout, task.aggregationRule) : layout,
    masked: secure !== undefined,
    onStored: sums && ((record, body) => sums.add(record.round, record.site, record.updateHash, body)),
    secagg: secure?.coordinator,
    driver,
    metrics,
    log,
    maxUploadBytes: params.maxUploadBytes,
    limits: updateLimits,
    budget: new UploadBudget({
      total: limits.maxUploadBytesInFlight,
      perSite: limits.maxUploadBytesInFlightPerSite,
      retryAfterSeconds: limits.retryAfterSeconds,
    }),
    ledgerRoutes: params.ledgerRoutes,
    readAuth: params.readAuth,
  });

  const host = params.host ?? "127.0.0.1";
  // Timeouts and the connection cap are set explicitly (not left to Node's defaults), and the timeouts are
  // checked every second so a slow client is cut off close to its limit.
  const server = createServer(
    {
      requestTimeout: httpSettings.requestTimeoutMs,
      headersTimeout: httpSettings.headersTimeoutMs,
      keepAliveTimeout: httpSettings.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, httpSettings.headersTimeoutMs),
    },
    app,
  );
  server.maxConnections = httpSettings.maxConnections;
  // `Expect: 100-continue` goes to the app too: the 100 is sent only when the upload's checks have passed and
  // its body is about to be read (readBody.ts), so a refused client never sends its body.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "PUT" || !/\/updates\/?(\?|$)/.test(req.url ?? "")) res.writeContinue();
    app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    const s = server.listen(params.port, host);
    s.once("listening", () => resolve());
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
  if (!isLoopbackHost(host))
    log("warn", "listening_beyond_loopback", {
      task: taskId,
      host,
      hint: "Anyone who can reach this address can call the API; put it behind TLS and a firewall that admits the sites only, or listen on 127.0.0.1",
    });

  const driverDone = driver.run();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      driver.stop();
      await driver.stopped();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      log("info", "aggregator_stopped", { task: taskId });
    })();
    return stopping;
  };
  return { url, port, server, driver, metrics, driverDone, stop };
}
