/**
 * Coordinates uploads with aggregation inside one process. Before the round driver reads a round's accepted
 * uploads it seals the round and waits for the writes already under way; an upload checks the seal and
 * registers its write in the same synchronous step, so every upload is either in the aggregate or refused.
 */
export class RoundGates {
  private readonly sealed = new Set<number>();
  private readonly inflight = new Map<number, Set<Promise<unknown>>>();

  /** Whether uploads to `round` are refused because it is being (or was) aggregated. */
  isSealed(round: number): boolean {
    return this.sealed.has(round);
  }

  /**
   * Runs `write` for `round` unless the round is sealed; returns undefined (without running it) when sealed.
   */
  async admit<T>(round: number, write: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.sealed.has(round)) return undefined;
    const pending = write();
    let set = this.inflight.get(round);
    if (!set) this.inflight.set(round, (set = new Set()));
    set.add(pending);
    try {
      return { value: await pending };
    } finally {
      set.delete(pending);
    }
  }

  /** Seals a round and resolves once every admitted write has settled. */
  async seal(round: number): Promise<void> {
    this.sealed.add(round);
    await Promise.allSettled([...(this.inflight.get(round) ?? [])]);
  }

  /** Opens a sealed round again (the aggregate was not recorded, so later uploads may still count). */
  unseal(round: number): void {
    this.sealed.delete(round);
  }
}
