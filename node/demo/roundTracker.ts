/**
 * Follows a task's rounds from two sources: the ledger's events (RoundOpened, UpdateCommitted,
 * RoundFinalized, RoundAborted) and the aggregator's round status endpoint (uploads it accepted, whether it
 * still accepts uploads). Each poll returns what changed, in words, so a display can show a live table or
 * print one line per change. It also cross-checks every accepted upload against the site's commit on the
 * chain (same update hash): that is the "verified" count.
 */
import { zeroPadValue, toBeHex, type JsonRpcProvider } from "ethers";
import { z } from "zod";
import type { TrainingLedger } from "../../typechain-types";
import { ABORT_REASONS } from "../chain";

/** One round as the demo sees it. */
export interface RoundProgress {
  round: number;
  status: "Open" | "Finalized" | "Aborted";
  baseModelHash: string;
  /** Unix seconds when the commit window closes. */
  deadline: number;
  /** Committed update hash per site address (lower case). */
  commits: Map<string, string>;
  /** Accepted upload's update hash per site address (lower case). */
  uploads: Map<string, string>;
  /** Sites whose accepted upload has the same hash as their commit on the chain. */
  verified: number;
  /** True once the aggregator stopped accepting uploads for the round (it is aggregating). */
  sealed: boolean;
  modelHash?: string;
  updatesRoot?: string;
  includedCount?: number;
  abortReason?: number;
  /** Wall-clock milliseconds when the demo saw the round open and close. */
  openedAt: number;
  closedAt?: number;
}

/** What the tracker knows after a poll. */
export interface TrackerSnapshot {
  rounds: RoundProgress[];
  /** Whether every planned round is closed. */
  done: boolean;
}

const statusSchema = z.object({
  status: z.string(),
  acceptingUploads: z.boolean(),
  uploads: z.array(z.object({ site: z.string(), updateHash: z.string() })),
});

/** Options of {@link RoundTracker}. */
export interface RoundTrackerParameters {
  ledger: TrainingLedger;
  provider: JsonRpcProvider;
  taskId: bigint;
  roundsPlanned: number;
  /** The aggregator's base URL; without it only the chain is followed. */
  aggregatorUrl?: string;
  /** First block to read events from (the task's creation block). */
  fromBlock: number;
  /** Display names of site addresses, for the change lines. */
  siteNames?: Map<string, string>;
}

function short(hash: string): string {
  return `${hash.slice(0, 10)}…`;
}

/** Follows one task's rounds; call {@link poll} repeatedly. */
export class RoundTracker {
  private readonly rounds = new Map<number, RoundProgress>();
  /** Closed rounds whose final aggregator status was read. */
  private readonly settled = new Set<number>();
  private nextBlock: number;
  /** Hash of block nextBlock − 1 when it was read: a different hash later means the chain went back. */
  private lastReadHash: string | undefined;

  constructor(private readonly params: RoundTrackerParameters) {
    this.nextBlock = params.fromBlock;
  }

  /**
   * Whether the blocks read so far are still the chain's: a node restarted from a state saved a moment earlier
   * goes back a few blocks, and the blocks it mines next differ from the ones read. Then everything is read
   * again from the first block.
   */
  private async checkNoRewind(changes: string[]): Promise<void> {
    if (this.lastReadHash === undefined) return;
    const block = await this.params.provider.getBlock(this.nextBlock - 1);
    if (block?.hash === this.lastReadHash) return;
    changes.push(
      `the chain no longer has block ${this.nextBlock - 1} as read (was its node restarted from older saved state?); reading its events again`,
    );
    this.rounds.clear();
    this.settled.clear();
    this.nextBlock = this.params.fromBlock;
    this.lastReadHash = undefined;
  }

  /** The rounds seen so far, oldest first. */
  snapshot(): TrackerSnapshot {
    const rounds = [...this.rounds.values()].sort((a, b) => a.round - b.round);
    const closed = rounds.filter((r) => r.status !== "Open").length;
    return { rounds, done: closed >= this.params.roundsPlanned };
  }

  private name(site: string): string {
    return this.params.siteNames?.get(site.toLowerCase()) ?? site;
  }

  /** Reads new events and the current round's status at the aggregator; returns the changes in words. */
  async poll(): Promise<string[]> {
    const changes: string[] = [];
    await this.readEvents(changes);
    await this.readAggregator(changes);
    return changes;
  }

  private async readEvents(changes: string[]): Promise<void> {
    const { ledger, provider, taskId } = this.params;
    await this.checkNoRewind(changes);
    const head = await provider.getBlock("latest");
    if (!head || head.number < this.nextBlock) return;
    const latest = head.number;
    const iface = ledger.interface;
    const topics = (["RoundOpened", "UpdateCommitted", "RoundFinalized", "RoundAborted"] as const).map(
      (name) => iface.getEvent(name).topicHash,
    );
    const logs = await provider.getLogs({
      address: await ledger.getAddress(),
      fromBlock: this.nextBlock,
      toBlock: latest,
      topics: [topics, zeroPadValue(toBeHex(taskId), 32)],
    });
    this.nextBlock = latest + 1;
    this.lastReadHash = head.hash ?? undefined;
    for (const log of logs) {
      const event = iface.parseLog(log);
      if (!event) continue;
      const round = Number(event.args.round);
      const now = Date.now();
      if (event.name === "RoundOpened") {
        this.rounds.set(round, {
          round,
          status: "Open",
          baseModelHash: event.args.baseModelHash,
          deadline: Number(event.args.deadline),
          commits: new Map(),
          uploads: new Map(),
          verified: 0,
          sealed: false,
          openedAt: now,
        });
        changes.push(`round ${round}: opened from model ${short(event.args.baseModelHash)}`);
        continue;
      }
      const r = this.rounds.get(round);
      if (!r) continue;
      if (event.name === "UpdateCommitted") {
        const site = String(event.args.site).toLowerCase();
        r.commits.set(site, String(event.args.updateHash).toLowerCase());
        changes.push(
          `round ${round}: ${this.name(site)} committed update ${short(event.args.updateHash)} ` +
            `(${event.args.numSamples} notes) [${r.commits.size} commits]`,
        );
      } else if (event.name === "RoundFinalized") {
        r.status = "Finalized";
        r.modelHash = event.args.modelHash;
        r.updatesRoot = event.args.updatesRoot;
        r.includedCount = Number(event.args.includedCount);
        r.closedAt = now;
        changes.push(
          `round ${round}: finalised model ${short(event.args.modelHash)} from ${r.includedCount} update(s), ` +
            `updates root ${short(event.args.updatesRoot)}`,
        );
      } else if (event.name === "RoundAborted") {
        r.status = "Aborted";
        r.abortReason = Number(event.args.reason);
        r.closedAt = now;
        changes.push(
          `round ${round}: aborted (${ABORT_REASONS[r.abortReason] ?? `reason ${r.abortReason}`}) ` +
            `after ${event.args.commitCount} commit(s)`,
        );
      }
    }
  }

  private async readAggregator(changes: string[]): Promise<void> {
    const url = this.params.aggregatorUrl;
    if (!url) return;
    // A round that closed between two polls is read once more, so its last uploads are counted too.
    const pending = [...this.rounds.values()].filter((r) => !this.settled.has(r.round));
    for (const r of pending) {
      if (r.status !== "Open") this.settled.add(r.round);
      let doc: z.infer<typeof statusSchema>;
      try {
        const res = await fetch(`${url}/tasks/${this.params.taskId}/rounds/${r.round}`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (!res.ok) continue;
        const parsed = statusSchema.safeParse(await res.json());
        if (!parsed.success) continue;
        doc = parsed.data;
      } catch {
        continue; // The aggregator may be restarting; the next poll tries again.
      }
      for (const u of doc.uploads) {
        const site = u.site.toLowerCase();
        if (r.uploads.has(site)) continue;
        r.uploads.set(site, u.updateHash.toLowerCase());
        changes.push(
          `round ${r.round}: aggregator accepted the upload of ${this.name(site)} [${r.uploads.size} uploads]`,
        );
      }
      r.verified = [...r.uploads].filter(([site, hash]) => r.commits.get(site) === hash).length;
      if (!doc.acceptingUploads && doc.status === "Open" && !r.sealed) {
        r.sealed = true;
        changes.push(
          `round ${r.round}: aggregator sealed the round and is aggregating ${r.uploads.size} update(s)`,
        );
      }
    }
  }
}
