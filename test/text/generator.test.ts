import { expect } from "chai";
import { CONTEXT_BITS, markContext } from "../../node/text/context";
import {
  MENTION_KINDS,
  NOTE_STYLES,
  SITE_PROFILES,
  balancedProfile,
  generateNotes,
  generatorLanguages,
  heldOut,
  type Note,
} from "../../node/text/corpus";
import { IMPLANT_CATEGORIES, LABELS, hasImplant, type Lang } from "../../node/text/labels";
import { normalizeText } from "../../node/text/normalize";
import { PACKS } from "../../node/text/synth/packs";
import { Rng } from "../../node/text/synth/prng";
import { renderTemplate } from "../../node/text/synth/render";
import { tokenize } from "../../node/text/tokenize";

const LANGS5: Lang[] = ["nb", "sv", "da", "fi", "et"];

describe("text/generator", () => {
  const corpus = new Map<Lang, Note[]>(
    LANGS5.map((lang) => [lang, generateNotes({ lang, n: 1500, seed: 11 })]),
  );

  it("generates the five Nordic and Baltic languages", () => {
    expect(generatorLanguages()).to.have.members(LANGS5);
    for (const [lang, notes] of corpus) {
      expect(notes).to.have.length(1500);
      const bad = notes.filter((n) => n.lang !== lang || n.text.trim() === "" || /[{}]/.test(n.text));
      expect(bad.map((n) => n.id)).to.deep.equal([]);
    }
  });

  it("is deterministic for a seed, differs between seeds, and note i does not depend on n", () => {
    const a = generateNotes({ lang: "fi", n: 200, seed: 5 });
    expect(generateNotes({ lang: "fi", n: 200, seed: 5 })).to.deep.equal(a);
    const b = generateNotes({ lang: "fi", n: 200, seed: 6 });
    expect(b.filter((n, i) => n.text === a[i].text).length).to.be.lessThan(20);
    expect(generateNotes({ lang: "fi", n: 50, seed: 5 })).to.deep.equal(a.slice(0, 50));
    expect(generateNotes({ lang: "fi", n: 50, seed: 5, offset: 150 })).to.deep.equal(a.slice(150));
  });

  it("writes every style and every mention kind in every language", () => {
    for (const [lang, notes] of corpus) {
      const styles = new Set(notes.map((n) => n.meta?.style));
      expect([...styles], lang).to.have.members([...NOTE_STYLES]);
      const kinds = new Set(notes.flatMap((n) => n.meta?.mentions?.map((m) => m.kind) ?? []));
      expect([...kinds], lang).to.have.members([...MENTION_KINDS]);
      const labels = new Set(notes.flatMap((n) => n.labels));
      expect([...labels], lang).to.have.members([...LABELS]);
    }
  });

  it("labels exactly the positive mentions", () => {
    const wrong: string[] = [];
    for (const notes of corpus.values()) {
      for (const n of notes) {
        const mentions = n.meta?.mentions ?? [];
        const positive = new Set(
          mentions.filter((m) => m.kind === "positive" || m.kind === "hard_positive").map((m) => m.label),
        );
        const expected = LABELS.filter((l) => positive.has(l));
        if (expected.join() !== n.labels.join()) wrong.push(`${n.id}: labels`);
        if (n.meta?.hard && !mentions.some((m) => m.kind === n.meta?.hard)) wrong.push(`${n.id}: hard`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it("gives notes whose only implant mentions are hard negatives no implant label", () => {
    let count = 0;
    for (const notes of corpus.values()) {
      for (const n of notes) {
        const implantMentions = (n.meta?.mentions ?? []).filter((m) => m.label !== "adr");
        const onlyNegative =
          implantMentions.length > 0 &&
          implantMentions.every((m) =>
            ["negated", "family", "planned", "removed", "other_context"].includes(m.kind),
          );
        if (!onlyNegative) continue;
        count++;
        if (hasImplant(n.labels)) expect.fail(`${n.id} has an implant label`);
      }
    }
    expect(count).to.be.greaterThan(1000);
  });

  it("writes hard-negative templates whose device words fall in the matching context scope", () => {
    const bit = {
      negated: CONTEXT_BITS.neg,
      family: CONTEXT_BITS.fam,
      planned: CONTEXT_BITS.plan,
      removed: CONTEXT_BITS.rem,
    };
    for (const lang of LANGS5) {
      const pack = PACKS[lang]!;
      const rng = new Rng(3);
      for (const kind of ["negated", "family", "planned", "removed", "positive"] as const) {
        let total = 0;
        let ok = 0;
        for (const tpl of pack.implant[kind]) {
          for (const dev of pack.devices) {
            const fixed = { dev: dev.forms, side: pack.sides[0], rel: pack.relatives[0], mdl: "" };
            const tokens = tokenize(normalizeText(renderTemplate(tpl, fixed, pack, rng)));
            const flags = markContext(tokens, lang);
            const devWords = new Set(
              Object.values(dev.forms).flatMap((f) =>
                tokenize(normalizeText(renderTemplate(f, fixed, pack, rng)))
                  .filter((t) => t.kind === "word" && t.text.length > 2)
                  .map((t) => t.text),
              ),
            );
            const at = tokens.map((t, i) => (devWords.has(t.text) ? i : -1)).filter((i) => i >= 0);
            if (at.length === 0) continue;
            total++;
            const inScope = at.some((i) =>
              kind === "positive" ? flags[i] !== 0 : (flags[i] & bit[kind]) !== 0,
            );
            if (kind === "positive" ? !inScope : inScope) ok++;
          }
        }
        expect(ok / total, `${lang} ${kind}`).to.be.at.least(0.95);
      }
    }
  });

  it("makes sites non-IID: default profiles differ in prevalence, categories and styles", () => {
    const stats = (notes: Note[]) => ({
      implant: notes.filter((n) => hasImplant(n.labels)).length / notes.length,
      adr: notes.filter((n) => n.labels.includes("adr")).length / notes.length,
      topCategory: IMPLANT_CATEGORIES.map(
        (c) => [c, notes.filter((n) => n.labels.includes(c)).length] as const,
      ).sort((a, b) => b[1] - a[1])[0][0],
      topStyle: NOTE_STYLES.map((s) => [s, notes.filter((n) => n.meta?.style === s).length] as const).sort(
        (a, b) => b[1] - a[1],
      )[0][0],
    });
    const sv = stats(corpus.get("sv")!);
    const da = stats(corpus.get("da")!);
    const et = stats(corpus.get("et")!);
    expect(sv.implant - et.implant).to.be.greaterThan(0.15);
    expect(da.adr - sv.adr).to.be.greaterThan(0.05);
    expect(sv.topCategory).to.equal("cardiac_rhythm_device");
    expect(da.topCategory).to.equal("orthopaedic_implant");
    expect(sv.topStyle).to.equal("mri_referral");
    expect(da.topStyle).to.equal("discharge");
    expect(et.topStyle).to.equal("medication_list");
    const names = new Set(Object.values(SITE_PROFILES).map((p) => p.name));
    expect(names.size).to.equal(Object.keys(SITE_PROFILES).length);
  });

  it("uses Finnish and Estonian inflected forms and Scandinavian compounds", () => {
    const fi = corpus
      .get("fi")!
      .map((n) => n.text)
      .join("\n");
    expect(fi).to.match(/tahdistinta/);
    expect(fi).to.match(/tahdistimen/);
    const et = corpus
      .get("et")!
      .map((n) => n.text)
      .join("\n");
    expect(et).to.match(/südamestimulaatorit/);
    const nb = corpus
      .get("nb")!
      .map((n) => n.text)
      .join("\n");
    expect(nb).to.match(/pacemakerkontroll/i);
  });

  it("splits mention templates and device terms into train and held-out sets", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => heldOut(i, 8))).to.deep.equal([
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
    ]);
    expect([0, 1].map((i) => heldOut(i, 2))).to.deep.equal([false, true]);
    expect(heldOut(0, 1)).to.equal(false);
    // nb cardiac device terms: index 3 ("implanterbar defibrillator (ICD)") is held out.
    const train = generateNotes({ lang: "nb", n: 1500, seed: 4, split: "train", profile: SITE_PROFILES.nb });
    const held = generateNotes({ lang: "nb", n: 1500, seed: 4, split: "heldout" });
    expect(train.filter((n) => /implanterbar defibrillator/i.test(n.text))).to.have.length(0);
    expect(held.filter((n) => /implanterbar defibrillator/i.test(n.text)).length).to.be.greaterThan(10);
    expect(held[0].id).to.equal("nb-s4-heldout-0");
    expect(generateNotes({ lang: "nb", n: 20, seed: 4, split: "heldout" })).to.deep.equal(held.slice(0, 20));
  });

  it("validates its options", () => {
    expect(() => generateNotes({ lang: "en", n: 1, seed: 1 })).to.throw(/no templates for "en"/);
    expect(() => generateNotes({ lang: "xx" as Lang, n: 1, seed: 1 })).to.throw(/unknown language/);
    expect(() => generateNotes({ lang: "nb", n: 0, seed: 1 })).to.throw(/n must be an integer/);
    expect(() => generateNotes({ lang: "nb", n: 1.5, seed: 1 })).to.throw(/n must be an integer/);
    expect(() => generateNotes({ lang: "nb", n: 1, seed: 1, profile: SITE_PROFILES.sv })).to.throw(
      /is for "sv"/,
    );
    expect(() => generateNotes({ lang: "nb", n: 1, seed: 1, split: "test" as "train" })).to.throw(
      /unknown split/,
    );
    const bad = { ...balancedProfile("nb"), implantPrevalence: 2 };
    expect(() => generateNotes({ lang: "nb", n: 1, seed: 1, profile: bad })).to.throw(/implantPrevalence/);
  });
});
