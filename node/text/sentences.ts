/**
 * Sentence splitting for evidence: the model's explanation quotes the sentence a label came from.
 *
 * A sentence ends at a line break, or at "." "!" "?" followed by white space and then an upper-case letter,
 * a digit or an opening quote/bracket, unless the word before the full stop
 * - is a known abbreviation ("dr.", "ca.", "f.eks.", "t.ex.", "esim.", "impl.", "okt."), a single letter, or
 *   letters with full stops inside ("i.v.", "p.o.", "s.c."), or
 * - is a word of at most five lower-case letters and a digit follows ("inop. 2020", "impl. 2021").
 * A piece without a letter ("2019).", "(3)") is not a sentence of its own: it joins the sentence before it.
 * Spans index into the original text, which is returned unchanged apart from trimming white space at both
 * ends of each sentence.
 */

/** Start (inclusive) and end (exclusive) offsets of one sentence in the original text. */
export interface SentenceSpan {
  start: number;
  end: number;
}

const ABBREVIATIONS = new Set([
  "dr",
  "ca",
  "pga",
  "bl.a",
  "f.eks",
  "t.ex",
  "bl",
  "ev",
  "evt",
  "jf",
  "jfr",
  "nr",
  "ns",
  "resp",
  "t.o.m",
  "o.l",
  "m.m",
  "esim",
  "yms",
  "ym",
  "n",
  "nt",
  "vt",
  "jne",
  "prof",
  "st",
  "vs",
  "etc",
  "e.g",
  "i.e",
  "mr",
  "mrs",
  "ms",
  "kl",
  "inj",
  "tbl",
  "tabl",
  "impl",
  "trol",
  "sannsynl",
  "sannol",
  "mhp",
  "ifht",
  "inop",
  "postop",
  "preop",
  "pat",
  "pas",
  "pt",
  "ssk",
  "sekr",
  "tlf",
  "tel",
  "bilat",
  "iflg",
  "ifm",
  "amb",
  "dx",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "okt",
  "nov",
  "dec",
  "des",
]);

/** Letters with full stops inside: "i.v", "p.o", "s.c" (the word before the last full stop). */
const DOTTED = /^(\p{L}{1,3}\.)+\p{L}{1,3}$/u;
/** A short lower-case word: an abbreviation when a digit follows ("inop. 2020"). */
const SHORT_LOWER = /^\p{Ll}{1,5}$/u;

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\u00a0";
}

function startsSentence(c: string): boolean {
  return /[\p{Lu}\p{N}"'«“(]/u.test(c);
}

/** The word before a full stop, lower-cased unless `cased`, without opening quotes or brackets. */
function wordBefore(text: string, dot: number, cased = false): string {
  let k = dot;
  while (k > 0 && !/\s/.test(text[k - 1])) k--;
  const word = text.slice(k, dot).replace(/^[("'«“]+/, "");
  return cased ? word : word.toLowerCase();
}

/**
 * Offsets of the sentences of `text`, in order, without empty ones.
 *
 * @example sentenceSpans("Har pacemaker. Ingen allergi.") // [{start:0,end:14},{start:15,end:29}]
 */
export function sentenceSpans(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  const push = (start: number, end: number): void => {
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (end <= start) return;
    const last = spans[spans.length - 1];
    // A piece without a letter joins the sentence before it on the same line.
    if (last && !/\p{L}/u.test(text.slice(start, end)) && !text.slice(last.end, start).includes("\n"))
      last.end = end;
    else spans.push({ start, end });
  };
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") {
      push(start, i);
      start = i + 1;
      continue;
    }
    if (c !== "." && c !== "!" && c !== "?") continue;
    let j = i + 1;
    while (j < text.length && (text[j] === "." || text[j] === "!" || text[j] === "?")) j++;
    if (j >= text.length || !isSpace(text[j])) continue;
    let k = j;
    while (k < text.length && isSpace(text[k])) k++;
    if (k < text.length && text[k] !== "\n" && !startsSentence(text[k])) continue;
    if (c === ".") {
      const w = wordBefore(text, i);
      if (ABBREVIATIONS.has(w) || /^\p{L}$/u.test(w) || DOTTED.test(w)) continue;
      if (k < text.length && /\p{N}/u.test(text[k]) && SHORT_LOWER.test(wordBefore(text, i, true))) continue;
    }
    push(start, j);
    start = j;
    i = j - 1;
  }
  push(start, text.length);
  return spans;
}

/**
 * Splits text into sentences (see {@link sentenceSpans} for the rules).
 *
 * @example splitSentences("Pacemaker 2019. Ingen kjente allergier.") // ["Pacemaker 2019.", "Ingen kjente allergier."]
 */
export function splitSentences(text: string): string[] {
  return sentenceSpans(text).map((s) => text.slice(s.start, s.end));
}
