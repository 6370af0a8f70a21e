/**
 * The screening rules on hand-made readings: the model's verdict per note is given (which categories it
 * reports and from which sentences), so these tests pin what screening does with it, without a model.
 */
import { expect } from "chai";
import {
  labellingCheck,
  parseNoteDate,
  readSentences,
  screenPatient,
  type EvidenceSentence,
  type NoteReading,
} from "../../node/screen";
import type { ImplantCategory, Lang } from "../../node/text/labels";

let line = 0;

/** A note as readNotes would return it, with the model's verdict written by hand. */
function reading(
  note: string,
  date: string,
  lang: Lang,
  text: string,
  reports: Partial<Record<ImplantCategory | "adr", number[]>> = {},
): NoteReading {
  line++;
  const at = parseNoteDate(date);
  if (at === undefined) throw new Error(`bad test date ${date}`);
  const categories = Object.keys(reports).filter((k) => k !== "adr") as ImplantCategory[];
  return {
    note: { patient: "P", note, date, day: date.slice(0, 10), at, text, lang, langDetected: false, line },
    sentences: readSentences(text, lang),
    categories,
    adr: reports.adr !== undefined,
    evidence: reports,
  };
}

const marked = (e: EvidenceSentence): string[] => e.highlights.map(([a, b]) => e.text.slice(a, b));

describe("screening rules", () => {
  it("reports a device with make, model, date, guidance and highlighted evidence", () => {
    const p = screenPatient("P", [
      reading(
        "n1",
        "2019-03-14",
        "sv",
        "Inlagd för yrsel. Pacemaker Medtronic Azure XT DR implanterad 2019-03-12.",
        {
          cardiac_rhythm_device: [1],
        },
      ),
    ]);
    expect(p.current).to.have.length(1);
    const c = p.current[0];
    expect(c).to.deep.include({
      category: "cardiac_rhythm_device",
      device: "pacemaker",
      detail: "Medtronic Azure XT DR",
      implanted: "2019-03-12",
      notes: 1,
      deviceNamed: true,
      conflict: false,
      afterRemoval: false,
    });
    expect(c.guidance).to.equal(labellingCheck("cardiac_rhythm_device", "Medtronic Azure XT DR"));
    expect(c.guidance).to.match(
      /^MR Conditional or MR Unsafe.*: check the labelling of Medtronic Azure XT DR before scanning$/,
    );
    expect(c.mriSafety).to.match(/MR Conditional/);
    expect(c.advice).to.match(/leads/);
    expect(c.evidence).to.have.length(1);
    expect(c.evidence[0]).to.deep.include({ note: "n1", date: "2019-03-14", lang: "sv" });
    expect(marked(c.evidence[0])).to.deep.equal(["Pacemaker", "Medtronic Azure XT DR", "2019-03-12"]);
    expect(p.summary).to.equal("1 current implant: Cardiac rhythm device");
  });

  it("drops a device explanted in a later note and lists it as removed", () => {
    const p = screenPatient("P", [
      reading("n1", "2015-06-01", "sv", "Patienten har pacemaker sedan 2015.", {
        cardiac_rhythm_device: [0],
      }),
      reading("n2", "2020-11-03", "sv", "Pacemakern explanterades 2020 på grund av ficksinfektion."),
    ]);
    expect(p.current).to.deep.equal([]);
    expect(p.removed).to.have.length(1);
    expect(p.removed[0]).to.deep.include({
      category: "cardiac_rhythm_device",
      implanted: "2015",
      removed: "2020",
      outcome: "removed",
      removedIn: { note: "n2", date: "2020-11-03" },
    });
    expect(p.removed[0].evidence.map((e) => e.note)).to.deep.equal(["n1", "n2"]);
    expect(p.summary).to.equal("no current implant in 2 notes read (1 removed device)");
  });

  it("follows a replacement: the old model removed, the new one current", () => {
    const p = screenPatient("P", [
      reading("n1", "2012-04-17", "sv", "Pacemaker Medtronic Adapta ADDR01 inopererad 2012.", {
        cardiac_rhythm_device: [0],
      }),
      reading(
        "n2",
        "2021-03-10",
        "sv",
        "Den gamla pacemakern Medtronic Adapta explanterades. Ny pacemaker Biotronik Edora 8 DR inopererad.",
        { cardiac_rhythm_device: [1] },
      ),
      reading("n3", "2023-01-09", "sv", "Pacemakerkontroll: Biotronik Edora 8 DR fungerar normalt.", {
        cardiac_rhythm_device: [0],
      }),
    ]);
    expect(p.current).to.have.length(1);
    expect(p.current[0]).to.deep.include({
      detail: "Biotronik Edora 8 DR",
      afterRemoval: true,
      notes: 2,
      firstSeen: { note: "n2", date: "2021-03-10" },
      lastSeen: { note: "n3", date: "2023-01-09" },
    });
    expect(p.current[0].details).to.deep.equal(["Biotronik Edora 8 DR"]);
    expect(p.removed).to.have.length(1);
    expect(p.removed[0]).to.deep.include({
      detail: "Medtronic Adapta",
      implanted: "2012",
      outcome: "replaced",
    });
  });

  it("keeps a device reported after an earlier removal (re-implantation)", () => {
    const p = screenPatient("P", [
      reading("n1", "2016-01-01", "nb", "Insulinpumpe fjernet etter eget ønske."),
      reading("n2", "2019-05-05", "nb", "Bruker insulinpumpe Tandem t:slim siden 2019.", { drug_pump: [0] }),
    ]);
    expect(p.current.map((c) => c.category)).to.deep.equal(["drug_pump"]);
    expect(p.current[0].afterRemoval).to.equal(true);
    expect(p.removed[0]).to.deep.include({
      category: "drug_pump",
      outcome: "replaced",
      removed: "2016-01-01",
    });
  });

  it("keeps an abandoned lead the model reports in the note that removes the generator", () => {
    const p = screenPatient("P", [
      reading("n1", "2010-02-02", "sv", "Har pacemaker sedan 2010.", { cardiac_rhythm_device: [0] }),
      reading("n2", "2019-08-20", "sv", "Pacemakern explanterades 2019, en avstängd elektrod ligger kvar.", {
        cardiac_rhythm_device: [0],
      }),
    ]);
    expect(p.current.map((c) => c.category)).to.deep.equal(["cardiac_rhythm_device"]);
    expect(p.current[0]).to.deep.include({ afterRemoval: true, conflict: true, deviceNamed: false });
    expect(p.removed).to.have.length(1);
    expect(p.removed[0].outcome).to.equal("replaced");
    // The sentence names the explanted pacemaker only, so a human checks what is left.
    expect(p.conflicts.map((c) => c.kind)).to.deep.equal(["removed_but_reported"]);
    expect(p.conflicts[0].message).to.match(
      /written as removed in note n2 \(2019-08-20\), which the model still/,
    );
  });

  it("takes a replacement note that names the new device as settled", () => {
    const p = screenPatient("P", [
      reading(
        "n1",
        "2019-08-20",
        "sv",
        "Gamla pacemakern explanterades. Ny pacemaker inopererad samma dag.",
        {
          cardiac_rhythm_device: [1],
        },
      ),
    ]);
    expect(p.conflicts).to.deep.equal([]);
    expect(p.current[0]).to.deep.include({ afterRemoval: true, conflict: false });
  });

  it("flags a device denied in a later checklist, and keeps it", () => {
    const found = reading(
      "n1",
      "2019-05-14",
      "da",
      "Patienten har en implanteret ICD fra Boston Scientific.",
      {
        cardiac_rhythm_device: [0],
      },
    );
    const denied = reading("n2", "2024-01-08", "da", "MR-tjekliste\nPacemaker/ICD: nej\nGraviditet: nej");
    const p = screenPatient("P", [found, denied]);
    expect(p.current).to.have.length(1);
    expect(p.current[0]).to.deep.include({ detail: "Boston Scientific", device: "ICD", conflict: true });
    expect(p.conflicts).to.have.length(1);
    expect(p.conflicts[0]).to.deep.include({ category: "cardiac_rhythm_device", kind: "denied_after_found" });
    expect(p.conflicts[0].message).to.match(
      /reported in note n1 \(2019-05-14\) but denied in the later note n2/,
    );
    expect(p.conflicts[0].evidence.map((e) => e.note)).to.deep.equal(["n1", "n2"]);
    expect(marked(p.conflicts[0].evidence[1])).to.deep.equal(["Pacemaker", "ICD"]);

    const again = reading("n3", "2024-02-01", "da", "Patienten har ICD.", { cardiac_rhythm_device: [0] });
    const settled = screenPatient("P", [found, denied, again]);
    expect(settled.conflicts).to.deep.equal([]);
    expect(settled.current[0].conflict).to.equal(false);
  });

  it("does not flag a denial before the first report", () => {
    const p = screenPatient("P", [
      reading("n1", "2018-01-01", "sv", "Ingen pacemaker."),
      reading("n2", "2020-01-01", "sv", "Har fått pacemaker.", { cardiac_rhythm_device: [0] }),
    ]);
    expect(p.conflicts).to.deep.equal([]);
    expect(p.current.map((c) => c.category)).to.deep.equal(["cardiac_rhythm_device"]);
  });

  it("flags a device removed and reported on the same date, and keeps it", () => {
    const p = screenPatient("P", [
      reading("n1", "2018-03-01", "et", "Patsiendil on südamestimulaator.", { cardiac_rhythm_device: [0] }),
      reading("n3", "2022-09-15T16:45", "et", "Patsiendil on südamestimulaator.", {
        cardiac_rhythm_device: [0],
      }),
      reading("n2", "2022-09-15T09:10", "et", "Südamestimulaator eemaldatud infektsiooni tõttu."),
    ]);
    expect(p.current.map((c) => c.category)).to.deep.equal(["cardiac_rhythm_device"]);
    expect(p.current[0].conflict).to.equal(true);
    expect(p.conflicts.map((c) => c.kind)).to.deep.equal(["same_date"]);
    expect(p.conflicts[0].message).to.match(
      /removed in note n2 and reported present in note n3, both dated 2022-09-15/,
    );
  });

  it("flags a removal note the model also reports, next to a report on the same date", () => {
    const p = screenPatient("P", [
      reading("n1", "2018-03-01", "et", "Patsiendil on südamestimulaator.", { cardiac_rhythm_device: [0] }),
      reading(
        "n2",
        "2022-09-15T09:10",
        "et",
        "Südamestimulaator eemaldatud infektsiooni tõttu. Ravi jätkub.",
        {
          cardiac_rhythm_device: [1],
        },
      ),
      reading("n3", "2022-09-15T16:45", "et", "Patsiendil on südamestimulaator.", {
        cardiac_rhythm_device: [0],
      }),
    ]);
    expect(p.current.map((c) => c.category)).to.deep.equal(["cardiac_rhythm_device"]);
    expect(p.conflicts.map((c) => c.kind)).to.deep.equal(["same_date"]);
    expect(p.conflicts[0].message).to.match(/removed in note n2 and reported present in note n3/);
  });

  it("orders the notes by date whatever order they come in", () => {
    const notes = [
      reading("n2", "2020-11-03", "sv", "Pacemakern explanterades 2020."),
      reading("n1", "2015-06-01", "sv", "Patienten har pacemaker.", { cardiac_rhythm_device: [0] }),
    ];
    const p = screenPatient("P", notes);
    expect(p.current).to.deep.equal([]);
    expect(p.firstDate).to.equal("2015-06-01");
    expect(p.lastDate).to.equal("2020-11-03");
  });

  it("says when nothing was found, and lists adverse drug reactions with the drug", () => {
    const p = screenPatient("P", [
      reading("n1", "2020-02-02", "sv", "Utslag efter amoxicillin, bytt till klindamycin.", { adr: [0] }),
      reading("n2", "2021-02-02", "sv", "Mår bra."),
    ]);
    expect(p.current).to.deep.equal([]);
    expect(p.summary).to.equal("no implant found in 2 notes read");
    expect(p.adr).to.have.length(1);
    expect(p.adr[0]).to.deep.include({ note: "n1", date: "2020-02-02" });
    expect(p.adr[0]).to.deep.include({ drug: "amoxicillin", drugs: ["amoxicillin", "clindamycin"] });
    expect(p.adr[0].harms).to.deep.equal(["rash"]);
    expect(marked(p.adr[0].evidence[0])).to.include.members(["Utslag", "amoxicillin"]);
  });

  it("reads dates written as 12.3.2019, 03/2019 or a year, never one after the note", () => {
    const implanted = (text: string, category: ImplantCategory): string | undefined =>
      screenPatient("P", [reading("n", "2020-01-01", "sv", text, { [category]: [0] })]).current[0].implanted;
    expect(implanted("Cochleaimplantat insatt 12.3.2019 i höger öra.", "cochlear_implant")).to.equal(
      "2019-03-12",
    );
    expect(implanted("Insulinpump sedan 03/2018.", "drug_pump")).to.equal("2018-03");
    expect(implanted("Höftledsprotes vänster 2011, kontroll 2019.", "orthopaedic_implant")).to.equal("2011");
    expect(implanted("Pacemaker, ny kontroll 2025.", "cardiac_rhythm_device")).to.equal(undefined);
  });

  it("marks a category the model reports from sentences that name no such device", () => {
    const p = screenPatient("P", [
      reading("n1", "2020-02-02", "sv", "Behandlas med diuretika.", { heart_valve: [0] }),
    ]);
    expect(p.current[0]).to.deep.include({ category: "heart_valve", deviceNamed: false });
  });
});
