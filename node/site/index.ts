/**
 * The hospital site service: joins the rounds of its training tasks by itself, trains on local notes that never
 * leave the process, commits each update's hash on the ledger and hands the bytes to the aggregator.
 * docs/site.md describes the config, the life cycle of a round, retries, idempotency and privacy.
 *
 * @example
 * import { loadSiteConfig, runSite } from "../site";
 * const result = await runSite(await loadSiteConfig("site.json"), { signal, onEvent: (e) => show(e) });
 */
export { runSite, type RunSiteOptions, type SiteRunResult, type SiteTaskSummary } from "./runSite";
export {
  loadSiteConfig,
  parseSiteConfig,
  siteConfigSchema,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SEED,
  DEFAULT_VALIDATION_SHARE,
  type SiteConfig,
  type SiteTaskConfig,
} from "./config";
export {
  eventLogLine,
  eventLevel,
  siteEvent,
  type SiteEvent,
  type SiteEventFields,
  type SiteEventHandler,
  type SiteEventLevel,
  type SiteEventType,
} from "./events";
export { splitNotes, type NoteSplit } from "./split";
export { SiteState, ROUND_PHASES, type RoundPhase, type RoundRecord, type FinalRecord } from "./state";
export { dpReportMetrics, privacySpend, type PrivacySpend } from "./privacySpend";
export type {
  CommitRefusal,
  CommitResult,
  OpenedSiteLedger,
  SiteCommit,
  SiteLedger,
  SiteLedgerOpener,
} from "./ledgerPort";
export { OnChainSiteLedger, openOnChainSiteLedger } from "./onChainLedger";
