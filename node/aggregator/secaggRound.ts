/**
 * The aggregator's side of secure aggregation (docs/secure-aggregation.md): it relays the sites' messages of
 * each stage and decides when a stage closes. Every message is checked where it enters and stored in the round's
 * directory before it counts (ContentStore.putRoundMessage: the first write wins and survives a crash), and the
 * list that closes a stage is stored the same way, so a restarted aggregator relays exactly what it relayed
 * before and never changes a closed stage.
 *
 *   advertise  a signed key advertisement per Active site; closes when every Active site has advertised, or a
 *              quarter of the commit window after the round opened (at least `threshold` needed);
 *   share      each advertiser's encrypted shares for the others, signed; closes when every advertiser's shares
 *              are in, or half the commit window after the opening. The senders form the shared set;
 *   upload     masked updates, committed and uploaded as plaintext ones are;
 *   unmask     the driver publishes the request (survivors: the shared sites whose committed masked update is
 *              stored; dropped: the rest of the shared set), and each survivor answers once, signed.
 */
import { getAddress } from "ethers";
import type { RoundInfo } from "../chain";
import {
  checkAdvertisement,
  messageSigner,
  parseAdvertisement,
  parseAnswerMessage,
  parseSharesMessage,
  sortSites,
  type EncryptedShare,
  type KeyAdvertisement,
  type SecAggContext,
  type SecAggParameters,
  type UnmaskingAnswer,
  type UnmaskingRequest,
} from "../secagg";
import type { ContentStore } from "../store";
import { ApiError } from "./apiError";
import type { AggregatorLedger } from "./ledgerPort";
import type { Logger } from "./log";

/** What the coordinator needs. */
export interface SecAggCoordinatorDependencies {
  taskId: bigint;
  chainId: bigint;
  ledgerAddress: string;
  ledger: AggregatorLedger;
  store: ContentStore;
  log: Logger;
  params: SecAggParameters;
  /** The task's commit window, in seconds (the stages close at fixed fractions of it). */
  commitWindowSeconds: number;
  /** Called when every survivor has answered, so the driver closes the round without waiting for its poll. */
  onAllAnswered?: () => void;
}

/** A stage's list as relayed to the sites. */
export type StageView<T> = { ready: false; closesAt: number } | { ready: true; value: T };

/** The published unmasking request, with when it was published (aggregator clock, Unix seconds). */
export interface PublishedRequest extends UnmaskingRequest {
  publishedAt: number;
}

const lower = (a: string) => a.toLowerCase();
const json = (v: unknown) => `${JSON.stringify(v)}\n`;

/** Relays one task's secure-aggregation messages; see the module comment. */
export class SecAggCoordinator {
  /** The Active site count, read at most once a second while a stage waits for every site. */
  private active: { at: number; count: number } | undefined;

  constructor(private readonly deps: SecAggCoordinatorDependencies) {}

  private async activeSites(): Promise<number> {
    const now = Date.now();
    if (!this.active || now - this.active.at > 1_000)
      this.active = { at: now, count: (await this.deps.ledger.snapshot(this.deps.taskId)).activeSites };
    return this.active.count;
  }

  /** The round's context (what binds every key and signature to it). */
  context(round: number): SecAggContext {
    return {
      chainId: this.deps.chainId,
      ledger: this.deps.ledgerAddress,
      taskId: this.deps.taskId,
      round,
    };
  }

  private openedAt(round: RoundInfo): number {
    return round.deadline - this.deps.commitWindowSeconds;
  }

  /** When the advertise and share stages close at the latest (Unix seconds). */
  stageEnds(round: RoundInfo): { advertise: number; share: number } {
    const opened = this.openedAt(round);
    const window = this.deps.commitWindowSeconds;
    return { advertise: opened + Math.ceil(window / 4), share: opened + Math.ceil(window / 2) };
  }

  private async stored<T>(round: number, name: string): Promise<T | undefined> {
    const text = await this.deps.store.getRoundMessage(this.deps.taskId, round, name);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  private async all<T>(round: number, prefix: string): Promise<T[]> {
    const items = await this.deps.store.listRoundMessages(this.deps.taskId, round, prefix);
    return items.map((i) => JSON.parse(i.text) as T);
  }

  private async requireActive(site: string): Promise<void> {
    const [status] = await this.deps.ledger.siteStatuses([site]);
    if (status !== "Active")
      throw new ApiError("not_active_site", `${site} is not an active site (status ${status})`);
  }

  private requireOpen(round: RoundInfo): void {
    if (round.status !== "Open")
      throw new ApiError("round_not_open", `round ${round.round} is ${round.status}`);
  }

  /**
   * Stores the list that closes a stage (the first stored list wins, so every caller gets the same one) and
   * logs the closing; an empty list means fewer than `threshold` sites took part.
   */
  private async closeStage<T>(round: number, stage: string, name: string, list: T[]): Promise<T[]> {
    const { created, text } = await this.deps.store.putRoundMessage(
      this.deps.taskId,
      round,
      name,
      json(list),
    );
    const value = JSON.parse(text) as T[];
    if (created)
      this.deps.log(value.length > 0 ? "info" : "warn", "secagg_stage_closed", {
        task: this.deps.taskId,
        round,
        stage,
        sites: value.length,
        threshold: this.deps.params.threshold,
      });
    return value;
  }

  /** Stage 1: records a site's signed advertisement. */
  async advertise(round: RoundInfo, body: unknown, now: number): Promise<{ created: boolean }> {
    this.requireOpen(round);
    const parsed = parseAdvertisement(body);
    if (!parsed.ok) throw new ApiError("bad_message", `the advertisement is malformed: ${parsed.problem}`);
    const ad = parsed.value;
    try {
      checkAdvertisement(this.context(round.round), ad);
    } catch (err) {
      throw new ApiError(
        "bad_signature",
        (err as Error).message,
        "Sign the advertisement with the site's key",
      );
    }
    await this.requireActive(ad.site);
    const name = `advertisement-${lower(ad.site)}`;
    const existing = await this.stored<KeyAdvertisement>(round.round, name);
    if (existing) {
      if (existing.signature.toLowerCase() !== ad.signature.toLowerCase())
        throw new ApiError("duplicate", `${ad.site} already advertised other keys for round ${round.round}`);
      return { created: false };
    }
    if ((await this.advertisements(round, now)).ready)
      throw new ApiError("stage_closed", `the advertise stage of round ${round.round} is closed`);
    const { created, text } = await this.deps.store.putRoundMessage(
      this.deps.taskId,
      round.round,
      name,
      json(ad),
    );
    if (
      !created &&
      (JSON.parse(text) as KeyAdvertisement).signature.toLowerCase() !== ad.signature.toLowerCase()
    )
      throw new ApiError("duplicate", `${ad.site} already advertised other keys for round ${round.round}`);
    if (created)
      this.deps.log("info", "secagg_advertised", {
        task: this.deps.taskId,
        round: round.round,
        site: ad.site,
      });
    return { created };
  }

  /**
   * The advertise stage's list once closed (stored on first close), else when it closes at the latest. Closes
   * when every Active site advertised or at its end time; with fewer than `threshold` advertisers by then the
   * list is empty and the round cannot be securely aggregated.
   */
  async advertisements(round: RoundInfo, now: number): Promise<StageView<KeyAdvertisement[]>> {
    const frozen = await this.stored<KeyAdvertisement[]>(round.round, "advertisements");
    if (frozen) return { ready: true, value: frozen };
    const ads = await this.all<KeyAdvertisement>(round.round, "advertisement");
    const end = this.stageEnds(round).advertise;
    const everyone = ads.length > 0 && ads.length >= (await this.activeSites());
    if (!everyone && now < end) return { ready: false, closesAt: end };
    const list = ads.length >= this.deps.params.threshold ? sortAds(ads) : [];
    return { ready: true, value: await this.closeStage(round.round, "advertise", "advertisements", list) };
  }

  /** Stage 2: records a site's signed shares for the other advertisers. */
  async submitShares(round: RoundInfo, body: unknown, now: number): Promise<{ created: boolean }> {
    this.requireOpen(round);
    const parsed = parseSharesMessage(body);
    if (!parsed.ok) throw new ApiError("bad_message", `the shares message is malformed: ${parsed.problem}`);
    const { from, shares, signature } = parsed.value;
    const signer = messageSigner(this.context(round.round), "shares", { from, shares }, signature);
    if (signer !== from)
      throw new ApiError(
        "bad_signature",
        `the shares message is not signed by ${from}`,
        "Sign it with the site's key",
      );
    const ads = await this.advertisements(round, now);
    if (!ads.ready)
      throw new ApiError("stage_pending", "the advertise stage is still open; send the shares after it");
    const advertisers = new Set(ads.value.map((a) => lower(a.site)));
    if (!advertisers.has(lower(from)))
      throw new ApiError("not_in_round", `${from} did not advertise keys in round ${round.round}`);
    const recipients = shares.map((s) => lower(s.to));
    const expected = [...advertisers].filter((a) => a !== lower(from));
    if (
      shares.some((s) => lower(s.from) !== lower(from)) ||
      new Set(recipients).size !== recipients.length ||
      recipients.length !== expected.length ||
      !recipients.every((r) => advertisers.has(r) && r !== lower(from))
    )
      throw new ApiError(
        "bad_message",
        `the shares of ${from} must be one from it to each other advertiser (${expected.length})`,
      );
    const name = `shares-${lower(from)}`;
    const text = json({ from, shares, signature });
    const existing = await this.deps.store.getRoundMessage(this.deps.taskId, round.round, name);
    if (existing !== undefined) {
      if (existing !== text) throw new ApiError("duplicate", `${from} already sent other shares`);
      return { created: false };
    }
    if ((await this.shared(round, now)).ready)
      throw new ApiError("stage_closed", `the share stage of round ${round.round} is closed`);
    const put = await this.deps.store.putRoundMessage(this.deps.taskId, round.round, name, text);
    if (!put.created && put.text !== text)
      throw new ApiError("duplicate", `${from} already sent other shares`);
    if (put.created)
      this.deps.log("info", "secagg_shared", { task: this.deps.taskId, round: round.round, site: from });
    return { created: put.created };
  }

  /** The shared set (sites whose shares arrived) once the share stage closed. */
  async shared(round: RoundInfo, now: number): Promise<StageView<string[]>> {
    const frozen = await this.stored<string[]>(round.round, "shared");
    if (frozen) return { ready: true, value: frozen };
    const ads = await this.advertisements(round, now);
    const end = this.stageEnds(round).share;
    if (!ads.ready) return { ready: false, closesAt: end };
    const senders = (await this.all<{ from: string }>(round.round, "shares")).map((m) => getAddress(m.from));
    if (senders.length < ads.value.length && now < end) return { ready: false, closesAt: end };
    const list = senders.length >= this.deps.params.threshold ? sortSites(senders) : [];
    return { ready: true, value: await this.closeStage(round.round, "share", "shared", list) };
  }

  /** The shared set's advertisements, in site order (empty before the share stage closed). */
  async sharedAdvertisements(round: RoundInfo, now: number): Promise<KeyAdvertisement[]> {
    const shared = await this.shared(round, now);
    const ads = await this.advertisements(round, now);
    if (!shared.ready || !ads.ready) return [];
    const set = new Set(shared.value.map(lower));
    return ads.value.filter((a) => set.has(lower(a.site)));
  }

  /** What one site receives after the share stage: the shared set and the shares sent to it by its members. */
  async sharesFor(
    round: RoundInfo,
    site: string,
    now: number,
  ): Promise<StageView<{ sharedSites: string[]; shares: EncryptedShare[] }>> {
    const shared = await this.shared(round, now);
    if (!shared.ready) return shared;
    const set = new Set(shared.value.map(lower));
    const messages = await this.all<{ from: string; shares: EncryptedShare[] }>(round.round, "shares");
    const shares = messages
      .filter((m) => set.has(lower(m.from)))
      .flatMap((m) => m.shares.filter((s) => lower(s.to) === lower(site)));
    return { ready: true, value: { sharedSites: shared.value, shares } };
  }

  /** The published unmasking request, if any. */
  request(round: number): Promise<PublishedRequest | undefined> {
    return this.stored<PublishedRequest>(round, "request");
  }

  /** Publishes the unmasking request once; a published request never changes. */
  async publishRequest(round: number, request: UnmaskingRequest, now: number): Promise<PublishedRequest> {
    const value: PublishedRequest = {
      survivors: sortSites(request.survivors),
      dropped: sortSites(request.dropped),
      publishedAt: now,
    };
    const { created, text } = await this.deps.store.putRoundMessage(
      this.deps.taskId,
      round,
      "request",
      json(value),
    );
    if (created)
      this.deps.log("info", "secagg_unmasking_requested", {
        task: this.deps.taskId,
        round,
        survivors: value.survivors.length,
        dropped: value.dropped.length,
      });
    return JSON.parse(text) as PublishedRequest;
  }

  /** Stage 4: records a survivor's signed answer. */
  async submitAnswer(round: RoundInfo, body: unknown): Promise<{ created: boolean }> {
    const parsed = parseAnswerMessage(body);
    if (!parsed.ok) throw new ApiError("bad_message", `the answer is malformed: ${parsed.problem}`);
    const { answer, signature } = parsed.value;
    if (messageSigner(this.context(round.round), "answer", answer, signature) !== answer.from)
      throw new ApiError(
        "bad_signature",
        `the answer is not signed by ${answer.from}`,
        "Sign it with the site's key",
      );
    const request = await this.request(round.round);
    if (!request) throw new ApiError("stage_pending", "no unmasking request is published yet");
    if (!request.survivors.some((s) => lower(s) === lower(answer.from)))
      throw new ApiError("not_in_round", `${answer.from} is not a survivor of round ${round.round}`);
    const wanted = (list: { owner: string }[], owners: string[]) =>
      list.length === owners.length && list.every((s, i) => lower(s.owner) === lower(owners[i]));
    if (!wanted(answer.selfMaskShares, request.survivors) || !wanted(answer.maskKeyShares, request.dropped))
      throw new ApiError(
        "bad_message",
        "the answer must hold one share per survivor and per dropped site, in order",
      );
    const text = json({ answer, signature });
    const put = await this.deps.store.putRoundMessage(
      this.deps.taskId,
      round.round,
      `answer-${lower(answer.from)}`,
      text,
    );
    if (!put.created && put.text !== text) throw new ApiError("duplicate", `${answer.from} already answered`);
    if (put.created) {
      this.deps.log("info", "secagg_answered", {
        task: this.deps.taskId,
        round: round.round,
        site: answer.from,
      });
      // The round can be closed as soon as every survivor has answered: tell the driver now.
      if ((await this.answers(round.round)).length >= request.survivors.length) this.deps.onAllAnswered?.();
    }
    return { created: put.created };
  }

  /** The answers received so far. */
  async answers(round: number): Promise<UnmaskingAnswer[]> {
    return (await this.all<{ answer: UnmaskingAnswer }>(round, "answer")).map((m) => m.answer);
  }
}

function sortAds(ads: KeyAdvertisement[]): KeyAdvertisement[] {
  const order = sortSites(ads.map((a) => a.site));
  return order.map((s) => ads.find((a) => lower(a.site) === lower(s)) as KeyAdvertisement);
}
