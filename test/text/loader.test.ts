import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  MAX_NOTE_BYTES,
  NoteDataError,
  generateNotes,
  loadNotes,
  writeNotesJsonl,
  type NoteProblem,
} from "../../node/text/corpus";
import { FedledgerError } from "../../node/errors";

/** Expects loadNotes to fail and returns its problems. */
async function problemsOf(files: string[], requireLabels = true): Promise<NoteProblem[]> {
  try {
    await loadNotes(files, { requireLabels });
  } catch (err) {
    expect(err).to.be.instanceOf(NoteDataError);
    return (err as NoteDataError).problems;
  }
  expect.fail("loadNotes should have failed");
}

describe("text/loader", () => {
  let dir: string;
  const file = (name: string, content: string | Buffer): string => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "fedledger-text-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("JSONL", () => {
    it("round-trips generated notes with their meta", async () => {
      const notes = [
        ...generateNotes({ lang: "da", n: 120, seed: 2 }),
        ...generateNotes({ lang: "et", n: 80, seed: 2 }),
      ];
      const p = path.join(dir, "gen.jsonl");
      expect(await writeNotesJsonl(p, [notes.slice(0, 100), notes.slice(100)])).to.equal(200);
      expect(await loadNotes([p])).to.deep.equal(notes);
    });

    it("detects a missing language, names a missing id, sorts and dedupes labels, skips blank lines", async () => {
      const p = file(
        "mini.jsonl",
        [
          JSON.stringify({
            text: "Potilaalla on tahdistin. Ei tiedossa olevia lääkeaineallergioita.",
            labels: ["adr", "cardiac_rhythm_device", "adr"],
          }),
          "",
          JSON.stringify({ id: 7, lang: "sv", text: "Inga implantat.", labels: [] }),
        ].join("\r\n"),
      );
      const notes = await loadNotes([p]);
      expect(notes).to.deep.equal([
        {
          id: "mini.jsonl:1",
          lang: "fi",
          text: "Potilaalla on tahdistin. Ei tiedossa olevia lääkeaineallergioita.",
          labels: ["cardiac_rhythm_device", "adr"],
        },
        { id: "7", lang: "sv", text: "Inga implantat.", labels: [] },
      ]);
    });

    it("reports each bad line with its number and reason", async () => {
      const good = (id: string) =>
        JSON.stringify({ id, lang: "nb", text: "Har pacemaker.", labels: ["cardiac_rhythm_device"] });
      const p = file(
        "bad.jsonl",
        [
          good("a"),
          "{not json",
          JSON.stringify({ id: "b", lang: "nb", text: "   ", labels: [] }),
          JSON.stringify({ id: "c", lang: "nb", text: "x", labels: ["pacemaker"] }),
          JSON.stringify({ id: "d", lang: "no", text: "x", labels: [] }),
          JSON.stringify({ id: "e", lang: "nb", text: "x", labels: ["implant"] }),
          JSON.stringify({ id: "f", lang: "nb", text: "x", lables: [] }),
          JSON.stringify({ id: "g", lang: "nb", text: "x" }),
          good("a"),
          "[1,2]",
          JSON.stringify({ id: "h", lang: "nb", text: "x", labels: [], meta: { style: "poem" } }),
        ].join("\n"),
      );
      const problems = await problemsOf([p]);
      const byLine = Object.fromEntries(problems.map((q) => [q.line, q.message]));
      expect(problems.every((q) => q.file === p)).to.equal(true);
      expect(Object.keys(byLine).map(Number)).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(byLine[2]).to.match(/^invalid JSON/);
      expect(byLine[3]).to.equal("text is empty");
      expect(byLine[4]).to.match(/unknown label "pacemaker"/);
      expect(byLine[5]).to.match(/unknown language "no" \(use "nb" for Norwegian\)/);
      expect(byLine[6]).to.match(/"implant" is derived/);
      expect(byLine[7]).to.match(/unknown field "lables"/);
      expect(byLine[8]).to.match(/"labels" is missing/);
      expect(byLine[9]).to.match(/duplicate id "a" \(first seen at .*bad\.jsonl:1\)/);
      expect(byLine[10]).to.match(/expected a JSON object/);
      expect(byLine[11]).to.match(/invalid meta\.style/);
    });

    it("lists the first problems in one message and can skip bad lines instead", async () => {
      const p = file(
        "some-bad.jsonl",
        ["{", JSON.stringify({ text: "Inga implantat.", labels: [] }), "{", "{", "{", "{", "{"].join("\n"),
      );
      try {
        await loadNotes([p]);
        expect.fail("should fail");
      } catch (err) {
        expect(err).to.be.instanceOf(NoteDataError);
        const e = err as NoteDataError;
        expect(e.total).to.equal(6);
        expect(e.message).to.match(/^6 invalid records: .*some-bad\.jsonl:1: invalid JSON.*\(and 1 more\)$/);
        expect(e.toLine()).to.match(/skipInvalid/);
      }
      const skipped: NoteProblem[] = [];
      const notes = await loadNotes([p], { skipInvalid: true, onSkip: (q) => skipped.push(q) });
      expect(notes.map((n) => n.text)).to.deep.equal(["Inga implantat."]);
      expect(skipped.map((q) => q.line)).to.deep.equal([1, 3, 4, 5, 6, 7]);
    });

    it("rejects invalid UTF-8 with the line and byte offset, keeping the other lines", async () => {
      const ok = Buffer.from(
        `${JSON.stringify({ lang: "nb", text: "Høyre hofteprotese.", labels: ["orthopaedic_implant"] })}\n`,
      );
      const bad = Buffer.concat([
        Buffer.from('{"lang":"nb","text":"H'),
        Buffer.from([0xf8, 0x79]),
        Buffer.from('re","labels":[]}\n'),
      ]);
      const p = file("latin1.jsonl", Buffer.concat([ok, bad, ok]));
      const problems = await problemsOf([p]);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.deep.include({ line: 2 });
      expect(problems[0].message).to.match(/invalid UTF-8 at byte 23 of the line/);
      const kept = await loadNotes([p], { skipInvalid: true });
      expect(kept.map((n) => n.id)).to.deep.equal(["latin1.jsonl:1", "latin1.jsonl:3"]);
    });

    it("accepts a 5 MB note and rejects one above the limit", async () => {
      const sentence = "Pasienten har pacemaker og ingen kjente allergier. ";
      const five = sentence.repeat(Math.ceil((5 * 1024 * 1024) / sentence.length));
      const huge = sentence.repeat(Math.ceil((MAX_NOTE_BYTES + 1024) / sentence.length));
      const p = file(
        "big.jsonl",
        [
          JSON.stringify({ id: "five", lang: "nb", text: five, labels: ["cardiac_rhythm_device"] }),
          JSON.stringify({ id: "huge", lang: "nb", text: huge, labels: [] }),
        ].join("\n"),
      );
      const problems = await problemsOf([p]);
      expect(problems).to.have.length(1);
      expect(problems[0].line).to.equal(2);
      expect(problems[0].message).to.match(/text is 8\.\d MiB, above the 8 MiB limit/);
      const notes = await loadNotes([p], { skipInvalid: true });
      expect(notes.map((n) => n.id)).to.deep.equal(["five"]);
      expect(notes[0].text.length).to.equal(five.length);
    });

    it("accepts notes without labels when asked", async () => {
      const p = file("unlabeled.jsonl", JSON.stringify({ lang: "et", text: "Implantaate ei ole." }));
      expect((await loadNotes([p], { requireLabels: false }))[0].labels).to.deep.equal([]);
      expect((await problemsOf([p]))[0].message).to.match(/labels" is missing/);
    });
  });

  describe("CSV", () => {
    it("reads a header, label columns (1/0, true/false), quoted multi-line text and a BOM", async () => {
      const p = file(
        "notes.csv",
        "\ufeffid,lang,text,cardiac_rhythm_device,ADR\n" +
          'n1,sv,"Patienten har pacemaker, inga allergier.",1,0\n' +
          'n2,,"Rad ett.\nUtslag efter amoxicillin, utsatt.",false,TRUE\n' +
          "\n" +
          "n3,nb,Ingen implantater.,0,no\n",
      );
      expect(await loadNotes([p])).to.deep.equal([
        {
          id: "n1",
          lang: "sv",
          text: "Patienten har pacemaker, inga allergier.",
          labels: ["cardiac_rhythm_device"],
        },
        { id: "n2", lang: "sv", text: "Rad ett.\nUtslag efter amoxicillin, utsatt.", labels: ["adr"] },
        { id: "n3", lang: "nb", text: "Ingen implantater.", labels: [] },
      ]);
    });

    it("detects semicolon and tab delimiters", async () => {
      const semi = file("semi.csv", 'text;adr\n"Kvalme etter morfin; byttet til oksykodon.";1\n');
      expect((await loadNotes([semi]))[0]).to.deep.include({ lang: "nb", labels: ["adr"] });
      const tab = file("tab.tsv", "text\tneurostimulator\nPotilaalla on syväaivostimulaattori.\t1\n");
      expect((await loadNotes([tab]))[0]).to.deep.include({ lang: "fi", labels: ["neurostimulator"] });
    });

    it("reports bad values, field counts and the header with line numbers", async () => {
      const p = file(
        "bad.csv",
        "text,adr,lang\n" +
          "Utslett etter penicillin.,maybe,nb\n" +
          '"Hoste\nav enalapril.",1,nb,extra\n' +
          ",0,nb\n" +
          "Ei allergioita.,0,fi\n" +
          "Inga implantat.,0,xx\n",
      );
      const problems = await problemsOf([p]);
      expect(problems.map((q) => q.line)).to.deep.equal([2, 3, 5, 7]);
      expect(problems[0].message).to.match(/column adr: expected 1\/0 or true\/false, got "maybe"/);
      expect(problems[1].message).to.match(/record has 4 fields, the header has 3/);
      expect(problems[2].message).to.equal("text is empty");
      expect(problems[3].message).to.match(/unknown language "xx"/);

      expect((await problemsOf([file("h1.csv", "note,adr\nx,1\n")]))[0]).to.deep.include({ line: 1 });
      expect((await problemsOf([file("h2.csv", "text,cardiac_device\nx,1\n")]))[0].message).to.match(
        /unknown column "cardiac_device"/,
      );
      expect((await problemsOf([file("h3.csv", "text\nx\n")]))[0].message).to.match(/no label columns/);
      expect((await problemsOf([file("empty.csv", "")]))[0].message).to.match(/empty/);
    });

    it("reports CSV syntax errors and invalid UTF-8 by line", async () => {
      const quote = await problemsOf([file("quote.csv", 'text,adr\nok,0\n"never closed,1\n')]);
      expect(quote[0].message).to.match(/CSV syntax: Quote Not Closed/);
      const latin1 = Buffer.concat([
        Buffer.from("text,adr\nok,0\nh"),
        Buffer.from([0xf8]),
        Buffer.from("yre,1\n"),
      ]);
      const utf = await problemsOf([file("latin1.csv", latin1)]);
      expect(utf).to.have.length(1);
      expect(utf[0]).to.deep.include({ line: 3 });
      expect(utf[0].message).to.match(/invalid UTF-8/);
    });
  });

  it("fails clearly on a missing file or an unknown file type", async () => {
    for (const [paths, re] of [
      [[path.join(dir, "nope.jsonl")], /cannot read .*nope\.jsonl: ENOENT/],
      [[file("notes.txt", "x")], /unknown file type ".txt"/],
    ] as const) {
      try {
        await loadNotes([...paths]);
        expect.fail("should fail");
      } catch (err) {
        expect(err).to.be.instanceOf(FedledgerError);
        expect((err as Error).message).to.match(re);
      }
    }
  });
});
