/**
 * DP-SGD settings that worked best in the measurements of docs/privacy.md ("Utility under DP"), for a
 * consortium of a few sites, each with thousands of notes, training for about five rounds. They are a
 * starting point for a task's spec, not a guarantee: σ follows from the budget with the accountant.
 *
 * @example
 * const rec = recommendedDpSettings();
 * const steps = rounds * rec.epochs * dpStepsPerEpoch(rec.sampleRate);
 * const sigma = sigmaForBudget({ q: rec.sampleRate, steps, delta: 1e-5, epsilon: 8 });
 */

/** Recommended DP-SGD settings and model size. */
export interface RecommendedDpSettings {
  /** q: Poisson sampling rate. */
  sampleRate: number;
  /** C: per-note clip norm. */
  clipNorm: number;
  /** Learning rate. */
  lr: number;
  optimizer: "adam" | "sgd";
  /** Local epochs per round (steps per round = epochs × round(1/q)). */
  epochs: number;
  /** Embedding width of the model under DP. */
  dim: number;
  /** Hash buckets (embedding rows) of the model under DP. */
  buckets: number;
  /** The notes per site the settings were measured with (more notes help; fewer hurt). */
  notesPerSite: number;
}

/** The recommended settings (docs/privacy.md, "Utility under DP", has the figures behind them). */
export function recommendedDpSettings(): RecommendedDpSettings {
  return {
    sampleRate: 0.25,
    clipNorm: 0.2,
    lr: 0.03,
    optimizer: "adam",
    epochs: 3,
    dim: 32,
    buckets: 1 << 16,
    notesPerSite: 2000,
  };
}
