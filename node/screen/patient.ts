/**
 * Screening one patient: from the notes read by the model and the lexicon (./readNotes.ts), the implants
 * the patient carries at the latest note, the ones removed or replaced before, and the conflicts a human
 * has to settle. docs/screening.md states the rules; in short, per implant category and in date order:
 *
 * - a note where the model predicts the category REPORTS the device (the model alone decides presence);
 *   when the same note also mentions the category as removed, an earlier device was replaced (or partly
 *   removed: an abandoned lead stays, and the model reports it);
 * - a note where the model does not predict the category but the lexicon finds it mentioned under the
 *   removal context (rem, and not negated, a relative's or planned) REMOVES the device;
 * - such a note with the category only negated DENIES it: a denial never ends a device found earlier; it is
 *   a conflict until a later note reports the device again;
 * - on one day, removals and denials count before reports, so a device removed and reported on the same day
 *   stays current, flagged as a conflict.
 * The device is current when the last of these events is a report. Makers, models and dates come from the
 * evidence sentences of the category (see ./sentences.ts).
 */
import { CATEGORY_INFO, IMPLANT_CATEGORIES, type ImplantCategory, type Lang } from "../text/labels";
import type {
  AdverseReaction,
  CategoryGuidance,
  Conflict,
  CurrentImplant,
  EvidenceSentence,
  NoteRef,
  PatientScreening,
  RemovalOutcome,
  RemovedImplant,
} from "./document";
import type { NoteReading } from "./readNotes";
import {
  deviceDetails,
  implantMentions,
  mentionContext,
  mergeSpans,
  nearestDate,
  tokenSpan,
  writtenDates,
  type MentionContext,
  type Span,
} from "./sentences";

/** The category's title, typical MR safety class and advice. */
export function categoryGuidance(category: ImplantCategory): CategoryGuidance {
  const info = CATEGORY_INFO[category];
  return { category, title: info.title, mriSafety: info.mriSafety, advice: info.advice };
}

/** The title without its list of examples ("Cardiac rhythm device"). */
export function shortTitle(category: ImplantCategory): string {
  return CATEGORY_INFO[category].title.replace(/\s*\(.*$/, "");
}

/** "<mriSafety>: check the labelling of <detail | the device> before scanning". */
export function labellingCheck(category: ImplantCategory, detail?: string, device?: string): string {
  const what = detail ?? `the ${device ?? shortTitle(category).toLowerCase()}`;
  return `${CATEGORY_INFO[category].mriSafety}: check the labelling of ${what} before scanning`;
}

const ref = (r: NoteReading): NoteRef => ({ note: r.note.note, date: r.note.date });

function evidence(r: NoteReading, sentence: number, highlights: Span[]): EvidenceSentence {
  const s = r.sentences[sentence];
  return {
    note: r.note.note,
    date: r.note.date,
    lang: r.note.lang,
    text: s.text,
    highlights: mergeSpans(highlights),
  };
}

/** What the sentences of one note say about one category in one context. */
interface Reading {
  /** True when a sentence mentions the category in the wanted context. */
  named: boolean;
  details: string[];
  devices: string[];
  date?: string;
  evidence: EvidenceSentence[];
}

/**
 * Details, device types, the nearest written date and highlighted evidence of a category in the given
 * sentences of a note, from the mentions in the wanted context.
 */
function readCategory(
  r: NoteReading,
  category: ImplantCategory,
  sentences: readonly number[],
  wanted: MentionContext,
): Reading {
  const out: Reading = { named: false, details: [], devices: [], evidence: [] };
  for (const i of sentences) {
    const s = r.sentences[i];
    const mentions = implantMentions(s, category);
    const inContext = mentions.filter((m) => mentionContext(m.flags) === wanted);
    if (inContext.length > 0) out.named = true;
    const anchors = (inContext.length > 0 ? inContext : mentions).map((m) => tokenSpan(s, m.start, m.end));
    const details = deviceDetails(s, category, (c) => c === wanted);
    for (const d of details) if (!out.details.includes(d.text)) out.details.push(d.text);
    for (const m of inContext)
      if (m.term.kind !== "brand" && m.term.device && !out.devices.includes(m.term.device))
        out.devices.push(m.term.device);
    const date = nearestDate(
      writtenDates(
        s.text,
        r.note.day,
        details.map((d) => d.span),
      ),
      anchors,
    );
    out.date ??= date?.value;
    out.evidence.push(
      evidence(r, i, [...anchors, ...details.map((d) => d.span), ...(date ? [date.span] : [])]),
    );
  }
  return out;
}

type EventKind = "present" | "removed" | "denied";

interface CategoryEvent {
  kind: EventKind;
  reading: NoteReading;
  /** Sentences with the category removed (for present: a replacement in the same note). */
  removedIn: number[];
  deniedIn: number[];
  /** For a report: whether its evidence names a device of the category (set while screening). */
  named?: boolean;
}

/** Per category, the sentences that mention it removed or denied. */
function contextSentences(r: NoteReading): Map<ImplantCategory, { removed: number[]; denied: number[] }> {
  const out = new Map<ImplantCategory, { removed: number[]; denied: number[] }>();
  r.sentences.forEach((s, i) => {
    for (const m of s.matches) {
      if (m.entry.list !== "implant" || m.entry.term.category === "external_device") continue;
      const context = mentionContext(s.flags[m.start]);
      if (context !== "removed" && context !== "denied") continue;
      const category = m.entry.term.category;
      let entry = out.get(category);
      if (!entry) out.set(category, (entry = { removed: [], denied: [] }));
      const list = entry[context === "removed" ? "removed" : "denied"];
      if (list[list.length - 1] !== i) list.push(i);
    }
  });
  return out;
}

interface Episode {
  first: NoteReading;
  last: NoteReading;
  notes: number;
  named: boolean;
  details: string[];
  devices: string[];
  implanted?: string;
  afterRemoval: boolean;
  evidence: EvidenceSentence[];
  /** Later notes that deny the device, with their sentences. */
  denials: { reading: NoteReading; evidence: EvidenceSentence[] }[];
}

/** Newest first; a shorter form written inside a longer one ("Medtronic" in "Medtronic Azure") is merged. */
function mergeDetails(known: string[], fresh: readonly string[]): string[] {
  let out = [...known];
  for (const d of [...fresh].reverse()) {
    const low = d.toLowerCase();
    const longer = out.find((e) => e.toLowerCase().includes(low));
    out = out.filter((e) => !low.includes(e.toLowerCase()) && e !== longer);
    out.unshift(longer ?? d);
  }
  return out;
}

/** Events of one category in the patient's notes, ordered by day, removals and denials first on a day. */
function categoryEvents(
  readings: readonly NoteReading[],
  contexts: readonly Map<ImplantCategory, { removed: number[]; denied: number[] }>[],
  category: ImplantCategory,
): CategoryEvent[] {
  const events: CategoryEvent[] = [];
  readings.forEach((reading, i) => {
    const ctx = contexts[i].get(category) ?? { removed: [], denied: [] };
    const present = reading.categories.includes(category);
    const kind: EventKind | undefined = present
      ? "present"
      : ctx.removed.length > 0
        ? "removed"
        : ctx.denied.length > 0
          ? "denied"
          : undefined;
    if (kind) events.push({ kind, reading, removedIn: ctx.removed, deniedIn: ctx.denied });
  });
  const rank = (e: CategoryEvent): number => (e.kind === "present" ? 1 : 0);
  return events
    .map((e, order) => ({ e, order }))
    .sort(
      (a, b) =>
        (a.e.reading.note.day < b.e.reading.note.day
          ? -1
          : a.e.reading.note.day > b.e.reading.note.day
            ? 1
            : 0) ||
        rank(a.e) - rank(b.e) ||
        a.order - b.order,
    )
    .map(({ e }) => e);
}

interface CategoryResult {
  current?: CurrentImplant;
  removed: RemovedImplant[];
  conflicts: Conflict[];
}

function screenCategory(category: ImplantCategory, events: readonly CategoryEvent[]): CategoryResult {
  const guidance = categoryGuidance(category);
  const removed: RemovedImplant[] = [];
  const conflicts: Conflict[] = [];
  let ep: Episode | undefined;

  const close = (r: NoteReading, sentences: number[], outcome: RemovalOutcome): void => {
    const rem = readCategory(r, category, sentences, "removed");
    const device = rem.devices[0] ?? ep?.devices[0];
    const detail = rem.details[0] ?? ep?.details[0];
    removed.push({
      ...guidance,
      ...(device ? { device } : {}),
      ...(detail ? { detail } : {}),
      ...(ep?.implanted ? { implanted: ep.implanted } : {}),
      removed: rem.date ?? r.note.day,
      removedIn: ref(r),
      outcome,
      evidence: [...(ep ? ep.evidence.slice(0, 1) : []), ...rem.evidence],
    });
    ep = undefined;
  };

  for (const event of events) {
    const r = event.reading;
    if (event.kind === "removed") {
      close(r, event.removedIn, "removed");
      continue;
    }
    if (event.kind === "denied") {
      if (ep)
        ep.denials.push({
          reading: r,
          evidence: readCategory(r, category, event.deniedIn, "denied").evidence,
        });
      continue;
    }
    if (event.removedIn.length > 0) close(r, event.removedIn, "replaced");
    const info = readCategory(r, category, r.evidence[category] ?? [], "affirmed");
    event.named = info.named;
    if (!ep) {
      const before = removed[removed.length - 1];
      if (before && before.outcome === "removed") before.outcome = "replaced";
      ep = {
        first: r,
        last: r,
        notes: 1,
        named: info.named,
        details: mergeDetails([], info.details),
        devices: info.devices,
        ...(info.date ? { implanted: info.date } : {}),
        afterRemoval: removed.length > 0,
        evidence: info.evidence,
        denials: [],
      };
    } else {
      ep.last = r;
      ep.notes++;
      ep.named ||= info.named;
      ep.details = mergeDetails(ep.details, info.details);
      if (info.devices.length > 0) ep.devices = info.devices;
      ep.implanted ??= info.date;
      ep.evidence.push(...info.evidence);
      ep.denials = [];
    }
  }

  const current = ep;
  let conflict = false;
  const lastDay = events.length > 0 ? events[events.length - 1].reading.note.day : undefined;
  const sameDay = events.filter((e) => e.reading.note.day === lastDay);
  // A report in a note that writes the device removed, from sentences that name no such device, counts
  // both ways: the lexicon reads a removal, the model a presence.
  const unnamedReplacement = (e: CategoryEvent): boolean =>
    e.kind === "present" && e.removedIn.length > 0 && e.named === false;
  const reported = sameDay.filter((e) => e.kind === "present" && !unnamedReplacement(e));
  const against = sameDay.filter((e) => e.kind !== "present" || unnamedReplacement(e));
  if (reported.length > 0 && against.length > 0) {
    conflict = true;
    const a = against[against.length - 1];
    const p = reported[reported.length - 1];
    const what = a.kind === "denied" ? "denied" : "removed";
    const againstEvidence = readCategory(
      a.reading,
      category,
      a.kind === "denied" ? a.deniedIn : a.removedIn,
      a.kind === "denied" ? "denied" : "removed",
    ).evidence;
    conflicts.push({
      category,
      title: guidance.title,
      kind: "same_date",
      message:
        `${shortTitle(category)} ${what} in note ${a.reading.note.note} and reported present in note ` +
        `${p.reading.note.note}, both dated ${lastDay}: kept as current until a human decides`,
      evidence: [
        ...readCategory(p.reading, category, p.reading.evidence[category] ?? [], "affirmed").evidence,
        ...againstEvidence,
      ],
    });
  }
  const last = events[events.length - 1];
  if (current && reported.length === 0 && against.length > 0 && unnamedReplacement(last)) {
    conflict = true;
    conflicts.push({
      category,
      title: guidance.title,
      kind: "removed_but_reported",
      message:
        `${shortTitle(category)} written as removed in note ${last.reading.note.note} ` +
        `(${last.reading.note.date}), which the model still reports as present from sentences that name no ` +
        `such device (parts left in place, such as an abandoned lead?): kept as current until a human decides`,
      evidence: [
        ...readCategory(last.reading, category, last.removedIn, "removed").evidence,
        ...readCategory(last.reading, category, last.reading.evidence[category] ?? [], "affirmed").evidence,
      ],
    });
  }
  if (current && current.denials.length > 0) {
    conflict = true;
    const d = current.denials[current.denials.length - 1];
    const others = current.denials.length - 1;
    conflicts.push({
      category,
      title: guidance.title,
      kind: "denied_after_found",
      message:
        `${shortTitle(category)} reported in note ${current.last.note.note} (${current.last.note.date}) but ` +
        `denied in the later note ${d.reading.note.note} (${d.reading.note.date})` +
        `${others > 0 ? ` and ${others} other${others === 1 ? "" : "s"}` : ""}: kept as current until a human decides`,
      evidence: [...current.evidence.slice(-1), ...current.denials.flatMap((x) => x.evidence)],
    });
  }
  if (!current) return { removed, conflicts };
  const device = current.devices.length > 0 ? current.devices.join(", ") : undefined;
  const detail = current.details[0];
  return {
    current: {
      ...guidance,
      ...(device ? { device } : {}),
      ...(detail ? { detail } : {}),
      details: current.details,
      ...(current.implanted ? { implanted: current.implanted } : {}),
      guidance: labellingCheck(category, detail, device),
      firstSeen: ref(current.first),
      lastSeen: ref(current.last),
      notes: current.notes,
      deviceNamed: current.named,
      afterRemoval: current.afterRemoval,
      conflict,
      evidence: current.evidence,
    },
    removed,
    conflicts,
  };
}

/**
 * The drugs and harms of a note's reaction sentences. The suspected drug is the one written closest (in
 * tokens) to a harm ("utslag efter kloxacillin, bytt till klindamycin": kloxacillin), else the first drug.
 */
function adverseReaction(r: NoteReading): AdverseReaction {
  const harms: string[] = [];
  const distance = new Map<string, number>();
  const ev = (r.evidence.adr ?? []).map((i) => {
    const s = r.sentences[i];
    const spans: Span[] = [];
    const harmAt: number[] = [];
    const drugAt: { drug: string; start: number; end: number }[] = [];
    for (const m of s.matches) {
      if (m.entry.list === "drug") drugAt.push({ drug: m.entry.term.drug, start: m.start, end: m.end });
      else if (m.entry.list === "harm") {
        harmAt.push(m.start);
        if (!harms.includes(m.entry.term.harm)) harms.push(m.entry.term.harm);
      } else continue;
      spans.push(tokenSpan(s, m.start, m.end));
    }
    for (const d of drugAt) {
      const gap = harmAt.length > 0 ? Math.min(...harmAt.map((h) => Math.abs(h - d.start))) : Infinity;
      distance.set(d.drug, Math.min(distance.get(d.drug) ?? Infinity, gap));
    }
    return evidence(r, i, spans);
  });
  const drugs = [...distance.keys()];
  const suspected = [...drugs].sort((a, b) => (distance.get(a) ?? 0) - (distance.get(b) ?? 0))[0];
  return { ...ref(r), ...(suspected ? { drug: suspected } : {}), drugs, harms, evidence: ev };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Screens one patient.
 * @param readings the patient's notes read by {@link readNotes}, in any order (they are sorted by date,
 *   then by file line)
 */
export function screenPatient(patient: string, readings: readonly NoteReading[]): PatientScreening {
  const sorted = [...readings].sort((a, b) => a.note.at - b.note.at || a.note.line - b.note.line);
  const contexts = sorted.map(contextSentences);
  const current: CurrentImplant[] = [];
  const removed: RemovedImplant[] = [];
  const conflicts: Conflict[] = [];
  for (const category of IMPLANT_CATEGORIES) {
    const events = categoryEvents(sorted, contexts, category);
    if (events.length === 0) continue;
    const result = screenCategory(category, events);
    if (result.current) current.push(result.current);
    removed.push(...result.removed);
    conflicts.push(...result.conflicts);
  }
  removed.sort((a, b) =>
    a.removedIn.date < b.removedIn.date ? -1 : a.removedIn.date > b.removedIn.date ? 1 : 0,
  );
  const n = sorted.length;
  const summary =
    current.length > 0
      ? `${plural(current.length, "current implant")}: ${current.map((c) => shortTitle(c.category)).join(", ")}`
      : removed.length > 0 || conflicts.length > 0
        ? `no current implant in ${plural(n, "note")} read (${plural(removed.length, "removed device")})`
        : `no implant found in ${plural(n, "note")} read`;
  const languages: Lang[] = [];
  for (const r of sorted) if (!languages.includes(r.note.lang)) languages.push(r.note.lang);
  return {
    patient,
    notesRead: n,
    firstDate: sorted[0]?.note.date ?? "",
    lastDate: sorted[n - 1]?.note.date ?? "",
    languages,
    summary,
    current,
    removed,
    conflicts,
    adr: sorted.filter((r) => r.adr).map(adverseReaction),
  };
}
