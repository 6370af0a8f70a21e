/**
 * HTTP endpoints of the in-memory ledger (ledger.ts), which the off-ledger benchmark's aggregator serves under
 * /ledger beside its API (startAggregatorService's `ledgerRoutes`). They give a site what it would otherwise read from and send to the
 * TrainingLedger:
 *
 *   GET  /ledger/tasks/:task/sites/:site              the task, its current round, the site's status, the time
 *   GET  /ledger/tasks/:task/rounds/:round/commits/:site   whether the site committed, and the leaf
 *   POST /ledger/tasks/:task/rounds/:round/commits    a commit, signed like an upload (EIP-712 Update)
 *
 * Refusals are JSON `{ error, message, hint }`; a refused commit answers 409 with the rule it broke
 * (already_committed, commit_window_closed, round_not_open), or 403 not_active_site.
 */
import express, { type Request, type Response, type Router } from "express";
import { getAddress, isAddress, ZeroHash } from "ethers";
import { z } from "zod";
import { recoverUpdateSigner } from "../../node/fl";
import { OffChainCommitError, type OffChainLedger } from "./ledger";

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 0x and 64 hex digits");
const commitBody = z
  .object({
    site: z.string().refine((v) => isAddress(v), "must be an address"),
    updateHash: hex32,
    numSamples: z.string().regex(/^[1-9][0-9]{0,19}$/, "must be a positive decimal integer"),
    metricsHash: hex32,
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature"),
  })
  .strict();

function refuse(res: Response, status: number, error: string, message: string, hint = ""): void {
  res.status(status).json({ error, message, hint });
}

function param(req: Request, name: string): string | undefined {
  const value: unknown = req.params[name];
  return typeof value === "string" ? value : undefined;
}

function ids(req: Request): { task: bigint; round?: number; site?: string } | undefined {
  const taskText = param(req, "task") ?? "";
  const task = /^[1-9][0-9]{0,30}$/.test(taskText) ? BigInt(taskText) : undefined;
  const roundText = param(req, "round");
  const siteText = param(req, "site");
  const site = siteText !== undefined && isAddress(siteText) ? getAddress(siteText) : undefined;
  const round =
    roundText === undefined ? undefined : /^[1-9][0-9]{0,9}$/.test(roundText) ? Number(roundText) : NaN;
  if (task === undefined || Number.isNaN(round) || (siteText !== undefined && !site)) return undefined;
  return { task, round, site };
}

/**
 * The /ledger router of an off-chain ledger; `chainId` and the ledger's address form the signature domain.
 *
 * @example
 * app.use("/ledger", offChainLedgerRoutes(ledger, 31337n));
 */
export function offChainLedgerRoutes(ledger: OffChainLedger, chainId: bigint): Router {
  const router = express.Router();

  router.get("/tasks/:task/sites/:site", async (req, res) => {
    const p = ids(req);
    if (!p?.site) return refuse(res, 400, "bad_request", "malformed task or site");
    const task = await ledger.task(p.task);
    if (!task) return refuse(res, 404, "unknown_task", `no task ${p.task} on this off-chain ledger`);
    const snap = await ledger.snapshot(p.task);
    const [siteStatus] = await ledger.siteStatuses([p.site]);
    res.json({ task: snap.task, round: snap.round ?? null, siteStatus, chainTime: snap.chainTime });
  });

  router.get("/tasks/:task/rounds/:round/commits/:site", async (req, res) => {
    const p = ids(req);
    if (!p?.site || p.round === undefined)
      return refuse(res, 400, "bad_request", "malformed task, round or site");
    const [leaf] = await ledger.commitLeaves(p.task, p.round, [p.site]);
    res.json({ committed: leaf !== ZeroHash, leaf });
  });

  router.post("/tasks/:task/rounds/:round/commits", express.json({ limit: "4kb" }), async (req, res) => {
    const p = ids(req);
    if (!p || p.round === undefined) return refuse(res, 400, "bad_request", "malformed task or round");
    const parsed = commitBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse(res, 400, "bad_request", `${issue.path.join(".") || "body"}: ${issue.message}`);
    }
    const b = parsed.data;
    const site = getAddress(b.site);
    const message = {
      taskId: p.task,
      round: p.round,
      updateHash: b.updateHash.toLowerCase(),
      numSamples: BigInt(b.numSamples),
      metricsHash: b.metricsHash.toLowerCase(),
    };
    let signer: string | undefined;
    try {
      signer = recoverUpdateSigner({ chainId, ledger: ledger.ledgerAddress }, message, b.signature);
    } catch {
      signer = undefined;
    }
    if (signer !== site)
      return refuse(res, 401, "bad_signature", `the commit is not signed by ${site}`, "Sign with signUpdate");
    try {
      const block = ledger.commit(
        p.task,
        p.round,
        site,
        message.updateHash,
        message.numSamples,
        message.metricsHash,
      );
      const [leaf] = await ledger.commitLeaves(p.task, p.round, [site]);
      res.status(201).json({ committed: true, block, leaf });
    } catch (err) {
      if (!(err instanceof OffChainCommitError)) throw err;
      const status = err.refusal === "not_active_site" ? 403 : err.refusal === "zero_value" ? 400 : 409;
      refuse(res, status, err.refusal, err.message);
    }
  });
  return router;
}
