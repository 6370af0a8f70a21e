/**
 * A site's side of secure aggregation (docs/secure-aggregation.md): advertise keys, share secrets, mask the
 * trained delta, and, once the round's commits are closed, answer the aggregator's unmasking request once.
 *
 * The round's secrets live in this process only (SiteRuntime.secureRounds): they are never written to disk, so
 * a site restarted mid-round cannot rejoin that round's stages and counts as dropped. What the site saves and
 * commits is the masked update; the plaintext delta never leaves the process.
 *
 * Everything the aggregator relays is checked before use: every advertisement's signature and its site's
 * status on the ledger, the site's own advertisement, the shared set, each share (a share that fails to
 * decrypt or is addressed to another site is refused and reported, and the round goes on without it), and the
 * unmasking request against the ledger's commits.
 */
import { getAddress } from "ethers";
import { AggregatorRequestError, requestAggregatorJson } from "../aggregator/client";
import { isFinalRefusal } from "../aggregator/apiError";
import type { RoundInfo } from "../chain";
import { expectedTensors } from "../model/params";
import {
  advertiseKeys,
  answerUnmasking,
  checkAdvertisement,
  createRoundSecrets,
  cryptoUniform,
  maskDelta,
  openShare,
  parseAdvertisement,
  parseSharesForSite,
  parseUnmaskingRequest,
  SecAggError,
  shareSecrets,
  signMessage,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SiteRoundSecrets,
} from "../secagg";
import { sha256Hex } from "../sha256";
import { sleep } from "../sleep";
import { siteEvent } from "./events";
import type { PreparedUpdate } from "./prepareUpdate";
import type { SiteRuntime, SiteTask } from "./runtime";

/** What a site keeps in memory for one secure round. */
export interface SecureRoundState {
  secrets: SiteRoundSecrets;
  /** Its signed advertisement, once the aggregator accepted it. */
  advertisement?: KeyAdvertisement;
  /** Its own shares, once it has shared. */
  own?: HeldShare;
  /** The shared set's advertisements, once the share stage closed. */
  sharedAds?: KeyAdvertisement[];
  /** The shares it holds of the shared sites' secrets (its own included). */
  held: HeldShare[];
  /** Whether it has answered (or refused) the unmasking request. */
  answered: boolean;
}

/** The site cannot take part in this round's secure aggregation; `reason` says why. */
export class SecureRoundUnavailable extends Error {}

const lower = (a: string) => a.toLowerCase();

function roundKey(task: SiteTask, round: RoundInfo): string {
  return `${task.id}:${round.round}:${round.openedAtBlock}`;
}

function contextOf(rt: SiteRuntime, task: SiteTask, round: number): SecAggContext {
  return { chainId: BigInt(rt.chainId), ledger: rt.ledgerAddress, taskId: task.id, round };
}

function path(task: SiteTask, round: number, tail: string): string {
  return `/tasks/${task.id}/rounds/${round}/secagg/${tail}`;
}

async function put(task: SiteTask, where: string, body: unknown): Promise<void> {
  await requestAggregatorJson(task.aggregator, where, {
    retries: 2,
    init: { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  });
}

/** Polls a stage until the aggregator says it is ready, the round's deadline passes, or the service stops. */
async function waitFor(rt: SiteRuntime, task: SiteTask, round: RoundInfo, where: string): Promise<unknown> {
  for (;;) {
    const { body } = await requestAggregatorJson(task.aggregator, where, { retries: 2 });
    if ((body as { ready?: unknown } | undefined)?.ready === true) return body;
    if (Date.now() / 1000 >= round.deadline)
      throw new SecureRoundUnavailable("the round's commit window closed before the stage did");
    if (rt.signal.aborted) throw new SecureRoundUnavailable("the site service is stopping");
    await sleep(Math.min(rt.pollIntervalMs, STAGE_POLL_MS), rt.signal);
  }
}

/** How often a site looks at a secure-aggregation stage it waits for (at most its poll interval). */
const STAGE_POLL_MS = 200;

function state(rt: SiteRuntime, task: SiteTask, round: RoundInfo): SecureRoundState | undefined {
  return rt.secureRounds.get(roundKey(task, round));
}

/** Stages 1 and 2: resolves the shared set's advertisements and the shares this site holds. */
async function keysAndShares(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  onSharesSent: () => void = () => undefined,
): Promise<SecureRoundState> {
  const params = task.spec.secureAggregation;
  if (!params) throw new SecureRoundUnavailable("the task does not use secure aggregation");
  const key = roundKey(task, round);
  const c = contextOf(rt, task, round.round);
  const label = task.id.toString();
  let st = rt.secureRounds.get(key);
  if (!st) {
    st = { secrets: createRoundSecrets(rt.site), held: [], answered: false };
    rt.secureRounds.set(key, st);
  }
  if (st.sharedAds) {
    onSharesSent();
    return st;
  }
  let mine = st.advertisement;
  if (!mine) {
    mine = await advertiseKeys(c, st.secrets, rt.signer);
    try {
      await put(task, path(task, round.round, "advertisement"), mine);
    } catch (err) {
      if (err instanceof AggregatorRequestError && isFinalRefusal(err.code))
        throw new SecureRoundUnavailable(`the aggregator refused the advertisement: ${err.message}`);
      throw err;
    }
    st.advertisement = mine;
    rt.emit(siteEvent("secagg_advertised", { task: label, round: round.round }));
  }

  const listed = (await waitFor(rt, task, round, path(task, round.round, "advertisements"))) as {
    advertisements?: unknown;
  };
  const ads: KeyAdvertisement[] = [];
  for (const raw of Array.isArray(listed.advertisements) ? listed.advertisements : []) {
    const parsed = parseAdvertisement(raw);
    if (!parsed.ok)
      throw new SecureRoundUnavailable(`the aggregator relayed a malformed advertisement: ${parsed.problem}`);
    checkAdvertisement(c, parsed.value);
    if ((await rt.ledger.siteStatus(parsed.value.site)) !== "Active")
      throw new SecureRoundUnavailable(
        `the aggregator relayed keys of ${parsed.value.site}, which is not an Active site`,
      );
    ads.push(parsed.value);
  }
  const own = ads.find((a) => lower(a.site) === lower(rt.site));
  if (!own || own.sPublicKey !== mine.sPublicKey || own.cPublicKey !== mine.cPublicKey)
    throw new SecureRoundUnavailable("this site's own keys are not among the advertised ones");
  if (ads.length < params.threshold)
    throw new SecureRoundUnavailable(
      `${ads.length} site(s) advertised keys; the threshold is ${params.threshold}`,
    );

  if (!st.own) {
    const { encrypted, own: mineShare } = shareSecrets(c, params, st.secrets, ads);
    const body = { from: getAddress(rt.site), shares: encrypted };
    const signature = await signMessage(c, rt.signer, "shares", body);
    try {
      await put(task, path(task, round.round, "shares"), { ...body, signature });
    } catch (err) {
      if (err instanceof AggregatorRequestError && isFinalRefusal(err.code))
        throw new SecureRoundUnavailable(`the aggregator refused the shares: ${err.message}`);
      throw err;
    }
    st.own = mineShare;
  }
  onSharesSent();

  const relayed = parseSharesForSite(
    await waitFor(rt, task, round, path(task, round.round, `shares/${getAddress(rt.site)}`)),
  );
  if (!relayed.ok)
    throw new SecureRoundUnavailable(`the aggregator relayed malformed shares: ${relayed.problem}`);
  const advertised = new Set(ads.map((a) => lower(a.site)));
  const sharedSites = relayed.value.sharedSites;
  if (!sharedSites.every((s) => advertised.has(lower(s))))
    throw new SecureRoundUnavailable("the shared set names a site that did not advertise keys");
  if (!sharedSites.some((s) => lower(s) === lower(rt.site)))
    throw new SecureRoundUnavailable("this site is not in the shared set");
  if (sharedSites.length < params.threshold)
    throw new SecureRoundUnavailable(
      `${sharedSites.length} site(s) shared; the threshold is ${params.threshold}`,
    );
  const inShared = new Set(sharedSites.map(lower));
  const held: HeldShare[] = [st.own];
  for (const share of relayed.value.shares) {
    try {
      if (!inShared.has(lower(share.from)))
        throw new SecAggError("share_undecryptable", `${share.from} is not in the shared set`);
      held.push(openShare(c, st.secrets, ads, share));
    } catch (err) {
      if (!(err instanceof SecAggError)) throw err;
      rt.emit(
        siteEvent("secagg_share_refused", {
          task: label,
          round: round.round,
          from: share.from,
          code: err.code,
          reason: err.message,
        }),
      );
    }
  }
  st.held = held;
  st.sharedAds = ads.filter((a) => inShared.has(lower(a.site)));
  rt.emit(siteEvent("secagg_shared", { task: label, round: round.round, sites: sharedSites.length }));
  return st;
}

/**
 * How long training waits for this site's shares to be sent. Training keeps the process busy, so a site that
 * starts it at once answers the stages only afterwards, and every site waits for the slowest one's training
 * before it can mask. Sites see a new round within a poll of each other, so the advertise stage usually closes
 * well within this; a stage that waits for a dead site does not hold the training longer than this.
 */
const PRE_TRAINING_WAIT_MS = 1_500;

/**
 * Runs stages 1 and 2 beside the training (letting this site's shares go out first, for at most
 * {@link PRE_TRAINING_WAIT_MS}), then masks the trained delta: resolves the update to commit (the masked bytes
 * and their hash). Throws SecureRoundUnavailable when the site cannot take part.
 */
export async function prepareMaskedUpdate(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  train: () => Promise<PreparedUpdate>,
): Promise<PreparedUpdate> {
  const params = task.spec.secureAggregation;
  if (!params) throw new SecureRoundUnavailable("the task does not use secure aggregation");
  let sharesSent: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => (sharesSent = resolve));
  const running = keysAndShares(rt, task, round, sharesSent);
  const settled = running.then(
    () => undefined,
    () => undefined,
  );
  await Promise.race([sent, settled, sleep(PRE_TRAINING_WAIT_MS, rt.signal)]);
  const [stages, trained] = await Promise.allSettled([running, train()]);
  if (stages.status === "rejected") throw stages.reason;
  if (trained.status === "rejected") throw trained.reason;
  const st = stages.value;
  const update = trained.value;
  const masked = maskDelta(
    contextOf(rt, task, round.round),
    params,
    task.aggregationRule,
    st.secrets,
    st.sharedAds ?? [],
    update.bytes,
    expectedTensors(task.spec),
    update.numSamples,
    cryptoUniform(),
  );
  return { ...update, bytes: masked, updateHash: sha256Hex(masked) };
}

/**
 * Stage 4: answers the round's unmasking request once it is published, once per round. `chainTime` is the
 * latest block's time. Resolves true when this round needs no more looks (answered, refused, or nothing to
 * answer with); false to look again later.
 */
export async function answerUnmaskingOnce(
  rt: SiteRuntime,
  task: SiteTask,
  round: RoundInfo,
  chainTime: number,
): Promise<boolean> {
  const st = state(rt, task, round);
  const params = task.spec.secureAggregation;
  if (!st || !st.sharedAds || !params || st.answered) return true;
  const label = task.id.toString();
  const { body } = await requestAggregatorJson(task.aggregator, path(task, round.round, "unmasking"), {
    retries: 2,
  });
  if ((body as { ready?: unknown } | undefined)?.ready !== true)
    return (body as { roundOpen?: unknown } | undefined)?.roundOpen === false;
  const { ready: _ready, ...fields } = body as Record<string, unknown>;
  const parsed = parseUnmaskingRequest(fields);
  const refuse = (code: string, reason: string) => {
    st.answered = true;
    rt.emit(siteEvent("secagg_unmask_refused", { task: label, round: round.round, code, reason }));
    return true;
  };
  if (!parsed.ok) return refuse("bad_message", `the unmasking request is malformed: ${parsed.problem}`);
  const request = parsed.value;
  // A request that names dropped sites is answered only once the commit window is closed, so the ledger's set
  // of committed sites can no longer change.
  if (request.dropped.length > 0 && Math.max(chainTime, Date.now() / 1000) < round.deadline) return false;
  const sites = [...request.survivors, ...request.dropped];
  const committed = new Map<string, boolean>();
  for (const s of sites) committed.set(lower(s), await rt.ledger.hasCommitted(task.id, round.round, s));
  let answer;
  try {
    answer = answerUnmasking(
      params,
      st.secrets,
      st.held,
      st.sharedAds.map((a) => a.site),
      request,
      (s) => committed.get(lower(s)) === true,
    );
  } catch (err) {
    if (!(err instanceof SecAggError)) throw err;
    return refuse(err.code, err.message);
  }
  const c = contextOf(rt, task, round.round);
  const signature = await signMessage(c, rt.signer, "answer", answer);
  try {
    await put(task, path(task, round.round, "unmasking"), { answer, signature });
  } catch (err) {
    if (err instanceof AggregatorRequestError && isFinalRefusal(err.code))
      return refuse(err.code, err.message);
    throw err;
  }
  st.answered = true;
  rt.emit(
    siteEvent("secagg_answered", {
      task: label,
      round: round.round,
      survivors: request.survivors.length,
      dropped: request.dropped.length,
    }),
  );
  return true;
}

/**
 * After uploading: waits for the unmasking request and answers it, looking every 200 ms, until answered, the
 * round has closed, or the service stops. A request that names dropped sites waits for the commit window's end.
 */
export async function awaitUnmasking(rt: SiteRuntime, task: SiteTask, round: RoundInfo): Promise<void> {
  while (!rt.signal.aborted) {
    if (await answerUnmaskingOnce(rt, task, round, 0)) return;
    await sleep(Math.min(rt.pollIntervalMs, STAGE_POLL_MS), rt.signal);
  }
}

/** Forgets the secrets of a round that is over. */
export function forgetSecureRound(rt: SiteRuntime, task: SiteTask, round: RoundInfo): void {
  rt.secureRounds.delete(roundKey(task, round));
}
