/**
 * Sentence splitting for evidence: the model's explanation quotes the sentence a label came from.
 *
 * A sentence ends at a line break, or at "." "!" "?" followed by white space and then an upper-case letter,
 * a digit or an opening quote/bracket, unless the word before the full stop is a known abbreviation
 * ("dr.", "ca.", "f.eks.", "t.ex.", "esim.", "nt.") or a single letter. Spans index into the original
 * text, which is returned unchanged apart from trimming white space at both ends of each sentence.
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
  "mm",
  "nr",
  "ns",
  "resp",
  "t.o.m",
  "o.l",
  "m.m",
  "esim",
  "ns",
  "mm",
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
]);

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\r" || c === "\u00a0";
}

function startsSentence(c: string): boolean {
  return /[\p{Lu}\p{N}"'«“(]/u.test(c);
}

function wordBefore(text: string, dot: number): string {
  let k = dot;
  while (k > 0 && !/\s/.test(text[k - 1])) k--;
  return text
    .slice(k, dot)
    .toLowerCase()
    .replace(/^[("'«“]+/, "");
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
    if (end > start) spans.push({ start, end });
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
      if (ABBREVIATIONS.has(w) || /^\p{L}$/u.test(w)) continue;
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
