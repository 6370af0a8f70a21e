/**
 * Reads the site's local notes. The notes stay in this process: they are featurised for training and
 * evaluation and never written, logged or sent anywhere.
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "../errors";
import { isLabel, isLang } from "../text/labels";
import type { Note } from "../text/note";

// TEMPORARY until node/text's loadNotes lands: JSONL only, same checks in brief.
async function loadNotes(paths: string[]): Promise<Note[]> {
  const notes: Note[] = [];
  for (const file of paths) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `cannot read the notes file ${file}: ${code === "ENOENT" ? "no such file" : code}`,
      );
    }
    text.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      const v = JSON.parse(line) as Note;
      if (
        !isLang(v.lang) ||
        typeof v.text !== "string" ||
        !Array.isArray(v.labels) ||
        !v.labels.every(isLabel)
      )
        throw new UsageError(`${file}:${i + 1}: not a note`);
      notes.push({ id: String(v.id), lang: v.lang, text: v.text, labels: v.labels });
    });
  }
  return notes;
}

/**
 * Loads the notes of every data file (JSONL or CSV, see docs/text-pipeline.md), failing with the loader's
 * one-line error (file and line) on the first bad file.
 *
 * @example
 * const notes = await loadSiteNotes(["/data/notes.jsonl"]);
 */
export async function loadSiteNotes(paths: readonly string[]): Promise<Note[]> {
  return loadNotes([...paths]);
}
