/**
 * Reads the site's local notes. The notes stay in this process: they are featurised for training and
 * evaluation and never written, logged or sent anywhere.
 */
import { loadNotes, type Note } from "../text/corpus";

/** The notes read, and how many bad records were skipped. */
export interface SiteNotes {
  notes: Note[];
  /** Records skipped as invalid (only with skipInvalid). */
  skipped: number;
}

/**
 * Loads the notes of every data file (JSONL or CSV, see docs/text-pipeline.md) with the text pipeline's loader.
 * Without `skipInvalid`, the first bad record fails the load with the loader's error (file, line, problem);
 * with it, bad records are counted and left out.
 *
 * @example
 * const { notes } = await loadSiteNotes(["/data/notes.jsonl"], false);
 */
export async function loadSiteNotes(paths: readonly string[], skipInvalid: boolean): Promise<SiteNotes> {
  let skipped = 0;
  const notes = await loadNotes([...paths], { skipInvalid, onSkip: () => (skipped += 1) });
  return { notes, skipped };
}
