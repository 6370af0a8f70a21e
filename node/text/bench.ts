/**
 * Throughput of feature extraction, measured on generated notes (prints figures; used by
 * `fedledger data bench`). Not part of the pipeline itself.
 */
import { DEFAULT_FEATURE_CONFIG, featurize, splitSentences, type FeatureConfig } from "./features";
import type { Lang } from "./labels";
import { generateNotes } from "./synth/generate";

/** Figures from {@link benchmarkFeaturize}. */
export interface FeaturizeBenchmark {
  notes: number;
  /** Mean note length in characters. */
  meanChars: number;
  /** Whole notes featurised per second of wall-clock time (one thread). */
  notesPerSecond: number;
  /** Whole notes featurised per second of this process's CPU time (robust to a busy machine). */
  notesPerCpuSecond: number;
  /** Notes per second when each sentence is featurised separately (as the model's evidence units do). */
  notesPerSecondBySentence: number;
  /** Mean feature ids per note. */
  idsPerNote: number;
  /** Milliseconds to featurise one 5 MB note built from the same notes. */
  ms5MB: number;
}

/**
 * Generates `n` notes per language and times featurize over them, after a warm-up pass.
 *
 * @param opts languages, notes per language, seed and feature config
 */
export function benchmarkFeaturize(opts: {
  langs: readonly Lang[];
  n: number;
  seed?: number;
  config?: FeatureConfig;
}): FeaturizeBenchmark {
  const config = opts.config ?? DEFAULT_FEATURE_CONFIG;
  const notes = opts.langs.flatMap((lang) => generateNotes({ lang, n: opts.n, seed: opts.seed ?? 1 }));
  const sentences = notes.map((note) => splitSentences(note.text));
  for (const note of notes.slice(0, 2000)) featurize(note.text, note.lang, config);

  let ids = 0;
  let t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const note of notes) ids += featurize(note.text, note.lang, config).length;
  const wholeMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;

  t0 = performance.now();
  notes.forEach((note, i) => {
    for (const s of sentences[i]) featurize(s, note.lang, config);
  });
  const sentenceMs = performance.now() - t0;

  let big = "";
  for (let i = 0; big.length < 5_000_000; i = (i + 1) % notes.length) big += `${notes[i].text}\n`;
  t0 = performance.now();
  featurize(big, notes[0].lang, config);
  const bigMs = performance.now() - t0;

  return {
    notes: notes.length,
    meanChars: notes.reduce((s, n) => s + n.text.length, 0) / notes.length,
    notesPerSecond: (notes.length / wholeMs) * 1000,
    notesPerCpuSecond: (notes.length / cpuMs) * 1000,
    notesPerSecondBySentence: (notes.length / sentenceMs) * 1000,
    idsPerNote: ids / notes.length,
    ms5MB: bigMs,
  };
}
