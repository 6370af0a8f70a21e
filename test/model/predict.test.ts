import { expect } from "chai";
import { createInitialModel } from "../../node/model/params";
import { predictNotes } from "../../node/model/predict";
import { trainLocal } from "../../node/model/train";
import { separableNotes, tinySpec } from "./fixtures";

for (const unit of ["sentence", "note"] as const)
  describe(`model prediction (${unit} units)`, () => {
    const spec = tinySpec({ unit });
    let model: Buffer;

    before(async () => {
      ({ model } = await trainLocal({
        spec,
        base: createInitialModel(spec, 9),
        notes: separableNotes(60),
        seed: 3,
        epochs: 6,
      }));
    });

    it("returns labels, flags, a score per label and the sentences behind each positive", async () => {
      const [p] = await predictNotes(model, spec, [
        {
          id: "n1",
          lang: "sv",
          text: "Blodtrycket är normalt. Patienten har pacemaker. Återbesök om ett år.",
        },
      ]);
      expect(p.id).to.equal("n1");
      expect(p.lang).to.equal("sv");
      expect(p.categories).to.deep.equal(["cardiac_rhythm_device"]);
      expect(p.implant).to.equal(true);
      expect(p.adr).to.equal(false);
      expect(Object.keys(p.scores)).to.deep.equal(spec.labels);
      for (const s of Object.values(p.scores)) expect(s).to.be.within(0, 1);
      expect(p.scores.cardiac_rhythm_device).to.be.at.least(spec.threshold);
      expect(p.evidence).to.deep.equal(["Patienten har pacemaker."]);
    });

    it("lists evidence for several labels in text order and none for a negative note", async () => {
      const [both, none] = await predictNotes(model, spec, [
        { lang: "sv", text: "Utslag efter amoxicillin. Inga nya besvär. Patienten har pacemaker." },
        { lang: "sv", text: "Patienten mår bra. Inga nya besvär." },
      ]);
      expect(both.labels).to.deep.equal(["cardiac_rhythm_device", "adr"]);
      expect(both.evidence).to.deep.equal(["Utslag efter amoxicillin.", "Patienten har pacemaker."]);
      expect(none).to.deep.include({ implant: false, adr: false, categories: [], evidence: [] });
      expect(none.id).to.equal(undefined);
    });
  });
