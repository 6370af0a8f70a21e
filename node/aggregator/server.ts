/**
 * The aggregator's HTTP API (express 5). Routes:
 *
 *   GET /health                              liveness, task, driver state
 *   GET /metrics                             Prometheus text
 *   GET /models/:hash                        any stored object by SHA-256: models and round metrics documents to
 *                                            anyone, a site's update only to a signed read (readAuth.ts)
 *   PUT /tasks/:task/rounds/:round/updates   a signed upload (see envelope.ts, docs/protocol.md)
 *   GET /tasks/:task/rounds/:round           round status: chain state, commits seen, uploads accepted
 *   PUT /tasks/:task/rounds/:round/secagg/advertisement   secure aggregation, stage 1 (secaggRound.ts)
 *   GET /tasks/:task/rounds/:round/secagg/advertisements  the advertise stage's list once closed
 *   PUT /tasks/:task/rounds/:round/secagg/shares          stage 2: a site's encrypted shares
 *   GET /tasks/:task/rounds/:round/secagg/shares/:site    the shared set and the shares sent to :site
 *   GET /tasks/:task/rounds/:round/secagg/unmasking       stage 4: the unmasking request once published
 *   PUT /tasks/:task/rounds/:round/secagg/unmasking       stage 4: a survivor's answer
 *
 * Errors are JSON `{ error, message, hint }` with the status of their code (apiError.ts).
 */
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { getAddress, isAddress, isError } from "ethers";
import { describeChainError, type RoundInfo } from "../chain";
import { normaliseHash, StoreCorruptionError, type ContentStore } from "../store";
import { acceptUpload, type AcceptUploadDependencies, type ReadBody } from "./acceptUpload";
import { ApiError } from "./apiError";
import { parseEnvelope, parsePositiveInteger } from "./envelope";
import type { Logger } from "./log";
import type { AggregatorMetrics } from "./metrics";
import { ReadGuard, UploadIndex, type ReadAuthSettings } from "./readAuth";
import { checkDeclaredLength, declaredLength, readUploadBody } from "./readBody";
import type { RoundDriver } from "./roundDriver";
import type { SecAggCoordinator } from "./secaggRound";
import { roundStatus } from "./roundStatus";
import type { UploadBudget } from "./uploadBudget";

/** What the HTTP layer needs. */
export interface AggregatorAppDependencies extends AcceptUploadDependencies {
  store: ContentStore;
  driver: RoundDriver;
  metrics: AggregatorMetrics;
  log: Logger;
  maxUploadBytes: number;
  /** The caps on upload bytes in flight (total and per site). */
  budget: UploadBudget;
  /** Extra routes under /ledger, given by the service's caller (the off-ledger benchmark serves its ledger there). */
  ledgerRoutes?: Router;
  /** How long a signed read of a site's update is good for (readAuth.ts defaults). */
  readAuth?: Partial<ReadAuthSettings>;
  /** The secure-aggregation relay, when the task's spec asks for secure aggregation. */
  secagg?: SecAggCoordinator;
}

function isOctetStream(req: Request): boolean {
  const type = req.headers["content-type"];
  return typeof type === "string" && type.split(";")[0].trim().toLowerCase() === "application/octet-stream";
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // express.json's refusals: the message never quotes the body.
  const type = (err as { type?: unknown }).type;
  if (type === "entity.parse.failed")
    return new ApiError("bad_message", "the body is not valid JSON", "Send the message as JSON");
  if (type === "entity.too.large") return new ApiError("too_large", "the JSON body is larger than 1 MB");
  // The store's message names the file; the client learns only that the aggregator's copy is bad.
  if (err instanceof StoreCorruptionError)
    return new ApiError(
      "internal",
      "the aggregator's store holds a corrupted copy of this object",
      "Retry later; the aggregator's operator must restore the file its log names",
    );
  const status = (err as { status?: unknown }).status;
  if (typeof status === "number" && status >= 400 && status < 500)
    return new ApiError("bad_request", (err as Error).message);
  if (
    isError(err, "NETWORK_ERROR") ||
    isError(err, "SERVER_ERROR") ||
    isError(err, "TIMEOUT") ||
    isError(err, "CALL_EXCEPTION")
  )
    return new ApiError(
      "chain_unavailable",
      describeChainError(err),
      "Retry later; the aggregator cannot read the chain",
    );
  return new ApiError("internal", "internal error", "Retry later; the aggregator's log has the details");
}

/**
 * Builds the express application.
 *
 * @example
 * const app = createAggregatorApp(deps);
 * app.listen(8760, "127.0.0.1");
 */
export function createAggregatorApp(deps: AggregatorAppDependencies): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.get("/health", (_req, res) => {
    const driver = deps.driver.status();
    res.json({ status: "ok", task: deps.taskId.toString(), ledger: deps.ledgerAddress, driver });
  });

  app.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const uploads = new UploadIndex(deps.store, deps.taskId, async () => {
    const task = await deps.ledger.task(deps.taskId);
    return task?.currentRound ?? 0;
  });
  const readGuard = new ReadGuard({
    domain: { chainId: deps.chainId, ledger: deps.ledgerAddress },
    taskId: deps.taskId,
    readerRoles: (account) => deps.ledger.readerRoles(account),
    settings: deps.readAuth,
  });

  app.get("/models/:hash", async (req, res) => {
    let hash: string;
    try {
      hash = normaliseHash(req.params.hash);
    } catch {
      throw new ApiError(
        "bad_hash",
        `"${req.params.hash}" is not a SHA-256 hash`,
        "Use 0x and 64 hex digits",
      );
    }
    // A site's update is served to signed reads only, unless the same bytes are a recorded (public) model.
    const uploaders = await uploads.sitesOf(hash);
    const guarded = uploaders.length > 0 && !(await deps.ledger.isRecorded(hash));
    if (guarded) {
      const grant = await readGuard.authorize(req.headers, hash, uploaders);
      deps.log("info", "update_read", { task: deps.taskId, hash, reader: grant.reader, right: grant.right });
    }
    const bytes = await deps.store.get(hash);
    if (!bytes) throw new ApiError("not_found", `no object ${hash} in this aggregator's store`);
    res
      .status(200)
      .type("application/octet-stream")
      .set("ETag", `"${hash}"`)
      .set("Cache-Control", guarded ? "private, no-store" : "public, max-age=31536000, immutable")
      .send(bytes);
  });

  app.put("/tasks/:task/rounds/:round/updates", async (req, res) => {
    const site = req.headers["x-fedledger-site"];
    try {
      const env = parseEnvelope(req.params, req.headers);
      if (!isOctetStream(req))
        throw new ApiError("unsupported_media_type", "the body must be sent as application/octet-stream");
      checkDeclaredLength(req, deps.maxUploadBytes);
      const readBody: ReadBody = (keep) => {
        const release = deps.budget.reserve(env.site, declaredLength(req) ?? deps.maxUploadBytes);
        deps.metrics.uploadBytesInFlight.set(deps.budget.bytesInFlight);
        res.once("close", () => {
          release();
          deps.metrics.uploadBytesInFlight.set(deps.budget.bytesInFlight);
        });
        return readUploadBody(req, res, {
          limit: deps.maxUploadBytes,
          expectedHash: env.updateHash,
          keep,
          onBytes: (n) => deps.metrics.uploadBodyBytesRead.inc(n),
        });
      };
      const result = await acceptUpload(deps, env, readBody);
      uploads.add(result.record);
      if (result.created) {
        deps.metrics.uploadsAccepted.inc();
        // The round may be complete now: let the driver look at once rather than at its next poll.
        deps.driver.nudge();
        deps.log("info", "upload_accepted", {
          task: env.task,
          round: env.round,
          site: env.site,
          updateHash: env.updateHash,
          numSamples: env.numSamples,
        });
      }
      res
        .status(result.created ? 201 : 200)
        .json({ accepted: true, created: result.created, record: result.record });
    } catch (err) {
      const api = toApiError(err);
      deps.metrics.uploadsRejected.inc({ reason: api.code });
      deps.log(api.status >= 500 ? "error" : "warn", "upload_rejected", {
        task: req.params.task,
        round: req.params.round,
        site: typeof site === "string" ? site.slice(0, 42) : undefined,
        error: api.code,
        message: api.status >= 500 ? describeChainError(err) : api.message,
      });
      throw api;
    }
  });

  app.get("/tasks/:task/rounds/:round", async (req, res) => {
    const task = parsePositiveInteger(req.params.task, (1n << 256n) - 1n);
    const round = parsePositiveInteger(req.params.round, 0xffffffffn);
    if (task === undefined || round === undefined)
      throw new ApiError("bad_request", "task and round must be positive integers");
    if (task !== deps.taskId)
      throw new ApiError("unknown_task", `this aggregator serves task ${deps.taskId}, not task ${task}`);
    res.json(await roundStatus(deps, Number(round)));
  });

  const roundCache = new Map<number, { at: number; round: RoundInfo }>();
  const secaggRoute = async (req: Request) => {
    const task = parsePositiveInteger(String(req.params.task), (1n << 256n) - 1n);
    const number = parsePositiveInteger(String(req.params.round), 0xffffffffn);
    if (task === undefined || number === undefined)
      throw new ApiError("bad_request", "task and round must be positive integers");
    if (task !== deps.taskId)
      throw new ApiError("unknown_task", `this aggregator serves task ${deps.taskId}, not task ${task}`);
    if (!deps.secagg)
      throw new ApiError("no_secure_aggregation", `task ${deps.taskId} does not use secure aggregation`);
    // Sites poll the stages several times a second: a GET reads the round from the chain at most twice a second.
    const cached = roundCache.get(Number(number));
    const fresh = req.method === "GET" && cached && Date.now() - cached.at < 500;
    const round = fresh ? cached.round : await deps.ledger.round(deps.taskId, Number(number));
    if (!fresh) roundCache.set(Number(number), { at: Date.now(), round });
    if (roundCache.size > 8) roundCache.delete(roundCache.keys().next().value as number);
    if (round.status === "None")
      throw new ApiError("unknown_round", `round ${number} of task ${task} has not been opened`);
    return { secagg: deps.secagg, round, now: Math.floor(Date.now() / 1000) };
  };
  const json = express.json({ limit: "1mb" });
  const secaggBase = "/tasks/:task/rounds/:round/secagg";
  // Every refused secure-aggregation message is logged with its code and sender (never its content).
  const logRefusals =
    (stage: string, handler: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await handler(req, res);
      } catch (err) {
        const api = toApiError(err);
        const body = (req.body ?? {}) as { site?: unknown; from?: unknown; answer?: { from?: unknown } };
        const site = [body.site, body.from, body.answer?.from].find(
          (v): v is string => typeof v === "string",
        );
        deps.log(api.status >= 500 ? "error" : "warn", "secagg_message_rejected", {
          task: req.params.task,
          round: req.params.round,
          stage,
          site: site?.slice(0, 42),
          error: api.code,
          message: api.message,
        });
        throw err;
      }
    };
  app.put(
    `${secaggBase}/advertisement`,
    json,
    logRefusals("advertise", async (req, res) => {
      const { secagg, round, now } = await secaggRoute(req);
      const { created } = await secagg.advertise(round, req.body, now);
      res.status(created ? 201 : 200).json({ accepted: true, created });
    }),
  );
  app.get(`${secaggBase}/advertisements`, async (req, res) => {
    const { secagg, round, now } = await secaggRoute(req);
    const view = await secagg.advertisements(round, now);
    res.json(view.ready ? { ready: true, advertisements: view.value } : view);
  });
  app.put(
    `${secaggBase}/shares`,
    json,
    logRefusals("share", async (req, res) => {
      const { secagg, round, now } = await secaggRoute(req);
      const { created } = await secagg.submitShares(round, req.body, now);
      res.status(created ? 201 : 200).json({ accepted: true, created });
    }),
  );
  app.get(`${secaggBase}/shares/:site`, async (req, res) => {
    const { secagg, round, now } = await secaggRoute(req);
    const site = String(req.params.site);
    if (!isAddress(site)) throw new ApiError("bad_request", "the site must be a 0x address");
    const view = await secagg.sharesFor(round, getAddress(site), now);
    res.json(view.ready ? { ready: true, ...view.value } : view);
  });
  app.get(`${secaggBase}/unmasking`, async (req, res) => {
    const { secagg, round } = await secaggRoute(req);
    const request = await secagg.request(round.round);
    res.json(
      request
        ? { ready: true, survivors: request.survivors, dropped: request.dropped }
        : { ready: false, closesAt: round.deadline, roundOpen: round.status === "Open" },
    );
  });
  app.put(
    `${secaggBase}/unmasking`,
    json,
    logRefusals("unmask", async (req, res) => {
      const { secagg, round } = await secaggRoute(req);
      const { created } = await secagg.submitAnswer(round, req.body);
      res.status(created ? 201 : 200).json({ accepted: true, created });
    }),
  );

  if (deps.ledgerRoutes) app.use("/ledger", deps.ledgerRoutes);

  app.use((_req, _res, next) => next(new ApiError("not_found", "no such endpoint", "See docs/protocol.md")));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const api = toApiError(err);
    if (api.code === "internal" || api.code === "chain_unavailable")
      deps.log("error", "request_failed", {
        method: req.method,
        path: req.path,
        error: describeChainError(err),
        ...(err instanceof StoreCorruptionError ? { file: err.file } : {}),
      });
    if (api.retryAfterSeconds !== undefined) res.set("Retry-After", String(api.retryAfterSeconds));
    // A request refused before its body was read is answered and its connection closed: the body is never
    // read, buffered or drained.
    if (req.method !== "GET" && req.method !== "HEAD" && !req.complete) {
      res.set("Connection", "close");
      res.once("finish", () => req.socket.destroy());
    }
    res.status(api.status).json(api.toJSON());
  });
  return app;
}
