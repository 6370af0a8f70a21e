/**
 * What the site service reports while it runs: one typed event per step (round seen, model fetched and
 * checked, evaluated, trained, committed, uploaded, round closed, retries). The CLI writes each event as one
 * JSON line; the demo and the tests subscribe with `onEvent`.
 *
 * Privacy: every field is an identifier, a hash, a count, a score or a duration. No field carries note text,
 * and the types below admit no free text except error descriptions, which come from chain, network and file
 * errors, never from the notes.
 */

import type { RoundStatusName, SiteStatusName } from "../chain";

/** Fields of each event type. Task ids are decimal strings; hashes are 0x hex; durations are milliseconds. */
export interface SiteEventFields {
  site_started: {
    site: string;
    chainId: number;
    ledger: string;
    tasks: string[];
    trainingNotes: number;
    validationNotes: number;
    skippedNotes: number;
    backend: string;
  };
  waiting_for_round: { task: string; currentRound: number; roundsPlanned: number };
  site_not_active: { task: string; status: SiteStatusName };
  round_seen: { task: string; round: number; baseModelHash: string; deadline: number; resumed: boolean };
  stale_state_discarded: { task: string; round: number; reason: string };
  base_model_fetched: { task: string; round: number; hash: string; bytes: number; ms: number };
  base_model_rejected: { task: string; round: number; expected: string; reason: string };
  model_evaluated: {
    task: string;
    round: number;
    model: string;
    numValidation: number;
    microF1: number | null;
    macroF1: number | null;
    ms: number;
  };
  trained: {
    task: string;
    round: number;
    numSamples: number;
    epochs: number;
    loss: number;
    updateHash: string;
    bytes: number;
    ms: number;
    /** Under DP: ε the site has spent on the task once this update is published (in its metrics too). */
    dpEpsilon?: number;
  };
  /** Under DP: the round would take the site's ε past the task's budget, so it neither trains nor commits. */
  privacy_budget_exhausted: {
    task: string;
    round: number;
    /** Rounds of the task this site already committed an update in. */
    roundsJoined: number;
    /** ε spent over those rounds. */
    epsilonSpent: number;
    /** ε after this round, had it joined. */
    epsilonWithRound: number;
    epsilonBudget: number;
    delta: number;
  };
  committed: {
    task: string;
    round: number;
    updateHash: string;
    numSamples: number;
    metricsHash: string;
    tx: string;
    block: number;
    ms: number;
  };
  commit_found: { task: string; round: number; updateHash: string; source: "state" | "retrained" };
  commit_skipped: { task: string; round: number; reason: string };
  /** A task that looked finished is not (the chain lost its last round's end); the site takes part again. */
  task_resumed: { task: string; currentRound: number };
  /** The chain no longer holds this site's commit of a round it took part in; the site commits it again. */
  commit_lost: { task: string; round: number };
  uploaded: {
    task: string;
    round: number;
    updateHash: string;
    created: boolean;
    resent: boolean;
    ms: number;
  };
  upload_confirmed: { task: string; round: number; updateHash: string };
  upload_missing: { task: string; round: number; updateHash: string };
  upload_refused: { task: string; round: number; code: string; reason: string };
  round_closed: {
    task: string;
    round: number;
    status: RoundStatusName;
    modelHash: string | null;
    includedCount: number;
    commitCount: number;
    participated: boolean;
  };
  final_model_evaluated: {
    task: string;
    model: string;
    numValidation: number;
    microF1: number | null;
    macroF1: number | null;
  };
  final_model_unavailable: { task: string; model: string; reason: string };
  task_done: { task: string; roundsPlanned: number; roundsJoined: number };
  /** Secure aggregation (securePart.ts): the site's keys for the round reached the aggregator. */
  secagg_advertised: { task: string; round: number };
  /** The share stage closed; `sites` is the size of the shared set. */
  secagg_shared: { task: string; round: number; sites: number };
  /** A relayed share was refused (it fails to decrypt, or it is for another site); the round goes on without it. */
  secagg_share_refused: { task: string; round: number; from: string; code: string; reason: string };
  /** The site cannot take part in the round's secure aggregation (it sits the round out). */
  secagg_sat_out: { task: string; round: number; reason: string };
  secagg_answered: { task: string; round: number; survivors: number; dropped: number };
  /** The site refused the unmasking request: answering would reveal a site's update, or the request is wrong. */
  secagg_unmask_refused: { task: string; round: number; code: string; reason: string };
  retrying: { task: string | null; attempt: number; delayMs: number; transient: boolean; error: string };
  site_stopped: { reason: "done" | "signal" };
}

/** A site event type name. */
export type SiteEventType = keyof SiteEventFields;

/** How much an event matters, for log filtering. */
export type SiteEventLevel = "info" | "warn" | "error";

/** One event: its type, level and fields. */
export type SiteEvent = {
  [K in SiteEventType]: { type: K; level: SiteEventLevel } & SiteEventFields[K];
}[SiteEventType];

/** Receives events; must not throw. */
export type SiteEventHandler = (event: SiteEvent) => void;

const WARN: ReadonlySet<SiteEventType> = new Set([
  "site_not_active",
  "stale_state_discarded",
  "commit_skipped",
  "upload_missing",
  "retrying",
  "final_model_unavailable",
  "privacy_budget_exhausted",
  "secagg_share_refused",
  "secagg_sat_out",
  "commit_lost",
  "task_resumed",
]);
const ERROR: ReadonlySet<SiteEventType> = new Set([
  "base_model_rejected",
  "upload_refused",
  "secagg_unmask_refused",
]);

/** The level of an event type. */
export function eventLevel(type: SiteEventType): SiteEventLevel {
  if (ERROR.has(type)) return "error";
  return WARN.has(type) ? "warn" : "info";
}

/**
 * Builds an event with its level.
 *
 * @example
 * emit(siteEvent("round_seen", { task: "1", round: 2, baseModelHash, deadline, resumed: false }));
 */
export function siteEvent<K extends SiteEventType>(type: K, fields: SiteEventFields[K]): SiteEvent {
  return { type, level: eventLevel(type), ...fields } as SiteEvent;
}

/**
 * The log line of an event: one JSON object `{"time", "level", "event", …fields}` and a newline.
 *
 * @example
 * process.stdout.write(eventLogLine(event));
 */
export function eventLogLine(event: SiteEvent, now = new Date()): string {
  const { type, level, ...fields } = event;
  return `${JSON.stringify({ time: now.toISOString(), level, event: type, ...fields })}\n`;
}
