import path from "node:path";
import { expect } from "chai";
import { LABELS } from "../../node/text/labels";
import { loadNotes } from "../../node/text/loader";
import { normalizeText } from "../../node/text/normalize";
import { PACKS } from "../../node/text/synth/packs";
import { tokenize } from "../../node/text/tokenize";

const ROOT = path.join(__dirname, "..", "realistic");
const LANGS = ["nb", "sv", "da", "fi", "et"] as const;
/** Word windows this long shared with a template would mean a template sentence in the set. */
const WINDOW = 6;

/**
 * Runs of words of a text (broken by numbers, punctuation, line breaks and template slots), normalised.
 * Numbers break runs so that dosing lines ("metformin 500 mg 1 x 2"), which any two medication lists
 * share, do not count as shared sentences.
 */
function wordRuns(text: string): string[][] {
  const runs: string[][] = [];
  for (const piece of text.split(/\{[^}]*\}/)) {
    let run: string[] = [];
    for (const t of tokenize(normalizeText(piece))) {
      if (t.kind === "word") run.push(t.text);
      else if (run.length > 0) {
        runs.push(run);
        run = [];
      }
    }
    if (run.length > 0) runs.push(run);
  }
  return runs;
}

function windows(runs: string[][]): string[] {
  return runs.flatMap((r) =>
    r.slice(0, Math.max(0, r.length - WINDOW + 1)).map((_, i) => r.slice(i, i + WINDOW).join(" ")),
  );
}

function packStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) packStrings(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) packStrings(v, out);
  return out;
}

describe("test/realistic (the hand-written evaluation set)", () => {
  for (const split of ["dev", "holdout"] as const) {
    it(`${split}: loads with the project's loader, 5 languages, labelled mentions`, async () => {
      const notes = await loadNotes(LANGS.map((l) => path.join(ROOT, split, `${l}.jsonl`)));
      for (const lang of LANGS)
        expect(notes.filter((n) => n.lang === lang).length, lang).to.equal(split === "dev" ? 40 : 20);
      for (const n of notes) {
        const positive = new Set(
          (n.meta?.mentions ?? [])
            .filter((m) => m.kind === "positive" || m.kind === "hard_positive")
            .map((m) => m.label),
        );
        expect([...n.labels].sort(), n.id).to.deep.equal([...positive].sort());
        expect(n.labels.every((l) => (LABELS as readonly string[]).includes(l))).to.equal(true);
      }
    });
  }

  it("shares no run of 6 words with any template of the generator", async () => {
    const templates = new Set(windows(packStrings(PACKS).flatMap(wordRuns)));
    const notes = await loadNotes(
      (["dev", "holdout"] as const).flatMap((s) => LANGS.map((l) => path.join(ROOT, s, `${l}.jsonl`))),
    );
    const shared = notes.flatMap((n) =>
      windows(wordRuns(n.text))
        .filter((w) => templates.has(w))
        .map((w) => `${n.id}: ${w}`),
    );
    expect(shared).to.deep.equal([]);
  });
});
