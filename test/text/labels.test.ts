import { expect } from "chai";
import {
  CATEGORY_INFO,
  IMPLANT_CATEGORIES,
  LABELS,
  LANGS,
  hasImplant,
  isImplantCategory,
  isLabel,
  isLang,
} from "../../node/text/labels";

describe("text/labels", () => {
  it("has the agreed languages and label order (implant categories, then adr)", () => {
    expect([...LANGS]).to.deep.equal(["nb", "sv", "da", "fi", "et", "en"]);
    expect(IMPLANT_CATEGORIES).to.have.length(11);
    expect([...LABELS]).to.deep.equal([...IMPLANT_CATEGORIES, "adr"]);
  });

  it("describes every category with a title, an ASTM F2503 class and advice", () => {
    for (const cat of IMPLANT_CATEGORIES) {
      const info = CATEGORY_INFO[cat];
      expect(info.title, cat).to.be.a("string").and.not.empty;
      expect(info.mriSafety, cat).to.match(/MR (Safe|Conditional|Unsafe)/);
      expect(info.advice, cat).to.have.length.greaterThan(20);
    }
    expect(CATEGORY_INFO.cardiac_rhythm_device.advice).to.match(/check MR Conditional labelling/);
  });

  it("guards labels, languages and categories", () => {
    expect(isLabel("adr")).to.equal(true);
    expect(isLabel("implant")).to.equal(false);
    expect(isLabel(3)).to.equal(false);
    expect(isLang("nb")).to.equal(true);
    expect(isLang("no")).to.equal(false);
    expect(isImplantCategory("csf_shunt")).to.equal(true);
    expect(isImplantCategory("adr")).to.equal(false);
  });

  it("derives implant from any category", () => {
    expect(hasImplant(["adr"])).to.equal(false);
    expect(hasImplant(["adr", "heart_valve"])).to.equal(true);
    expect(hasImplant([])).to.equal(false);
  });
});
