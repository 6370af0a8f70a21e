import { expect } from "chai";
import {
  featurize,
  DEFAULT_FEATURE_CONFIG,
  LexiconMismatchError,
  validateFeatureConfig,
} from "../../node/text/features";
import type { Lang } from "../../node/text/labels";
import {
  compileLexicon,
  defaultLexicon,
  LEXICON_DATA,
  LEXICON_HASH,
  type LexiconData,
} from "../../node/text/lexicon";
import { normalizeForm, normalizeText } from "../../node/text/normalize";
import { tokenize } from "../../node/text/tokenize";

const SMALL: LexiconData = {
  implants: [
    {
      text: "pacemaker",
      match: "prefix",
      category: "cardiac_rhythm_device",
      kind: "term",
      device: "pacemaker",
    },
    { text: "tahdisti", match: "prefix", category: "cardiac_rhythm_device", kind: "term", langs: ["fi"] },
    { text: "ICD", match: "exact", category: "cardiac_rhythm_device", kind: "abbrev", device: "ICD" },
    { text: "CI", match: "exact", category: "cochlear_implant", kind: "abbrev" },
    { text: "PM", match: "exact", category: "cardiac_rhythm_device", kind: "abbrev" },
    { text: "protes", match: "inner", category: "orthopaedic_implant", kind: "term", langs: ["sv"] },
    { text: "reveal linq", match: "exact", category: "cardiac_rhythm_device", kind: "model" },
    { text: "defibrillator", match: "prefix", category: "cardiac_rhythm_device", kind: "term" },
    { text: "hörapparat", match: "prefix", category: "external_device", kind: "term" },
  ],
  drugs: [{ text: "amoxicillin", match: "prefix", drug: "amoxicillin" }],
  harms: [{ text: "utslag", match: "prefix", harm: "rash" }],
  cues: [
    { text: "efter", match: "exact", kind: "cause", langs: ["sv"] },
    { text: "tål bra", match: "exact", kind: "tolerated", langs: ["sv"] },
  ],
};

function found(text: string, lang: Lang, data: LexiconData = SMALL): string[] {
  const cased = tokenize(normalizeForm(text));
  const tokens = tokenize(normalizeText(text));
  return compileLexicon(data)
    .match(
      tokens,
      cased.map((t) => t.text),
      lang,
    )
    .map(
      (m) =>
        `${tokens
          .slice(m.start, m.end)
          .map((t) => t.text)
          .join(" ")}=${m.entry.term.text}${m.fuzzy ? "~" : ""}`,
    );
}

describe("text/lexicon", () => {
  it("matches prefixes (inflections, compounds), inner stems and several-word entries", () => {
    expect(found("Pacemakern byttes, pacemakerkontroll i maj.", "sv")).to.deep.equal([
      "pacemakern=pacemaker",
      "pacemakerkontroll=pacemaker",
    ]);
    expect(found("Höftledsprotes vänster, Reveal LINQ sedan 2020.", "sv")).to.deep.equal([
      "höftledsprotes=protes",
      "reveal linq=reveal linq",
    ]);
  });

  it("reads abbreviations in upper case only, with Finnish case endings", () => {
    expect(found("ICD:n kontrolli, ei CI.", "fi")).to.deep.equal(["icd:n=ICD", "ci=CI"]);
    expect(found("icd och ci i löptext", "sv")).to.deep.equal([]);
    expect(found("PM-kontrollen ställdes in, ICD-en fungerar.", "sv")).to.deep.equal([
      "pm-kontrollen=PM",
      "icd-en=ICD",
    ]);
    // A part that is a number makes a code, not a device.
    expect(found("Diagnos enligt ICD-10: I48.", "sv")).to.deep.equal([]);
  });

  it("keeps entries to their languages", () => {
    expect(found("tahdistimen tarkastus", "fi")).to.deep.equal(["tahdistimen=tahdisti"]);
    expect(found("tahdistimen tarkastus", "et")).to.deep.equal([]);
    expect(found("knäprotes", "nb")).to.deep.equal([]);
  });

  it("finds one spelling error in long entries and marks it fuzzy", () => {
    expect(found("Har pacemeker sedan 2019.", "sv")).to.deep.equal(["pacemeker=pacemaker~"]);
    expect(found("defibrilator inopererad", "sv")).to.deep.equal(["defibrilator=defibrillator~"]);
    expect(found("pacemkaer", "sv")).to.deep.equal(["pacemkaer=pacemaker~"]);
    // Two errors, or short words, are not matched.
    expect(found("pcaemeker", "sv")).to.deep.equal([]);
    expect(found("ICE", "sv")).to.deep.equal([]);
  });

  it("refuses an entry without words", () => {
    expect(() => compileLexicon({ ...SMALL, harms: [{ text: "--", match: "exact", harm: "x" }] })).to.throw(
      /no words/,
    );
  });

  it("has a stable hash of its data and compiles the build's lexicon", () => {
    expect(LEXICON_HASH).to.match(/^0x[0-9a-f]{64}$/);
    expect(LEXICON_DATA.implants.length).to.be.greaterThan(300);
    expect(defaultLexicon()).to.equal(defaultLexicon());
  });

  it("adds concept features to the default features, with the context prefix", () => {
    const cfg = DEFAULT_FEATURE_CONFIG;
    const noLex = { ...cfg, lexicon: undefined };
    const a = featurize("Har pacemaker.", "sv", cfg);
    const b = featurize("Har pacemaker.", "sv", noLex);
    expect(a.length).to.be.greaterThan(b.length);
    expect([...a.slice(0, b.length)]).to.deep.equal([...b]);
    // The concept ids a device word adds, whatever the word: "pacemaker" and "ICD" add the same ones.
    const concepts = (text: string) => {
      const base = new Set(featurize(text, "sv", noLex));
      return [...new Set([...featurize(text, "sv")].filter((id) => !base.has(id)))].sort();
    };
    expect(concepts("Har pacemaker.")).to.have.length(2);
    expect(concepts("Har pacemaker.")).to.deep.equal(concepts("Har ICD."));
    // Negated: other concept ids.
    expect(concepts("Ingen pacemaker.")).to.not.deep.equal(concepts("Har pacemaker."));
    // Copies grow with the square root of the sentence's other ids: min(64, ceil(weight × √m / 4)).
    const m = b.length;
    const copies = Math.min(64, Math.ceil(((cfg.lexicon?.weight ?? 0) * Math.sqrt(m)) / 4));
    expect(a.length).to.equal(m + 2 * copies);
  });

  it("refuses a feature config that names another lexicon", () => {
    const other = { ...DEFAULT_FEATURE_CONFIG, lexicon: { weight: 4, hash: `0x${"0".repeat(64)}` } };
    expect(() => validateFeatureConfig(other)).to.throw(LexiconMismatchError, /lexicon 0x0000/);
    expect(() => featurize("Har pacemaker.", "sv", other)).to.throw(LexiconMismatchError);
    expect(() =>
      validateFeatureConfig({ ...DEFAULT_FEATURE_CONFIG, lexicon: { weight: 0, hash: LEXICON_HASH } }),
    ).to.throw(RangeError);
  });
});
