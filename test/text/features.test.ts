import { expect } from "chai";
import {
  DEFAULT_FEATURE_CONFIG,
  EMPTY_FEATURE_ID,
  featurize,
  splitSentences,
  validateFeatureConfig,
  type FeatureConfig,
} from "../../node/text/features";
import { fnv1a } from "../../node/text/hash";
import { normalizeText } from "../../node/text/normalize";
import { tokenize } from "../../node/text/tokenize";

const texts = (s: string) => tokenize(normalizeText(s)).map((t) => t.text);

describe("text/features", () => {
  describe("normalisation and tokens", () => {
    it("lower-cases and keeps Nordic and Estonian letters", () => {
      expect(normalizeText("ÅÄÖØÆÕÜŠŽ åäöøæõüšž")).to.equal("åäöøæõüšž åäöøæõüšž");
      expect(normalizeText("SYDÄMENTAHDISTIN")).to.equal("sydämentahdistin");
    });

    it("composes decomposed letters (NFC) so both spellings tokenise alike", () => {
      const decomposed = "a\u030Angstrom o\u0308ra";
      expect(normalizeText(decomposed)).to.equal("ångstrom öra");
      expect(featurize(decomposed, "sv")).to.deep.equal(featurize("ångstrom öra", "sv"));
    });

    it("keeps hyphenated compounds and Finnish colon endings as one token", () => {
      expect(texts("Pacemaker-kontroll i dag, ICD:n ja CRT-D:llä.")).to.deep.equal([
        "pacemaker-kontroll",
        "i",
        "dag",
        ",",
        "icd:n",
        "ja",
        "crt-d:llä",
        ".",
      ]);
      expect(texts("BT 135/85, 12.03.2019 kl. 1,5")).to.deep.equal([
        "bt",
        "135",
        "/",
        "85",
        ",",
        "12.03.2019",
        "kl",
        ".",
        "1,5",
      ]);
      expect(tokenize("a\nb").map((t) => t.kind)).to.deep.equal(["word", "newline", "word"]);
    });
  });

  describe("hash", () => {
    it("is 32-bit FNV-1a over UTF-8 (published test vectors)", () => {
      expect(fnv1a("")).to.equal(0x811c9dc5);
      expect(fnv1a("a")).to.equal(0xe40c292c);
      expect(fnv1a("foobar")).to.equal(0xbf9cf968);
      // "å" is c3 a5 in UTF-8.
      let h = 0x811c9dc5;
      for (const b of [0xc3, 0xa5]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      expect(fnv1a("å")).to.equal(h);
    });
  });

  describe("featurize", () => {
    const note =
      "Pasienten har pacemaker (Medtronic Azure) implantert 12.03.2019. Ingen kjente legemiddelallergier.";

    it("is deterministic and stays in [0, buckets)", () => {
      const a = featurize(note, "nb");
      expect(a).to.deep.equal(featurize(note, "nb"));
      expect(a.length).to.be.greaterThan(50);
      for (const id of a) expect(id).to.be.within(1, DEFAULT_FEATURE_CONFIG.buckets - 1);
      const small: FeatureConfig = { buckets: 8, wordNgrams: 1, charNgramMin: 3, charNgramMax: 4 };
      for (const id of featurize(note, "nb", small)) expect(id).to.be.within(1, 7);
    });

    it("emits the reserved id for text without words", () => {
      expect([...featurize("", "fi")]).to.deep.equal([EMPTY_FEATURE_ID]);
      expect([...featurize(" ... \n !", "et")]).to.deep.equal([EMPTY_FEATURE_ID]);
    });

    it("gives negated, family, planned and removed mentions different ids", () => {
      const plain = new Set(featurize("pacemaker", "nb"));
      for (const s of ["ingen pacemaker", "mor har pacemaker", "planlagt pacemaker", "pacemaker fjernet"]) {
        const ids = featurize(s, "nb");
        // The unigram of "pacemaker" in scope differs from the plain one; plain character n-grams are absent.
        const plainUnigram = featurize("pacemaker", "nb", {
          ...DEFAULT_FEATURE_CONFIG,
          wordNgrams: 1,
          charNgramMin: 0,
          charNgramMax: 0,
        })[0];
        expect([...ids], s).to.not.include(plainUnigram);
        expect([...ids].filter((id) => plain.has(id)).length, s).to.be.lessThan(3);
      }
    });

    it("counts repeats and depends on the config", () => {
      const once = featurize("stent", "sv");
      expect(featurize("stent stent", "sv").length).to.be.greaterThan(2 * once.length - 1);
      const uni = featurize(note, "nb", { ...DEFAULT_FEATURE_CONFIG, wordNgrams: 1 });
      expect(uni.length).to.be.lessThan(featurize(note, "nb").length);
    });

    it("handles a 2 MB note in linear time without failing", () => {
      const big = `${note}\n`.repeat(Math.ceil(2_000_000 / note.length));
      const ids = featurize(big, "nb");
      expect(ids.length).to.be.greaterThan(1_000_000);
      expect(ids.every((id) => id < DEFAULT_FEATURE_CONFIG.buckets)).to.equal(true);
    });

    it("rejects a bad config", () => {
      expect(() => validateFeatureConfig({ ...DEFAULT_FEATURE_CONFIG, buckets: 1000 })).to.throw(
        /power of two/,
      );
      expect(() => featurize("x", "nb", { ...DEFAULT_FEATURE_CONFIG, wordNgrams: 0 })).to.throw(/wordNgrams/);
      expect(() =>
        featurize("x", "nb", { ...DEFAULT_FEATURE_CONFIG, charNgramMin: 5, charNgramMax: 3 }),
      ).to.throw(/charNgramMin/);
    });
  });

  describe("splitSentences", () => {
    it("splits at sentence ends and line breaks, not at abbreviations or dates", () => {
      expect(splitSentences("Har pacemaker. Ingen kjente allergier.")).to.deep.equal([
        "Har pacemaker.",
        "Ingen kjente allergier.",
      ]);
      expect(
        splitSentences("Implantert 12. mars 2019 av dr. Hansen, bl.a. kontroll.\nCAVE: penicillin"),
      ).to.deep.equal(["Implantert 12. mars 2019 av dr. Hansen, bl.a. kontroll.", "CAVE: penicillin"]);
      expect(splitSentences("Tahdistin asennettu 3.4.2019. Ei allergioita! Onko?  ")).to.deep.equal([
        "Tahdistin asennettu 3.4.2019.",
        "Ei allergioita!",
        "Onko?",
      ]);
      expect(splitSentences("   ")).to.deep.equal([]);
    });

    it("keeps clinical abbreviations, dotted letters and a bracketed date inside their sentence", () => {
      expect(
        splitSentences(
          "Pacemaker (Biotronik Edora 8 DR, impl. okt. 2019). Behandling: I.v. Ceftriaxon. Tålt.",
        ),
      ).to.deep.equal([
        "Pacemaker (Biotronik Edora 8 DR, impl. okt. 2019).",
        "Behandling: I.v. Ceftriaxon.",
        "Tålt.",
      ]);
      expect(splitSentences("ICD (inop. 2020). Kontroll om 3 mnd. Neste.")).to.deep.equal([
        "ICD (inop. 2020).",
        "Kontroll om 3 mnd.",
        "Neste.",
      ]);
      // A piece without letters joins the sentence before it, not across a line break.
      expect(splitSentences("Stent i LAD 2. 2019.\n(3)")).to.deep.equal(["Stent i LAD 2. 2019.", "(3)"]);
      expect(splitSentences("On-X 23 mm. Koronaarstent 2017.")).to.deep.equal([
        "On-X 23 mm.",
        "Koronaarstent 2017.",
      ]);
    });
  });
});
