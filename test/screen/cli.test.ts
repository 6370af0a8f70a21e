/**
 * `fedledger screen` end to end: the real CLI on the hand-written fixture record, with a small model trained
 * once for this file on generated notes of the five languages.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import {
  createInitialModel,
  defaultSpec,
  DEFAULT_TRAINING,
  hashModelBytes,
  trainLocal,
} from "../../node/model";
import { writeModelFile } from "../../node/model/files";
import type { PatientScreening, ScreeningDocument } from "../../node/screen";
import { generateNotes } from "../../node/text/corpus";
import { makeTempDir, removeTempDir, runCli, type CliResult } from "../helpers/cli";

const FIXTURE = path.join(__dirname, "fixtures", "record.jsonl");

describe("fedledger screen", function () {
  this.timeout(120_000);
  let dir: string;
  let model: string;
  let modelHash: string;
  let doc: ScreeningDocument;
  let html: string;
  let first: CliResult;

  const screen = (args: string[]): Promise<CliResult> =>
    runCli(["screen", "--model", model, ...args], { env: { FEDLEDGER_QUIET: "1" } });

  const patient = (d: ScreeningDocument, id: string): PatientScreening => {
    const p = d.patients.find((x) => x.patient === id);
    if (!p) throw new Error(`no ${id} in the document`);
    return p;
  };

  before(async () => {
    dir = await makeTempDir("fedledger-screen-");
    const spec = defaultSpec({ training: { ...DEFAULT_TRAINING, epochs: 3 } });
    const notes = (["nb", "sv", "da", "fi", "et"] as const).flatMap((lang) =>
      generateNotes({ lang, n: 400, seed: 21 }),
    );
    const trained = await trainLocal({ spec, base: createInitialModel(spec, 4), notes, seed: 5 });
    model = path.join(dir, "screen.model");
    await writeModelFile(model, trained.model, spec);
    modelHash = hashModelBytes(trained.model);
    const out = path.join(dir, "out");
    first = await screen(["--notes", FIXTURE, "--out", out]);
    expect(first.code, first.stderr).to.equal(0);
    doc = JSON.parse(await readFile(path.join(out, "screening.json"), "utf8"));
    html = await readFile(path.join(out, "screening.html"), "utf8");
  });
  after(() => removeTempDir(dir));

  it("prints one line per patient and writes the document with the model's hash", () => {
    const lines = first.stdout.trim().split("\n");
    expect(lines).to.have.length(6);
    expect(lines[0]).to.match(/^P-1001: \d+ current implants?: /);
    expect(lines[2]).to.equal("P-3003: no implant found in 2 notes read");
    expect(lines[5]).to.match(/^wrote .*screening\.json and .*screening\.html$/);
    expect(doc).to.deep.include({ schema: "fedledger-screening/1", notesRead: 16 });
    expect(doc.skipped).to.deep.equal({ count: 0, notes: [] });
    expect(doc.model).to.deep.include({ file: "screen.model", hash: modelHash });
    expect(doc.patients.map((p) => [p.patient, p.notesRead])).to.deep.equal([
      ["P-1001", 5],
      ["P-2002", 4],
      ["P-3003", 2],
      ["P-4004", 2],
      ["P-5005", 3],
    ]);
  });

  it("follows the pacemaker replacement and finds the hip prosthesis and the reaction (sv)", () => {
    const p = patient(doc, "P-1001");
    const pacemaker = p.current.find((c) => c.category === "cardiac_rhythm_device");
    expect(pacemaker, p.summary).to.not.equal(undefined);
    expect(pacemaker).to.deep.include({ detail: "Biotronik Edora 8 DR", afterRemoval: true });
    expect(pacemaker?.guidance).to.match(/check the labelling of Biotronik Edora 8 DR before scanning$/);
    expect(pacemaker?.evidence.map((e) => e.note)).to.include("sv-05");
    const old = p.removed.find((r) => r.category === "cardiac_rhythm_device");
    expect(old).to.deep.include({ detail: "Medtronic Adapta", outcome: "replaced", implanted: "2012-04-16" });
    const hip = p.current.find((c) => c.category === "orthopaedic_implant");
    expect(hip).to.deep.include({ device: "joint prosthesis", implanted: "2016-08-30" });
    expect(p.adr.map((a) => a.note)).to.include("sv-02");
    expect(p.adr.find((a) => a.note === "sv-02")?.drug).to.equal("cloxacillin");
  });

  it("keeps the cochlear implant and drops the insulin pump removed later (nb)", () => {
    const p = patient(doc, "P-2002");
    const categories = p.current.map((c) => c.category);
    expect(categories).to.include("cochlear_implant");
    expect(categories).not.to.include("drug_pump");
    expect(p.current.find((c) => c.category === "cochlear_implant")).to.deep.include({
      detail: "Cochlear Nucleus CI512",
      implanted: "2014",
    });
    expect(p.removed.find((r) => r.category === "drug_pump")).to.deep.include({
      detail: "Medtronic MiniMed 640G",
      outcome: "removed",
      removedIn: { note: "nb-03", date: "2022-10-03" },
    });
    expect(p.adr.find((a) => a.note === "nb-03")?.drug).to.equal("enalapril");
  });

  it("says when nothing was found (fi) and flags the conflicts for a human (da, et)", () => {
    const none = patient(doc, "P-3003");
    expect(none).to.deep.include({ summary: "no implant found in 2 notes read", current: [], removed: [] });
    const denied = patient(doc, "P-4004");
    expect(denied.current.find((c) => c.category === "cardiac_rhythm_device")).to.deep.include({
      device: "ICD",
      conflict: true,
    });
    expect(denied.conflicts.map((c) => [c.category, c.kind])).to.deep.include([
      "cardiac_rhythm_device",
      "denied_after_found",
    ]);
    const sameDay = patient(doc, "P-5005");
    expect(sameDay.current.map((c) => c.category)).to.include("cardiac_rhythm_device");
    expect(sameDay.conflicts.map((c) => c.kind)).to.include("same_date");
  });

  it("writes a self-contained, accessible, printable report with one section per patient", () => {
    expect(html).to.match(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).not.to.match(/<script|<link|<img|<iframe|https?:\/\/|@import|url\(/i);
    expect(html.match(/<section class="patient"/g)).to.have.length(5);
    expect(html).to.match(/@media print \{[^]*\.patient \+ \.patient \{ break-before: page; \}/);
    expect(html).to.include('<h2 id="patient-3-h">Patient P-3003</h2>');
    expect(html).to.include("No implant found in 2 notes read.");
    expect(html).to.match(/<blockquote lang="sv">[^<]*<mark>/);
    expect(html).to.match(/<blockquote lang="nb">/);
    const p1 = html.slice(html.indexOf('id="patient-1"'), html.indexOf('id="patient-2"'));
    const order = [
      "<h3>Current implants</h3>",
      "Biotronik Edora 8 DR",
      "<h3>Removed or replaced</h3>",
      "<h3>Adverse drug reactions</h3>",
    ];
    const at = order.map((s) => p1.indexOf(s));
    expect(
      at.every((x) => x >= 0),
      JSON.stringify(at),
    ).to.equal(true);
    expect([...at].sort((a, b) => a - b)).to.deep.equal(at);
    expect(p1).to.include("check the labelling of Biotronik Edora 8 DR before scanning");
  });

  it("escapes note text and patient ids in the report", async () => {
    const file = path.join(dir, "hostile.jsonl");
    await writeFile(
      file,
      JSON.stringify({
        patient: "<img src=x onerror=alert(1)>",
        note: "n<1>",
        date: "2024-03-01",
        lang: "sv",
        text: 'Patienten har pacemaker <script>alert("x")</script> sedan 2019. Utslag efter amoxicillin & "kåvepenin".',
      }) + "\n",
    );
    const out = path.join(dir, "hostile");
    const r = await screen(["--notes", file, "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    const page = await readFile(path.join(out, "screening.html"), "utf8");
    expect(page).not.to.match(/<script|<img/i);
    expect(page).to.include("Patient &lt;img src=x onerror=alert(1)&gt;");
    const json: ScreeningDocument = JSON.parse(await readFile(path.join(out, "screening.json"), "utf8"));
    const sentences = json.patients[0].current.flatMap((c) => c.evidence.map((e) => e.text));
    if (sentences.some((s) => s.includes("<script>")))
      expect(page).to.include("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  });

  it("screens one patient with --patient, and names the count for an unknown one", async () => {
    const out = path.join(dir, "one");
    const r = await screen(["--notes", FIXTURE, "--out", out, "--patient", "P-2002"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split("\n")).to.have.length(2);
    const one: ScreeningDocument = JSON.parse(await readFile(path.join(out, "screening.json"), "utf8"));
    expect(one.patients.map((p) => p.patient)).to.deep.equal(["P-2002"]);
    expect(one.notesRead).to.equal(4);
    expect(one.patients[0].current).to.deep.equal(patient(doc, "P-2002").current);
    const bad = await screen(["--notes", FIXTURE, "--out", out, "--patient", "P-9999"]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^error: no patient "P-9999" in .*record\.jsonl, which has 5 patients\. /);
  });

  it("fails bad notes with one line and exit code 2, naming file, line and field only", async () => {
    const file = path.join(dir, "bad.jsonl");
    const ok = { patient: "P1", date: "2024-01-02", lang: "sv", text: "HEMLIG: patienten har pacemaker." };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, note: "b", date: undefined }, /bad\.jsonl:2: "date" is missing/],
      [{ ...ok, note: "b", lang: "xx" }, /bad\.jsonl:2: "lang" is not a known language/],
      [{ ...ok, note: "b", date: "2024-02-31" }, /bad\.jsonl:2: "date" is not a valid ISO date/],
    ];
    // Every other kind of bad note has its message checked in-process in record.test.ts.
    for (const [line, message] of cases) {
      await writeFile(file, [{ ...ok, note: "a" }, line].map((l) => JSON.stringify(l)).join("\n") + "\n");
      const r = await screen(["--notes", file, "--out", path.join(dir, "never")]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stdout).to.equal("");
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^error: /);
      expect(lines[0]).to.match(message);
      expect(lines[0]).not.to.include(dir);
      expect(lines[0]).not.to.match(/HEMLIG|xx|2024-02-31|\bat \//);
    }
  });

  it("skips invalid notes with --skip-invalid and reports them on stderr and in the document", async () => {
    const source = (await readFile(FIXTURE, "utf8")).trimEnd().split("\n");
    const lines = [
      ...source.slice(0, 3),
      JSON.stringify({ patient: "P-1001", note: "x1", text: "Mår bra.", lang: "sv" }),
      source[3],
      JSON.stringify({ patient: "P-1001", note: "sv-01", date: "2024-01-01", text: "Mår bra." }),
      ...source.slice(4),
    ];
    const file = path.join(dir, "mixed.jsonl");
    await writeFile(file, lines.join("\n") + "\n");
    const out = path.join(dir, "mixed");
    const r = await screen(["--notes", file, "--out", out, "--skip-invalid"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('skipped mixed.jsonl:4: "date" is missing');
    expect(r.stderr).to.include('skipped mixed.jsonl:6: "note" repeats the note id of line 1');
    expect(r.stderr).to.include("skipped 2 invalid notes of 18 (listed in screening.json)");
    const mixed: ScreeningDocument = JSON.parse(await readFile(path.join(out, "screening.json"), "utf8"));
    expect(mixed.skipped).to.deep.equal({
      count: 2,
      notes: [
        { line: 4, field: "date", reason: "is missing" },
        { line: 6, field: "note", reason: "repeats the note id of line 1" },
      ],
    });
    expect(mixed.notesRead).to.equal(16);
    const report = await readFile(path.join(out, "screening.html"), "utf8");
    expect(report).to.include("2 invalid notes not read");
  });

  it("reads the record as CSV with the same result", async () => {
    const rows = (await readFile(FIXTURE, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, string>);
    const q = (s: string | undefined): string => `"${(s ?? "").replace(/"/g, '""')}"`;
    const csv =
      "patient,note,date,lang,text\n" +
      rows.map((r) => [r.patient, r.note, r.date, r.lang, r.text].map(q).join(",")).join("\n") +
      "\n";
    const file = path.join(dir, "record.csv");
    await writeFile(file, csv);
    const out = path.join(dir, "csv");
    const r = await screen(["--notes", file, "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    const fromCsv: ScreeningDocument = JSON.parse(await readFile(path.join(out, "screening.json"), "utf8"));
    expect(fromCsv.patients).to.deep.equal(doc.patients);
  });

  it("fails a missing model with exit code 2 and no absolute path", async () => {
    const r = await runCli(
      ["screen", "--notes", FIXTURE, "--model", path.join(dir, "nope.model"), "--out", path.join(dir, "x")],
      { env: { FEDLEDGER_QUIET: "1" } },
    );
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^error: cannot read model nope\.model: no such file/);
    expect(r.stderr).not.to.include(dir);
  });
});
