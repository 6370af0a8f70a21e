import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { loadRecord, parseNoteDate, RecordError } from "../../node/screen";

const FIXTURE = path.join(__dirname, "fixtures", "record.jsonl");

const good = (note: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  patient: "P1",
  note,
  date: "2024-01-02",
  lang: "sv",
  text: "HEMLIG anteckning: patienten mår bra.",
  ...extra,
});

describe("screening record files", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "fedledger-record-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function jsonl(name: string, lines: (Record<string, unknown> | string)[]): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(
      file,
      lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n",
    );
    return file;
  }

  async function failure(file: string): Promise<string> {
    try {
      await loadRecord(file);
    } catch (err) {
      expect(err).to.be.instanceOf(RecordError);
      expect((err as RecordError).exitCode).to.equal(2);
      return (err as RecordError).toLine();
    }
    expect.fail(`${file} should not load`);
  }

  it("reads the fixture record: patients in file order, missing languages detected", async () => {
    const record = await loadRecord(FIXTURE);
    expect(record.notes).to.have.length(16);
    expect(record.patients).to.deep.equal(["P-1001", "P-2002", "P-3003", "P-4004", "P-5005"]);
    expect(record.skipped).to.deep.equal([]);
    const byId = new Map(record.notes.map((n) => [n.note, n]));
    expect(byId.get("sv-04")).to.deep.include({ lang: "sv", langDetected: true, line: 4 });
    expect(byId.get("fi-02")).to.deep.include({ lang: "fi", langDetected: true });
    expect(byId.get("nb-01")).to.deep.include({ lang: "nb", langDetected: false, day: "2015-01-12" });
    expect(byId.get("et-02")).to.deep.include({ date: "2022-09-15T09:10", day: "2022-09-15" });
  });

  it("reads CSV with the same columns in any order, quoted lines and a detected delimiter", async () => {
    const file = path.join(dir, "record.csv");
    await writeFile(
      file,
      "\ufeffDate;Patient;Note;Text;Lang\n" +
        '2024-01-02;P1;a;"Har pacemaker.\nKontroll om ett år.";sv\n' +
        "2024-02-03;P2;b;Potilaalla on tahdistin.;\n",
    );
    const record = await loadRecord(file);
    expect(record.notes.map((n) => [n.patient, n.note, n.line, n.lang, n.langDetected])).to.deep.equal([
      ["P1", "a", 2, "sv", false],
      ["P2", "b", 4, "fi", true],
    ]);
    expect(record.notes[0].text).to.equal("Har pacemaker.\nKontroll om ett år.");
  });

  it("orders date-times across zones", () => {
    expect(parseNoteDate("2022-09-15T10:00+02:00")).to.equal(Date.UTC(2022, 8, 15, 8));
    expect(parseNoteDate("2022-09-15 10:00")).to.equal(Date.UTC(2022, 8, 15, 10));
    expect(parseNoteDate("2022-09-15")).to.equal(Date.UTC(2022, 8, 15));
    for (const bad of ["2023-02-30", "2023-13-01", "14.03.2023", "2023-1-5", "2023-01-05T25:00", "yesterday"])
      expect(parseNoteDate(bad), bad).to.equal(undefined);
  });

  const cases: [string, Record<string, unknown> | string, RegExp][] = [
    ["a note without date", { ...good("b"), date: undefined }, /:2: "date" is missing/],
    ["a note without patient", { ...good("b"), patient: undefined }, /:2: "patient" is missing/],
    ["an empty patient", good("b", { patient: " " }), /:2: "patient" is empty/],
    [
      "an unknown language",
      good("b", { lang: "no" }),
      /:2: "lang" is not a known language \(expected one of nb, sv/,
    ],
    ["an empty text", good("b", { text: "  \n " }), /:2: "text" is empty/],
    ["a malformed date", good("b", { date: "2023-02-30" }), /:2: "date" is not a valid ISO date/],
    ["a date in another format", good("b", { date: "14.03.2023" }), /:2: "date" is not a valid ISO date/],
    ["a duplicate note id", good("a"), /:2: "note" repeats the note id of line 1/],
    ["an unknown field", good("b", { labels: [] }), /:2: unknown field "labels" \(expected patient, note/],
    ["a line that is not JSON", '{"patient": "P1", "note": HEMLIG', /:2: is not valid JSON/],
    ["a text that is not a string", good("b", { text: 7 }), /:2: "text" must be a string/],
  ];
  for (const [what, line, message] of cases)
    it(`rejects ${what} with the file, the line and the field, never the content`, async () => {
      const file = await jsonl("bad.jsonl", [good("a"), line, good("c")]);
      const text = await failure(file);
      expect(text).to.match(/^bad\.jsonl:2: /);
      expect(text).to.match(message);
      expect(text).to.match(/--skip-invalid/);
      expect(text).not.to.include(dir);
      expect(text).not.to.include("HEMLIG");
      expect(text).not.to.include("2023-02-30");
      expect(text).not.to.match(/"no"/);
    });

  it("counts further bad notes and skips them all with skipInvalid", async () => {
    const file = await jsonl("two.jsonl", [good("a"), good("b", { date: "" }), good("a"), good("d")]);
    expect(await failure(file)).to.match(
      /^two\.jsonl:2: "date" is not a valid ISO date .*\(and 1 more invalid note\)\. fix the notes/,
    );
    const record = await loadRecord(file, { skipInvalid: true });
    expect(record.notes.map((n) => n.note)).to.deep.equal(["a", "d"]);
    expect(record.skipped).to.deep.equal([
      { line: 2, field: "date", reason: "is not a valid ISO date (YYYY-MM-DD or YYYY-MM-DDThh:mm)" },
      { line: 3, field: "note", reason: "repeats the note id of line 1" },
    ]);
  });

  it("rejects invalid UTF-8, empty and unknown files", async () => {
    const bytes = path.join(dir, "latin1.jsonl");
    await writeFile(
      bytes,
      Buffer.concat([
        Buffer.from(JSON.stringify(good("a")) + "\n"),
        Buffer.from('{"patient":"P1","note":"b","date":"2024-01-01","text":"h\xe4lsa"}\n', "latin1"),
      ]),
    );
    expect(await failure(bytes)).to.match(/^latin1\.jsonl:2: the line is not valid UTF-8/);
    expect(await failure(await jsonl("empty.jsonl", ["", "  "]))).to.match(
      /^empty\.jsonl: the file has no notes/,
    );
    const all = await jsonl("allbad.jsonl", [good("a", { text: "" })]);
    await loadRecord(all, { skipInvalid: true }).then(
      () => expect.fail("should fail"),
      (err: RecordError) => expect(err.toLine()).to.match(/^allbad\.jsonl: none of the 1 notes is valid/),
    );
    expect(await failure(path.join(dir, "notes.txt"))).to.match(/^notes\.txt: unknown file type "\.txt"/);
    expect(await failure(path.join(dir, "missing.jsonl"))).to.match(
      /^cannot read missing\.jsonl: no such file/,
    );
  });

  it("rejects a CSV header without a required column or with an unknown one", async () => {
    const file = path.join(dir, "head.csv");
    await writeFile(file, "patient,note,text\nP1,a,Har pacemaker.\n");
    expect(await failure(file)).to.match(/^head\.csv:1: no "date" column in the header/);
    await writeFile(file, "patient,note,date,text,ward\nP1,a,2024-01-01,Har pacemaker.,7\n");
    expect(await failure(file)).to.match(/^head\.csv:1: unknown column "ward"/);
  });
});
