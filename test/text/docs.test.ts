import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { CONTEXT_LEXICONS } from "../../node/text/context-lexicon";
import { IMPLANT_CATEGORIES, LABELS } from "../../node/text/labels";

/** The documentation lists every trigger and every label, so it cannot drift from the code unnoticed. */
describe("text/docs", () => {
  const root = path.join(__dirname, "..", "..");
  const pipeline = readFileSync(path.join(root, "docs", "text-pipeline.md"), "utf8");
  const labels = readFileSync(path.join(root, "docs", "labels.md"), "utf8");

  it("docs/text-pipeline.md lists every context phrase of every language", () => {
    const missing: string[] = [];
    for (const [lang, lex] of Object.entries(CONTEXT_LEXICONS)) {
      const phrases = [
        ...Object.values(lex.triggers).flatMap((t) => [
          ...(t.pre ?? []),
          ...(t.post ?? []),
          ...(t.both ?? []),
          ...(t.sentence ?? []),
        ]),
        ...lex.pseudo,
        ...lex.terminators,
      ];
      for (const p of phrases) if (!pipeline.includes(`\`${p}\``)) missing.push(`${lang}: ${p}`);
    }
    expect(missing).to.deep.equal([]);
  });

  it("docs/labels.md describes every label and category", () => {
    for (const l of LABELS) expect(labels, l).to.include(`\`${l}\``);
    for (const c of IMPLANT_CATEGORIES) expect(labels, c).to.include(`### \`${c}\``);
  });
});
