/**
 * Writing notes as JSONL: one object per line with keys in the order id, lang, text, labels, meta.
 */
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Note } from "./note";

/** One note as a JSONL line (without the line break). */
export function noteToJsonl(note: Note): string {
  const { id, lang, text, labels, meta } = note;
  return JSON.stringify(meta === undefined ? { id, lang, text, labels } : { id, lang, text, labels, meta });
}

/**
 * Writes batches of notes to a JSONL file (created or truncated), respecting stream back-pressure.
 *
 * @param file output path
 * @param batches notes in batches (an array of notes is one batch); the file is closed at the end
 * @returns number of notes written
 */
export async function writeNotesJsonl(file: string, batches: Iterable<readonly Note[]>): Promise<number> {
  const out = createWriteStream(file, { encoding: "utf8" });
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  let n = 0;
  try {
    for (const batch of batches) {
      const chunk = batch.map((note) => `${noteToJsonl(note)}\n`).join("");
      n += batch.length;
      if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
    }
    out.end();
    await Promise.race([once(out, "finish"), failed]);
  } finally {
    out.destroy();
  }
  return n;
}
