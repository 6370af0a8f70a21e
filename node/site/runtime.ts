/**
 * The connected, checked state a running site works with (built by startSite from a config).
 */
import type { BaseWallet } from "ethers";
import type { ModelSpec } from "../model/spec";
import type { Note } from "../text/corpus";
import type { SiteConfig } from "./config";
import type { SiteEventHandler } from "./events";
import type { SiteLedger } from "./ledgerPort";
import type { SecureRoundState } from "./securePart";
import type { SiteState } from "./state";

/** A task the site takes part in, checked against the chain. */
export interface SiteTask {
  id: bigint;
  /** The model spec; its specHash equals the task's on-chain spec hash. */
  spec: ModelSpec;
  /** Base URL of the aggregator serving the task. */
  aggregator: string;
  roundsPlanned: number;
  /** The task's on-chain aggregation rule id. */
  aggregationRule: number;
}

/** Everything a running site needs. */
export interface SiteRuntime {
  /** The site's operator address (the signer's). */
  site: string;
  signer: BaseWallet;
  /** The ledger: the contracts on a chain, or the aggregator's off-chain ledger (benchmarks), see ledgerPort.ts. */
  ledger: SiteLedger;
  chainId: number;
  ledgerAddress: string;
  tasks: SiteTask[];
  /** Local training notes; never leave the process. */
  train: Note[];
  /** Local validation notes; never leave the process. */
  validation: Note[];
  /** Invalid note records left out (skipInvalidNotes). */
  skippedNotes: number;
  training: SiteConfig["training"];
  /** Largest model the site downloads from an aggregator, in bytes (config maxDownloadBytes). */
  maxDownloadBytes: number;
  state: SiteState;
  /** The TensorFlow.js backend in use. */
  backend: string;
  emit: SiteEventHandler;
  /** Aborts when the service is asked to stop. */
  signal: AbortSignal;
  /** How often the service looks at the chain and the aggregator, in milliseconds (config pollIntervalMs). */
  pollIntervalMs: number;
  /**
   * Secure aggregation: this process's secrets and shares of each round it takes part in, by round key
   * (securePart.ts). Kept in memory only: a restarted site has lost them and counts as dropped.
   */
  secureRounds: Map<string, SecureRoundState>;
}
