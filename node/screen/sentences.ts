/**
 * What screening reads in one sentence with the lexicon: implant mentions per category with their context
 * flags, makers and models, drugs and harms, and the dates written in the sentence.
 *
 * A note is split with the text pipeline's sentenceSpans; each sentence is shown in its normalised form
 * (NFC, uniform hyphens: normalizeForm) and tokenised as the feature extractor does (tokenize of the
 * normalised form, lower-cased for matching, the written case kept for abbreviations). Context flags come
 * from markContext over the sentence's tokens (its scopes never cross a sentence end). Token offsets index
 * into the shown text, so matches can be highlighted.
 */
import { CONTEXT_BITS, markContext } from "../text/context";
import type { ImplantCategory, Lang } from "../text/labels";
import { defaultLexicon, type ImplantTerm, type LexiconMatch } from "../text/lexicon";
import { normalizeForm } from "../text/normalize";
import { sentenceSpans } from "../text/sentences";
import { tokenizeCased, type Token } from "../text/tokenize";

/** A character range [start, end) of a sentence's shown text. */
export type Span = [number, number];

/** One sentence of a note, read with the lexicon. */
export interface ReadSentence {
  /** The sentence as split from the note (the text the model's evidence quotes). */
  original: string;
  /** The sentence as shown: normalizeForm(original). */
  text: string;
  tokens: Token[];
  /** Tokens as written (same length as tokens). */
  raws: string[];
  /** Offset in `text` of each token's start and end. */
  starts: number[];
  ends: number[];
  /** Context flags of each token (CONTEXT_BITS). */
  flags: Uint8Array;
  matches: LexiconMatch[];
}

/** An implant mention: a lexicon match of an implant category with the flags of its first token. */
export interface ImplantMention {
  start: number;
  end: number;
  term: ImplantTerm;
  category: ImplantCategory;
  flags: number;
}

/**
 * Splits a note into sentences and reads each with the lexicon.
 * @example readSentences("Pacemaker sedan 2012. Ingen ICD.", "sv")[1].flags // neg on "icd"
 */
export function readSentences(text: string, lang: Lang): ReadSentence[] {
  const lexicon = defaultLexicon();
  return sentenceSpans(text).map(({ start, end }) => {
    const original = text.slice(start, end);
    const shown = normalizeForm(original);
    const { tokens, raws } = tokenizeCased(shown);
    const starts: number[] = [];
    const ends: number[] = [];
    let cursor = 0;
    for (const raw of raws) {
      const at = shown.indexOf(raw, cursor);
      const s = at < 0 ? cursor : at;
      starts.push(s);
      ends.push(s + raw.length);
      cursor = s + raw.length;
    }
    return {
      original,
      text: shown,
      tokens,
      raws,
      starts,
      ends,
      flags: markContext(tokens, lang),
      matches: lexicon.match(tokens, raws, lang),
    };
  });
}

/** Implant mentions of one category in a sentence (external devices never count), in token order. */
export function implantMentions(s: ReadSentence, category: ImplantCategory): ImplantMention[] {
  const out: ImplantMention[] = [];
  for (const m of s.matches) {
    if (m.entry.list !== "implant" || m.entry.term.category !== category) continue;
    out.push({ start: m.start, end: m.end, term: m.entry.term, category, flags: s.flags[m.start] });
  }
  return out;
}

/** The context a mention is in, for deciding removals and denials. */
export type MentionContext = "affirmed" | "removed" | "denied" | "other";

/** Removed: under the rem flag only; denied: under neg only; other: a relative's or planned. */
export function mentionContext(flags: number): MentionContext {
  if (flags & (CONTEXT_BITS.fam | CONTEXT_BITS.plan)) return "other";
  if (flags & CONTEXT_BITS.rem) return flags & CONTEXT_BITS.neg ? "other" : "removed";
  if (flags & CONTEXT_BITS.neg) return "denied";
  return "affirmed";
}

/** A token that continues a model name: upper case letters, digits and hyphens ("XT", "DR", "CI632", "8"). */
const MODEL_CODE = /^(?=.*[\p{Lu}\p{N}])[\p{Lu}\p{N}][\p{Lu}\p{N}-]{0,9}$/u;
const YEAR = /^(19|20)\d\d$/;

/**
 * Makers and models of a category written in a sentence, as written: brand and model matches of the
 * category (fuzzy matches excluded), a maker filed under another category when it stands next to a
 * mention of this one ("Medtronic Activa"), adjacent matches joined, each extended by up to three
 * following model-code tokens ("Azure" + "XT DR").
 * @param keep which mentions count, by their context flags
 */
export function deviceDetails(
  s: ReadSentence,
  category: ImplantCategory,
  keep: (context: MentionContext) => boolean,
): { text: string; span: Span }[] {
  const own: { start: number; end: number }[] = [];
  const anchors: { start: number; end: number }[] = [];
  const foreignBrands: { start: number; end: number }[] = [];
  for (const m of s.matches) {
    if (m.entry.list !== "implant" || m.fuzzy) continue;
    const t = m.entry.term;
    if (!keep(mentionContext(s.flags[m.start]))) continue;
    if (t.category === category) {
      anchors.push(m);
      if (t.kind === "brand" || t.kind === "model") own.push(m);
    } else if (t.kind === "brand" && t.category !== "external_device") foreignBrands.push(m);
  }
  for (const b of foreignBrands) if (anchors.some((a) => a.start === b.end || a.end === b.start)) own.push(b);
  if (own.length === 0) return [];
  own.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: { start: number; end: number }[] = [];
  for (const m of own) {
    const last = merged[merged.length - 1];
    if (last && m.start <= last.end) last.end = Math.max(last.end, m.end);
    else merged.push({ start: m.start, end: m.end });
  }
  const out: { text: string; span: Span }[] = [];
  for (const m of merged) {
    let end = m.end;
    while (
      end < s.tokens.length &&
      end - m.end < 3 &&
      s.tokens[end].kind !== "punct" &&
      s.tokens[end].kind !== "newline" &&
      MODEL_CODE.test(s.raws[end]) &&
      !YEAR.test(s.raws[end]) &&
      !merged.some((o) => o.start === end)
    )
      end++;
    const span: Span = [s.starts[m.start], s.ends[end - 1]];
    const text = s.text.slice(span[0], span[1]);
    if (!out.some((o) => o.text.toLowerCase() === text.toLowerCase())) out.push({ text, span });
  }
  return out;
}

/** A date written in a sentence: as normalised (YYYY, YYYY-MM or YYYY-MM-DD) and where it stands. */
export interface WrittenDate {
  value: string;
  span: Span;
}

const DATE_PATTERNS: { re: RegExp; value: (m: RegExpExecArray) => string | undefined }[] = [
  { re: /(?<![\p{L}\p{N}])(\d{4})-(\d{1,2})-(\d{1,2})(?![\p{N}])/gu, value: (m) => ymd(m[1], m[2], m[3]) },
  {
    re: /(?<![\p{L}\p{N}./-])(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?![\p{N}])/gu,
    value: (m) => ymd(m[3], m[2], m[1]),
  },
  {
    re: /(?<![\p{L}\p{N}./-])(\d{1,2})[./](\d{4})(?![\p{N}]|[./]\d)/gu,
    value: (m) => (Number(m[1]) >= 1 && Number(m[1]) <= 12 ? `${m[2]}-${m[1].padStart(2, "0")}` : undefined),
  },
  { re: /(?<![\p{L}\p{N}./-])((?:19|20)\d\d)(?![\p{N}]|[./-]\d)/gu, value: (m) => m[1] },
];

function ymd(y: string, mo: string, d: string): string | undefined {
  const month = Number(mo);
  const day = Number(d);
  const days = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > days) return undefined;
  return `${y}-${mo.padStart(2, "0")}-${d.padStart(2, "0")}`;
}

/**
 * Dates written in a sentence (full dates, month and year, years 1900–2099), none after `notAfter`
 * (the note's day) and none inside `exclude` (a model name), in text order.
 */
export function writtenDates(text: string, notAfter: string, exclude: readonly Span[] = []): WrittenDate[] {
  const found: WrittenDate[] = [];
  for (const { re, value } of DATE_PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const span: Span = [m.index, m.index + m[0].length];
      const v = value(m);
      if (v === undefined || v > notAfter || Number(v.slice(0, 4)) < 1900) continue;
      if (found.some((f) => f.span[0] < span[1] && span[0] < f.span[1])) continue;
      if (exclude.some((e) => e[0] < span[1] && span[0] < e[1])) continue;
      found.push({ value: v, span });
    }
  }
  return found.sort((a, b) => a.span[0] - b.span[0]);
}

/** The written date closest (in characters) to any of the anchors, if the sentence has one. */
export function nearestDate(
  dates: readonly WrittenDate[],
  anchors: readonly Span[],
): WrittenDate | undefined {
  let best: WrittenDate | undefined;
  let bestGap = Infinity;
  for (const d of dates)
    for (const a of anchors) {
      const gap = d.span[0] >= a[1] ? d.span[0] - a[1] : a[0] >= d.span[1] ? a[0] - d.span[1] : 0;
      if (gap < bestGap) {
        bestGap = gap;
        best = d;
      }
    }
  return best;
}

/** The character span of tokens [start, end) of a sentence. */
export function tokenSpan(s: ReadSentence, start: number, end: number): Span {
  return [s.starts[start], s.ends[end - 1]];
}

/** Sorted, merged spans. */
export function mergeSpans(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
}
