/**
 * The demo's synthetic data: each site's training notes, written into the site's own folder, and a held-out
 * test set per language that only the demo reads (to score the federated model and the baselines). Everything
 * is generated from the run's seed with each site's profile, so the same seed gives the same files.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Lang } from "../text/labels";
import type { Note } from "../text/note";
import { generateNotes } from "../text/synth/generate";
import { SITE_PROFILES } from "../text/synth/profiles";
import type { DemoSite } from "./sitePlan";

/** A note as the demo writes it: one JSON object per line. */
export interface DemoNote {
  id: string;
  lang: Lang;
  text: string;
  labels: Note["labels"];
}

/** The seed of site `index`'s notes for a run seed. */
export function siteDataSeed(runSeed: number, index: number): number {
  return runSeed * 1_000 + index;
}

/** The seed of a language's test notes for a run seed (never equal to a site seed). */
export function testDataSeed(runSeed: number): number {
  return runSeed * 1_000 + 999;
}

function strip(note: Note): DemoNote {
  return { id: note.id, lang: note.lang, text: note.text, labels: note.labels };
}

/** The training notes of one site (its language's site profile, its own seed). */
export function siteNotes(site: DemoSite, runSeed: number, count: number): DemoNote[] {
  return generateNotes({
    lang: site.lang,
    n: count,
    seed: siteDataSeed(runSeed, site.index),
    profile: SITE_PROFILES[site.lang],
  }).map(strip);
}

/** The held-out test notes of one language. */
export function testNotes(lang: Lang, runSeed: number, count: number): DemoNote[] {
  return generateNotes({ lang, n: count, seed: testDataSeed(runSeed), profile: SITE_PROFILES[lang] }).map(
    strip,
  );
}

/** Writes notes as JSON lines, creating the folder. */
export async function writeNotes(file: string, notes: readonly DemoNote[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, notes.map((n) => JSON.stringify(n)).join("\n") + "\n");
}
