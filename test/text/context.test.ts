import { expect } from "chai";
import { explainContext } from "../../node/text/explain";

/**
 * Context scope examples per language. explainContext shows each token with its scope prefixes, so the
 * expectations read like the marked-up sentence.
 */
describe("text/context", () => {
  const cases: [string, Parameters<typeof explainContext>[1], string][] = [
    // Norwegian: trigger before, trigger after, pseudo-negation, scope end at "men", colon answer.
    ["Ingen pacemaker.", "nb", "ingen neg:pacemaker ."],
    ["Pacemaker avkreftet.", "nb", "neg:pacemaker avkreftet ."],
    ["Pacemaker kan ikke utelukkes.", "nb", "pacemaker kan ikke utelukkes ."],
    ["Ingen pacemaker men ICD.", "nb", "ingen neg:pacemaker men icd ."],
    ["Pacemaker/ICD: nei", "nb", "neg:pacemaker neg:/ neg:icd : nei"],
    ["Mor har pacemaker.", "nb", "mor fam:har fam:pacemaker ."],
    ["Pacemaker fjernet 2019.", "nb", "rem:pacemaker fjernet rem:2019 ."],
    ["Ingen problemer med pacemakeren.", "nb", "ingen problemer med pacemakeren ."],
    // Swedish
    ["Patienten har inte pacemaker.", "sv", "patienten har inte neg:pacemaker ."],
    ["Pacemaker saknas.", "sv", "neg:pacemaker saknas ."],
    ["Ingen pacemaker, men ICD.", "sv", "ingen neg:pacemaker , men icd ."],
    ["Kan inte uteslutas att pacemaker behövs.", "sv", "kan inte uteslutas att pacemaker behövs ."],
    ["ICD planeras.", "sv", "plan:icd planeras ."],
    // A prefix trigger ("explanter*") covers inflections; a one-word exact trigger wins over it.
    ["Pacemakern explanterades i fjol.", "sv", "rem:pacemakern explanterades rem:i rem:fjol ."],
    ["ICD explanterat 2020.", "sv", "rem:icd explanterat rem:2020 ."],
    ["Hustrun har pacemaker.", "sv", "hustrun fam:har fam:pacemaker ."],
    // A question left unanswered on its line is hypothetical; an answered one is not.
    ["Har du pacemaker eller ICD?", "sv", "hyp:har hyp:du hyp:pacemaker hyp:eller hyp:icd ?"],
    ["Har du pacemaker? Ja", "sv", "har du pacemaker ? ja"],
    // A heading trigger covers its line; a checklist answer covers the line before it.
    [
      "Hereditet: far pacemaker, mor höftprotes",
      "sv",
      "hereditet fam:: fam:far fam:pacemaker fam:, fam:mor fam:höftprotes",
    ],
    ["Metallsplint i øyet / sveising? nei", "nb", "neg:metallsplint neg:i neg:øyet neg:/ neg:sveising ? nei"],
    // A sentence trigger covers its sentence across commas, and stops at the full stop.
    [
      "VP-shunt 2010, togs bort 2016 och ersattes inte. Har ICD.",
      "sv",
      "rem:vp-shunt rem:2010 rem:, rem:togs rem:bort rem:2016 rem:och ersattes inte . har icd .",
    ],
    // Danish
    ["Uden pacemaker.", "da", "uden neg:pacemaker ."],
    ["Pacemaker hos mor.", "da", "fam:pacemaker hos mor ."],
    ["Kan ikke udelukkes.", "da", "kan ikke udelukkes ."],
    // Finnish: inflected forms, trigger after, scope end at "mutta".
    ["Potilaalla ei ole tahdistinta.", "fi", "potilaalla ei ole neg:tahdistinta ."],
    ["Tahdistinta ei ole.", "fi", "neg:tahdistinta ei ole ."],
    ["Ei tahdistinta mutta ICD-laite.", "fi", "ei neg:tahdistinta mutta icd-laite ."],
    ["Äidillä on sydämentahdistin.", "fi", "äidillä fam:on fam:sydämentahdistin ."],
    ["Ei voida sulkea pois tahdistinta.", "fi", "ei voida sulkea pois tahdistinta ."],
    ["Tahdistimen asennusta harkitaan.", "fi", "plan:tahdistimen plan:asennusta harkitaan ."],
    // "No problems with / no shocks from" a device says the device is there (pseudo-negations).
    ["ICD:n kanssa ei ole ollut mitään ongelmia.", "fi", "icd:n kanssa ei ole ollut mitään ongelmia ."],
    ["Ei iskuja, ICD toimii.", "fi", "ei iskuja , icd toimii ."],
    ["Ingen chock från ICD:n.", "sv", "ingen chock från icd:n ."],
    ["Ingen støt fra ICD.", "nb", "ingen støt fra icd ."],
    ["Ingen stød fra ICD.", "da", "ingen stød fra icd ."],
    ["ICD šokke ei ole andnud.", "et", "icd šokke ei ole andnud ."],
    // Estonian: "pole" and "puudub" both ways, scope end at "aga".
    ["Südamestimulaatorit pole.", "et", "neg:südamestimulaatorit pole ."],
    ["Patsiendil pole südamestimulaatorit.", "et", "patsiendil pole neg:südamestimulaatorit ."],
    ["Pole südamestimulaatorit aga ICD on.", "et", "pole neg:südamestimulaatorit aga icd on ."],
    ["Südamestimulaator eemaldatud.", "et", "rem:südamestimulaator eemaldatud ."],
    // English
    ["No pacemaker but an ICD.", "en", "no neg:pacemaker but an icd ."],
    ["Pacemaker ruled out.", "en", "neg:pacemaker ruled out ."],
    ["Mother has a pacemaker.", "en", "mother fam:has fam:a fam:pacemaker ."],
  ];

  for (const [text, lang, expected] of cases) {
    it(`${lang}: ${text}`, () => {
      expect(explainContext(text, lang)).to.equal(expected);
    });
  }

  it("limits a forward scope to five words and stops at a full stop", () => {
    expect(explainContext("Ingen a b c d e f. g", "nb")).to.equal(
      "ingen neg:a neg:b neg:c neg:d neg:e f . g",
    );
  });
});
