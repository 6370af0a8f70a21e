/**
 * The seam between aggregation policy and everything else (transport, storage, chain), in the spirit of
 * Flower's Strategy: a rule is a pure, deterministic function from a parent model and weighted site updates to
 * new model bytes. Rules are looked up by the id the task records on the chain (`aggregationRule`).
 */
import { FedledgerError } from "../errors";

/** One site's update as an aggregation rule sees it. The bytes are loaded only when the rule asks for them. */
export interface UpdateSource {
  /** The site's address (20-byte hex). */
  site: string;
  /** The number of training samples the site committed on the chain. */
  numSamples: bigint | number;
  /** Loads the update's canonical bytes (FLM1, a delta with the parent's tensors). */
  bytes(): Promise<Uint8Array>;
}

/** An aggregation policy. */
export interface AggregationRule {
  /** The id recorded on the chain in a task's `aggregationRule`. */
  readonly id: number;
  /** A short lower-case name, e.g. "fedavg". */
  readonly name: string;
  /**
   * Computes the new model from the parent's canonical bytes and the updates. Must return the same bytes for
   * the same inputs in any order, on any machine. Throws AggregationError when an input is unusable.
   */
  aggregate(parent: Uint8Array, updates: readonly UpdateSource[]): Promise<Uint8Array>;
}

/** An input the aggregation cannot use: a malformed or mismatched update, a bad weight, an overflow. */
export class AggregationError extends FedledgerError {
  /** The site whose update caused the error, when one did. */
  readonly site: string | undefined;

  constructor(message: string, site?: string) {
    super(site ? `update from ${site}: ${message}` : message, {
      hint: "Drop the offending update or check that every update was made from the same parent model",
    });
    this.site = site;
  }
}
