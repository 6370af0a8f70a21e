import type { FetchedObject, ObjectSource, StoredUpload } from "./objectSource";
import type { LineageRound } from "./traceLineage";

/** What the store holds for one round: its upload records and the bytes of every committed update. */
export interface RoundInputs {
  /** The store's upload records of the round, or undefined when it keeps none. */
  records: StoredUpload[] | undefined;
  /** What the store gave for each commit's update hash, by lower-case site address. */
  fetched: Map<string, FetchedObject>;
}

/**
 * Fetches a round's upload records and committed updates, all requests at once. The auditor starts this for
 * the next round before re-aggregating the current one, so reading and hashing (both off the main thread)
 * overlap with the arithmetic.
 *
 * @example
 * const next = fetchRoundInputs(source, lineage.rounds[1]);
 */
export async function fetchRoundInputs(source: ObjectSource, round: LineageRound): Promise<RoundInputs> {
  const [records, objects] = await Promise.all([
    source.uploads(round.taskId, round.round),
    Promise.all(round.commits.map((c) => source.fetch(c.updateHash))),
  ]);
  const fetched = new Map<string, FetchedObject>();
  round.commits.forEach((c, i) => fetched.set(c.site.toLowerCase(), objects[i]));
  return { records, fetched };
}
