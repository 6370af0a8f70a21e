/**
 * The demo's synthetic data: each site's training notes, written into the site's own folder, and a held-out
 * test set per language that only the demo reads (to score the federated model and the baselines). Everything
 * is generated from the run's seed with each site's profile, so the same seed gives the same files.
 *
 * The seeds follow the model package's baseline helper (runBaselines): the training notes of the language at
 * position i use seed·1000 + 2i and its test notes seed·1000 + 2i + 1, so the helper's local-only and
 * centralized baselines train on exactly the notes of the first site of each language and are scored on the
 * same test notes. A sixth or later site (a second hospital of a language) gets a seed of its own.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Lang } from "../text/labels";
import { generateNotes, SITE_PROFILES, writeNotesJsonl, type Note } from "../text/corpus";
import type { DemoSite } from "./sitePlan";

/** A note as the demo writes it: one JSON object per line (id, lang, text, labels). */
export type DemoNote = Pick<Note, "id" | "lang" | "text" | "labels">;

/** The seed of site `index`'s (1-based) training notes for a run seed. */
export function siteDataSeed(runSeed: number, index: number): number {
  return runSeed * 1_000 + 2 * (index - 1);
}

/** The seed of the test notes of the language at `position` (0-based, in site order) for a run seed. */
export function testDataSeed(runSeed: number, position: number): number {
  return runSeed * 1_000 + 2 * position + 1;
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

/** The held-out test notes of the language at `position` among the run's languages. */
export function testNotes(lang: Lang, position: number, runSeed: number, count: number): DemoNote[] {
  return generateNotes({
    lang,
    n: count,
    seed: testDataSeed(runSeed, position),
    profile: SITE_PROFILES[lang],
  }).map(strip);
}

/** Writes notes as JSON lines, creating the folder. */
export async function writeNotes(file: string, notes: readonly DemoNote[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeNotesJsonl(file, [notes as Note[]]);
}
