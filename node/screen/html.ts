/**
 * The screening report a radiographer reads before the scan, `screening.html`: one self-contained page
 * (inline CSS, no script, no external resource) with one section per patient: current implants first, each
 * with its MR safety class, the labelling check and the category's advice, then conflicts for a human,
 * removed or replaced devices, and adverse drug reactions; every finding with its sentences, the words that
 * matter marked. All note text is escaped. Printing starts every patient on a new page.
 */
import type { Lang } from "../text/labels";
import type {
  AdverseReaction,
  Conflict,
  CurrentImplant,
  EvidenceSentence,
  PatientScreening,
  RemovedImplant,
  ScreeningDocument,
} from "./document";
import { problemText } from "./record";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const LANG_NAMES: Record<Lang, string> = {
  nb: "Norwegian",
  sv: "Swedish",
  da: "Danish",
  fi: "Finnish",
  et: "Estonian",
  en: "English",
};

/** Evidence sentences shown per finding; the rest are counted (all are in screening.json). */
const SHOWN_EVIDENCE = 4;

const CSS = `
:root { color: #1a1a1a; background: #fff; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0 auto;
  max-width: 60rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.35rem; margin: 0 0 .25rem; padding-bottom: .25rem; border-bottom: 3px solid #1a1a1a; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h4 { font-size: 1.05rem; margin: 0 0 .4rem; }
h5 { font-size: .95rem; margin: .6rem 0 .25rem; }
.caveat { border-left: 4px solid #1a1a1a; padding: .25rem .75rem; background: #f2f2f2; }
dl.facts, dl.implant-facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
code { font-size: .85em; overflow-wrap: anywhere; }
.patient { margin-top: 2rem; }
.summary { font-size: 1.1rem; font-weight: 600; margin: .4rem 0; }
.meta { color: #3d3d3d; margin: 0 0 .5rem; }
.none { font-weight: 600; }
.finding { border: 1px solid #8a8a8a; border-radius: 4px; padding: .75rem 1rem; margin: .75rem 0; }
.finding.conflict { border: 2px solid #8a1c1c; }
.mr { display: inline-block; font-size: .85rem; font-weight: 700; padding: .05rem .45rem; border-radius: 3px;
  vertical-align: baseline; }
.mr-unsafe { background: #8a1c1c; color: #fff; }
.mr-conditional { background: #ffe08a; color: #2b2100; border: 1px solid #6b5200; }
.mr-safe { background: #d8f3dc; color: #123524; border: 1px solid #2d6a4f; }
.flag { font-weight: 700; color: #8a1c1c; }
ul.evidence { list-style: none; padding: 0; margin: 0; }
ul.evidence li { margin: .3rem 0; padding-left: .75rem; border-left: 3px solid #b5b5b5; }
.src { display: block; font-size: .85rem; color: #3d3d3d; }
blockquote { margin: 0; white-space: pre-wrap; }
mark { background: #fff3a3; color: #000; font-weight: 700; padding: 0 .1em; }
.more { font-size: .85rem; color: #3d3d3d; }
nav ul { padding-left: 1.25rem; }
a { color: #0b4f9c; }
footer { margin-top: 2rem; font-size: .8rem; color: #3d3d3d; }
@page { margin: 15mm; }
@media print {
  body { font-size: 11pt; max-width: none; padding: 0; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
  .patient + .patient { break-before: page; }
  .patient { margin-top: 0; }
  .finding, ul.evidence li, h3, h4 { break-inside: avoid; }
  h3, h4, h5 { break-after: avoid; }
  .mr, mark, .caveat { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
`;

function highlighted(e: EvidenceSentence): string {
  let out = "";
  let at = 0;
  for (const [start, end] of e.highlights) {
    if (start < at || end <= start || end > e.text.length) continue;
    out += `${escapeHtml(e.text.slice(at, start))}<mark>${escapeHtml(e.text.slice(start, end))}</mark>`;
    at = end;
  }
  return out + escapeHtml(e.text.slice(at));
}

function evidenceList(list: readonly EvidenceSentence[], heading = "Evidence"): string {
  if (list.length === 0) return "";
  const shown = list.length <= SHOWN_EVIDENCE ? list : [list[0], ...list.slice(-(SHOWN_EVIDENCE - 1))];
  const hidden = list.length - shown.length;
  const items = shown
    .map(
      (e) =>
        `<li><span class="src">Note ${escapeHtml(e.note)}, ${escapeHtml(e.date)} (${LANG_NAMES[e.lang]})</span>` +
        `<blockquote lang="${e.lang}">${highlighted(e)}</blockquote></li>`,
    )
    .join("\n");
  const more =
    hidden > 0
      ? `<p class="more">${hidden} more sentence${hidden === 1 ? "" : "s"} between the first and the latest, in screening.json.</p>`
      : "";
  return `<h5>${heading}</h5>\n<ul class="evidence">\n${items}\n</ul>${more}`;
}

/** The badge class of an MR safety text: unsafe when it can be unsafe, else conditional, else safe. */
function mrClass(mriSafety: string): string {
  if (/unsafe/i.test(mriSafety)) return "mr-unsafe";
  if (/conditional/i.test(mriSafety)) return "mr-conditional";
  return "mr-safe";
}

function badge(mriSafety: string): string {
  return `<span class="mr ${mrClass(mriSafety)}">${escapeHtml(mriSafety)}</span>`;
}

function fact(name: string, value: string | undefined): string {
  return value ? `<dt>${name}</dt><dd>${value}</dd>` : "";
}

function currentItem(c: CurrentImplant): string {
  const others = c.details.slice(1);
  const reported =
    c.notes === 1
      ? `in note ${escapeHtml(c.firstSeen.note)} (${escapeHtml(c.firstSeen.date)})`
      : `in ${c.notes} notes, first ${escapeHtml(c.firstSeen.note)} (${escapeHtml(c.firstSeen.date)}), ` +
        `latest ${escapeHtml(c.lastSeen.note)} (${escapeHtml(c.lastSeen.date)})`;
  return `<article class="finding${c.conflict ? " conflict" : ""}">
<h4>${escapeHtml(c.title)}</h4>
<p>MR safety (typical for the category): ${badge(c.mriSafety)}</p>
${c.conflict ? `<p class="flag">Conflicting notes: see “Conflicts” below before scanning.</p>` : ""}
${c.deviceNamed ? "" : `<p class="flag">The evidence names no device of this kind: read the note to confirm.</p>`}
<dl class="implant-facts">
${fact("Device", c.device && escapeHtml(c.device))}
${fact("Make and model", c.detail ? escapeHtml(c.detail) : "not written")}
${fact("Also written", others.length > 0 ? escapeHtml(others.join("; ")) : undefined)}
${fact("Date written", c.implanted && `${escapeHtml(c.implanted)} (next to the first mention; usually the implant date)`)}
${fact("Reported", reported)}
${fact("After a removal", c.afterRemoval ? "yes: an earlier device of this kind was removed or replaced" : undefined)}
${fact("Check", escapeHtml(c.guidance))}
${fact("Advice", escapeHtml(c.advice))}
</dl>
${evidenceList(c.evidence)}
</article>`;
}

function conflictItem(c: Conflict): string {
  return `<article class="finding conflict">
<h4>${escapeHtml(c.title)}</h4>
<p class="flag">${escapeHtml(c.message)}.</p>
${evidenceList(c.evidence)}
</article>`;
}

function removedItem(r: RemovedImplant): string {
  return `<article class="finding">
<h4>${escapeHtml(r.title)}: ${r.outcome === "replaced" ? "removed and replaced" : "removed"}</h4>
<dl class="implant-facts">
${fact("Device", r.device && escapeHtml(r.device))}
${fact("Make and model", r.detail && escapeHtml(r.detail))}
${fact("Date written", r.implanted && escapeHtml(r.implanted))}
${fact("Removed", `${escapeHtml(r.removed)} (note ${escapeHtml(r.removedIn.note)}, ${escapeHtml(r.removedIn.date)})`)}
</dl>
${evidenceList(r.evidence)}
</article>`;
}

function adrItem(a: AdverseReaction): string {
  const others = a.drugs.filter((d) => d !== a.drug);
  const what = [
    a.drug ? `drug: ${a.drug}` : "drug not named in the lexicon",
    ...(a.harms.length > 0 ? [`reaction: ${a.harms.join(", ")}`] : []),
    ...(others.length > 0 ? [`also named: ${others.join(", ")}`] : []),
  ].join("; ");
  return `<li><strong>${escapeHtml(what)}</strong>${evidenceList(a.evidence, "Sentence")}</li>`;
}

function patientSection(p: PatientScreening, index: number): string {
  const id = `patient-${index + 1}`;
  const langs = p.languages.map((l) => `${LANG_NAMES[l]} (${l})`).join(", ");
  const period =
    p.firstDate === p.lastDate
      ? escapeHtml(p.firstDate)
      : `${escapeHtml(p.firstDate)} to ${escapeHtml(p.lastDate)}`;
  const current =
    p.current.length > 0
      ? p.current.map(currentItem).join("\n")
      : `<p class="none">${escapeHtml(p.removed.length > 0 ? `No current implant found in ${p.notesRead} notes read.` : `No implant found in ${p.notesRead} note${p.notesRead === 1 ? "" : "s"} read.`)}</p>`;
  const parts = [
    `<section class="patient" id="${id}" aria-labelledby="${id}-h">`,
    `<h2 id="${id}-h">Patient ${escapeHtml(p.patient)}</h2>`,
    `<p class="summary">${escapeHtml(p.summary)}</p>`,
    `<p class="meta">${p.notesRead} note${p.notesRead === 1 ? "" : "s"} read, ${period}; ${escapeHtml(langs)}</p>`,
    `<h3>Current implants</h3>`,
    current,
  ];
  if (p.conflicts.length > 0)
    parts.push(`<h3>Conflicts for a human to settle</h3>`, p.conflicts.map(conflictItem).join("\n"));
  if (p.removed.length > 0) parts.push(`<h3>Removed or replaced</h3>`, p.removed.map(removedItem).join("\n"));
  parts.push(
    `<h3>Adverse drug reactions</h3>`,
    p.adr.length > 0
      ? `<ul class="adr">\n${p.adr.map(adrItem).join("\n")}\n</ul>`
      : `<p>No adverse drug reaction found.</p>`,
    `</section>`,
  );
  return parts.join("\n");
}

/**
 * Renders the screening document as one HTML page.
 * @example await fs.writeFile("screening.html", renderReport(doc));
 */
export function renderReport(doc: ScreeningDocument): string {
  const skipped = doc.skipped.count;
  const skippedText =
    skipped === 0
      ? "none"
      : `${skipped} invalid note${skipped === 1 ? "" : "s"} not read: ` +
        doc.skipped.notes
          .slice(0, 10)
          .map((s) => escapeHtml(problemText(doc.notesFile, s)))
          .join("; ") +
        (skipped > 10 ? `; and ${skipped - 10} more (see screening.json)` : "");
  const nav = doc.patients
    .map(
      (p, i) => `<li><a href="#patient-${i + 1}">${escapeHtml(p.patient)}</a>: ${escapeHtml(p.summary)}</li>`,
    )
    .join("\n");
  const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MRI pre-screening: ${escapeHtml(doc.notesFile)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>MRI pre-screening</h1>
<p class="caveat"><strong>Machine pre-screening.</strong> It points to the sentences of the record to read; it does
not replace the MR safety checklist, the conversation with the patient or the labelling of the device.</p>
<dl class="facts">
${fact("Notes file", escapeHtml(doc.notesFile))}
${fact("Patients", String(doc.patients.length))}
${fact("Notes read", String(doc.notesRead))}
${fact("Notes skipped", skippedText)}
${fact("Model", `<code>${escapeHtml(doc.model.hash)}</code>`)}
${fact("Generated", escapeHtml(doc.generatedAt))}
</dl>
<nav aria-label="Patients">
<ul>
${nav}
</ul>
</nav>
</header>
<main>
${doc.patients.map(patientSection).join("\n")}
</main>
<footer>
<p>${escapeHtml(doc.schema)}; model ${escapeHtml(doc.model.file)}, spec <code>${escapeHtml(doc.model.specHash)}</code>; lexicon <code>${escapeHtml(doc.lexiconHash)}</code>. Details of every finding: screening.json.</p>
</footer>
</body>
</html>
`;
  return page.replace(/\n{2,}/g, "\n");
}
