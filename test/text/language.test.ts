import { expect } from "chai";
import { detectLanguage, detectLanguageScores, generateNotes } from "../../node/text/corpus";
import type { Lang } from "../../node/text/labels";

describe("text/language", () => {
  for (const lang of ["nb", "sv", "da", "fi", "et"] as Lang[]) {
    it(`identifies generated ${lang} notes (≥ 95% of multi-sentence notes)`, () => {
      const notes = generateNotes({ lang, n: 400, seed: 99 }).filter((n) => n.text.split(/[.\n]/).length > 2);
      const right = notes.filter((n) => detectLanguage(n.text) === lang).length;
      expect(right / notes.length).to.be.at.least(0.95);
    });
  }

  it("identifies hand-written sentences", () => {
    const cases: [string, Lang][] = [
      ["Pasienten har ikke pacemaker og ingen kjente legemiddelallergier.", "nb"],
      ["Patienten har inte pacemaker och inga kända läkemedelsallergier.", "sv"],
      ["Patienten har ikke pacemaker og ingen kendte lægemiddelallergier.", "da"],
      ["Potilaalla ei ole tahdistinta eikä tiedossa olevia lääkeaineallergioita.", "fi"],
      ["Patsiendil pole südamestimulaatorit ja teadaolevaid ravimiallergiaid ei ole.", "et"],
      ["The patient has no pacemaker and no known drug allergies.", "en"],
    ];
    for (const [text, lang] of cases) expect(detectLanguage(text), text).to.equal(lang);
  });

  it("answers en with zero margin when there is no evidence", () => {
    const r = detectLanguageScores("12.03.2019 135/85 !!");
    expect(r.lang).to.equal("en");
    expect(r.margin).to.equal(0);
  });
});
