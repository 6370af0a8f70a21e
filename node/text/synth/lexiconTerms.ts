/**
 * Device words for the generator taken from the curated lexicon, so generated notes name devices the way
 * real notes do beyond the language packs' own words: abbreviations ("ICD", "CRT-D", "VPS") and makers
 * and models ("Biotronik Edora", "Codman Hakim"), plus spelling errors of the packs' words.
 */
import type { ImplantCategory, Lang } from "../labels";
import { IMPLANT_TERMS } from "../lexicon/implants";
import type { ImplantTerm } from "../lexicon/types";
import type { Forms } from "./pack";
import { Rng } from "./prng";

const byKey = new Map<string, ImplantTerm[]>();

function entries(lang: Lang, cat: ImplantCategory, kinds: readonly ImplantTerm["kind"][]): ImplantTerm[] {
  const key = `${lang}:${cat}:${kinds.join(",")}`;
  let list = byKey.get(key);
  if (!list) {
    list = IMPLANT_TERMS.filter(
      (t) => t.category === cat && kinds.includes(t.kind) && (!t.langs || t.langs.includes(lang)),
    );
    byKey.set(key, list);
  }
  return list;
}

/** "medtronic azure" → "Medtronic Azure"; upper-case words and words with digits stay as written. */
function titleCase(text: string): string {
  return text
    .split(" ")
    .map((w) => (/\p{Lu}|\d/u.test(w) ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(" ");
}

/**
 * Forms of an abbreviation in a pack's form keys: Finnish and Estonian inflect abbreviations with a case
 * ending after a colon or hyphen ("ICD:n", "ICD-ga"); the Scandinavian languages use the word as it is,
 * with "-" for a compound stem ("ICD-kontroll").
 */
function abbreviationForms(a: string, lang: Lang, like: Forms): Forms {
  const endings: Record<string, string> =
    lang === "fi"
      ? { n: "", g: ":n", p: ":tä", a: ":llä", e: ":stä", i: ":ssä", s: "" }
      : lang === "et"
        ? { n: "", g: "", p: "-d", k: "-ga", e: "-st", i: "-s", a: "-l" }
        : { n: "", d: "", s: "-" };
  const forms: Record<string, string> = { n: a };
  for (const key of Object.keys(like)) forms[key] = a + (endings[key] ?? "");
  return forms as Forms;
}

/** An abbreviation of the category for the language as device forms, or undefined when it has none. */
export function abbreviationOf(rng: Rng, lang: Lang, cat: ImplantCategory, like: Forms): Forms | undefined {
  const list = entries(lang, cat, ["abbrev"]);
  if (list.length === 0) return undefined;
  return abbreviationForms(rng.pick(list).text, lang, like);
}

/** A maker, or a maker and a model, of the category ("Biotronik Edora"), or undefined when there is none. */
export function makerModelOf(rng: Rng, lang: Lang, cat: ImplantCategory): string | undefined {
  const brands = entries(lang, cat, ["brand"]);
  const models = entries(lang, cat, ["model"]);
  if (brands.length === 0 && models.length === 0) return undefined;
  const parts: string[] = [];
  if (brands.length > 0 && (models.length === 0 || rng.chance(0.6)))
    parts.push(titleCase(rng.pick(brands).text));
  if (models.length > 0 && (parts.length === 0 || rng.chance(0.6)))
    parts.push(titleCase(rng.pick(models).text));
  return parts.join(" ");
}

/**
 * A spelling error in one longer word of `text`: a letter dropped, doubled, swapped with the next one or
 * replaced by a neighbouring vowel, after the first two letters. Text without a word of 7+ letters is kept.
 */
export function misspell(rng: Rng, text: string): string {
  const words = [...text.matchAll(/\p{Ll}{7,}/gu)];
  if (words.length === 0) return text;
  const m = rng.pick(words);
  const w = m[0];
  const i = rng.int(2, w.length - 2);
  let bad: string;
  switch (rng.int(0, 3)) {
    case 0:
      bad = w.slice(0, i) + w.slice(i + 1);
      break;
    case 1:
      bad = w.slice(0, i) + w[i] + w.slice(i);
      break;
    case 2:
      bad = w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
      break;
    default: {
      const vowels = "aeiou";
      const v = vowels.includes(w[i]) ? vowels[(vowels.indexOf(w[i]) + 1) % 5] : w[i];
      bad = w.slice(0, i) + v + w.slice(i + 1);
    }
  }
  return text.slice(0, m.index) + bad + text.slice((m.index ?? 0) + w.length);
}

/** Device forms with a spelling error in every form (the same error in each). */
export function misspellForms(rng: Rng, forms: Forms): Forms {
  const seed = rng.int(0, 2 ** 30);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(forms)) {
    // A private stream seeded once, so each form gets an error drawn the same way.
    out[k] = misspell(new Rng(seed), v);
  }
  return out as Forms;
}
