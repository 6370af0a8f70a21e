import { expect } from "chai";
import { keywordLabels } from "../../node/eval/keyword";
import { HARD_NEGATIVE_MENTIONS, scorePredictions } from "../../node/eval/score";

describe("eval: scores and the keyword-search baseline", () => {
  it("scores implant, categories, ADR and hard negatives per language and over all notes", () => {
    const b = scorePredictions([
      // A current pacemaker found, a negated shunt not predicted (right).
      {
        lang: "sv",
        gold: ["cardiac_rhythm_device"],
        predicted: ["cardiac_rhythm_device"],
        meta: {
          mentions: [
            { kind: "positive", label: "cardiac_rhythm_device" },
            { kind: "negated", label: "csf_shunt" },
          ],
        },
      },
      // A removed hip prosthesis predicted (wrong), an ADR missed, the wrong category.
      {
        lang: "sv",
        gold: ["heart_valve", "adr"],
        predicted: ["orthopaedic_implant"],
        meta: {
          mentions: [
            { kind: "removed", label: "orthopaedic_implant" },
            { kind: "removed", label: "orthopaedic_implant" },
          ],
        },
      },
      // Nothing in gold, an ADR predicted where the note says the drug was tolerated (wrong).
      {
        lang: "fi",
        gold: [],
        predicted: ["adr"],
        meta: { mentions: [{ kind: "adr_negated", label: "adr" }] },
      },
    ]);
    expect(b.all.notes).to.equal(3);
    // Implant: two notes with gold implants, both predicted some implant.
    expect(b.all.implant).to.include({ tp: 2, fp: 0, fn: 0, recall: 1 });
    // Categories: 1 right, 1 false (orthopaedic), 1 missed (valve).
    expect(b.all.categories).to.include({ tp: 1, fp: 1, fn: 1 });
    expect(b.all.categories.f1).to.be.closeTo(0.5, 1e-12);
    expect(b.all.adr).to.include({ tp: 0, fp: 1, fn: 1, f1: 0 });
    // Hard negatives: the shunt (right), the hip once per note (wrong), the tolerated drug (wrong).
    expect(b.all.hardNegatives).to.deep.equal({ total: 3, right: 1, share: 1 / 3 });
    expect(b.byLang.sv?.notes).to.equal(2);
    expect(b.byLang.fi?.adr.precision).to.equal(0);
    expect(b.byLang.fi?.implant.f1).to.equal(null);
  });

  it("counts every mention kind but the positive ones as a hard negative", () => {
    expect(HARD_NEGATIVE_MENTIONS).to.not.include("positive");
    expect(HARD_NEGATIVE_MENTIONS).to.not.include("hard_positive");
    expect(HARD_NEGATIVE_MENTIONS).to.include.members([
      "negated",
      "family",
      "planned",
      "removed",
      "other_context",
    ]);
  });

  it("keyword search finds device words whatever the context, and drug-harm sentences", () => {
    expect(keywordLabels("Har pacemaker sedan 2019.", "sv")).to.deep.equal(["cardiac_rhythm_device"]);
    // Negated and a relative's: keyword search does not read context.
    expect(keywordLabels("Ingen pacemaker. Mor har höftprotes.", "sv")).to.deep.equal([
      "cardiac_rhythm_device",
      "orthopaedic_implant",
    ]);
    // External devices are never implants.
    expect(keywordLabels("Använder hörapparat och CPAP.", "sv")).to.deep.equal([]);
    expect(keywordLabels("Utslag efter amoxicillin.", "sv")).to.deep.equal(["adr"]);
    expect(keywordLabels("Amoxicillin 500 mg x 3.", "sv")).to.deep.equal([]);
  });
});
