/**
 * The keyword-search baseline: what a person searching the record for device and reaction words finds.
 *
 * - Implant categories: every category one of whose lexicon terms, abbreviations, makers or models occurs
 *   in the note, whatever the context (negated, a relative's, planned, removed). External devices
 *   (hearing aids, CPAP, …) are not implants and never count.
 * - ADR: a sentence with a lexicon drug and a lexicon harm, or with a causal adverse-reaction cue
 *   ("biverkan", "bivirkning", "haittavaikutus", "kõrvaltoime", …).
 * It reads the same notes with the same lexicon as the model's concept features, so the comparison
 * isolates what the trained model adds: context, and what the lexicon lacks.
 */
import { IMPLANT_CATEGORIES, LABELS, type Label, type Lang } from "../text/labels";
import { defaultLexicon } from "../text/lexicon";
import { normalizeForm } from "../text/normalize";
import { splitSentences } from "../text/sentences";
import { tokenizeCased } from "../text/tokenize";

const IMPLANT_SET = new Set<string>(IMPLANT_CATEGORIES);

/**
 * The labels keyword search gives a note, in label order.
 * @example keywordLabels("Pacemaker sedan 2019.", "sv") // ["cardiac_rhythm_device"]
 */
export function keywordLabels(text: string, lang: Lang): Label[] {
  const found = new Set<string>();
  const lexicon = defaultLexicon();
  for (const sentence of splitSentences(text)) {
    const { tokens, raws } = tokenizeCased(normalizeForm(sentence));
    const matches = lexicon.match(tokens, raws, lang);
    let drug = false;
    let harm = false;
    for (const m of matches) {
      const e = m.entry;
      if (e.list === "implant" && IMPLANT_SET.has(e.term.category)) found.add(e.term.category);
      else if (e.list === "drug") drug = true;
      else if (e.list === "harm") harm = true;
      else if (e.list === "cue" && e.term.kind === "cause") found.add("adr");
    }
    if (drug && harm) found.add("adr");
  }
  return LABELS.filter((l) => found.has(l));
}
