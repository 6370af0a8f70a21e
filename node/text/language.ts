/**
 * Language identification for notes without a language tag: stop-word and character-cue scoring over
 * nb, sv, da, fi, et and en.
 *
 * Each word of the normalised text that is on a language's stop-word list adds 2 / k to that language,
 * where k is the number of lists the word is on (shared words such as "og", "i", "on" split their weight).
 * Character cues add evidence that words alone miss: æ ø (nb, da), ä ö (sv, fi, et), õ ü š ž (et), å
 * (nb, sv, da), y (fi), ck (sv), and a few spelling patterns: øy kj -sjon -het (nb), øj -tion -hed ud- (da), case
 * endings -ssa -llä -sta -lle -ksi -nen (fi), participles -tud -dud and plurals -id (et). Only the first 20,000 characters are read. A text without any evidence is "en".
 */
import type { Lang } from "./labels";
import { normalizeText } from "./normalize";

/** Characters read from the start of a text. */
export const DETECT_PREFIX_CHARS = 20_000;

const STOPWORDS: Record<Lang, string> = {
  nb:
    "og i er på det til med av ikke har som en et for fra han hun pasienten pasient etter ved eller også kan skal " +
    "ble blir var vi hos uten ingen nei ja siden grunnet mot innlagt sykehus lege kjent tidligere dager uker år " +
    "gammel høyre venstre øye hjerte smerter undersøkelse bivirkning bivirkninger kjente noen mye hva dette denne " +
    "ikkje behandling vurdering fått fikk avdeling innleggelse sykepleier ønsker henvisning legemiddel fastlege " +
    "utskrives dersom pga hjemme bor medisin medisiner faste legemiddelliste sykepleienotat innkomst epikrise " +
    "blodprøver tablett behov natt kveld uke puls",
  sv:
    "och i är på det till med av inte har som en ett för från han hon patienten patient efter vid eller också kan " +
    "ska blev var vi hos utan ingen inga nej ja sedan mot inlagd sjukhus läkare känd tidigare dagar veckor år " +
    "höger vänster öga hjärta smärta undersökning biverkan biverkningar kända några mycket vad detta denna ej " +
    "behandling bedömning fått fick avdelning sköterska samt enligt även önskar remiss läkemedel vårdcentralen " +
    "skrivs hemmet bor på grund läkemedelslista stående aktuella inskrivning epikris omvårdnad " +
    "dosdispenserade prover kontroll behov natten vecka månad puls gott sovit går hjälp besök dottern " +
    "dricker följs upp fortsatt hud pass vätskelista",
  da:
    "og i er på det til med af ikke har som en et for fra han hun patienten patient efter ved eller også kan skal " +
    "blev var vi hos uden ingen nej ja siden mod indlagt sygehus hospital læge kendt tidligere dage uger år højre " +
    "venstre øje hjerte smerter undersøgelse bivirkning bivirkninger kendte nogen meget hvad dette denne " +
    "behandling vurdering fået fik afdeling sygeplejerske gennem ønskes henvisning lægemiddel egen udskrives " +
    "hjem bor pga medicin medicinliste fast aktuel indlæggelse epikrise sygeplejenotat dosisdispenseret " +
    "blodprøver kontrol natten aften uge måned behov puls",
  fi:
    "ja on ei oli että kuin tai mutta myös potilas potilaalla potilaan hän hänellä vuoksi jälkeen kanssa ennen " +
    "aikana tutkimus lääkäri osasto osastolle päivää viikkoa vuotta vuonna oikea vasen sydän kipu haittavaikutus " +
    "ole eikä ilman tarkistettava asennettu kontrolli lääke hoito seuranta yli alle noin sekä jos kun joka jota " +
    "mukaan edelleen aiemmin käyttää pyydetään kysymyksenä taustalla lähete hyvin lääkitys lääkelista " +
    "säännöllinen tullessa hoitajan merkintä loppulausunto tarvittaessa vuorokaudessa iltaisin kertaa " +
    "kuukauden viikon tänään huomenna syke lämpö",
  et:
    "ja on ei oli et kui või aga kuid ka patsient patsiendil patsiendi tal tõttu pärast koos enne ajal uuring arst " +
    "osakond osakonda päeva nädalat aastat aastal parem vasak süda valu kõrvaltoime ole pole ilma puudub " +
    "paigaldatud kontroll ravim ravi jälgimine üle alla umbes ning kas mis mida järgi endiselt varem kasutab " +
    "palun küsimus anamneesis saatekiri hästi ravimid ravimite nimekiri püsiravi saabumisel kasutatavad " +
    "õe märkus epikriis vajadusel päevas õhtuti korda kuu nädala täna homme patsienti vahetus liigub pulss",
  en:
    "and the of in is on it to with no not has as a an for from he she patient after at or also can was were we " +
    "without none yes since due against admitted hospital doctor known previously days weeks years right left " +
    "eye heart pain examination adverse reaction any this treatment",
};

/** word → [languages containing it]. */
const WORD_LANGS = new Map<string, Lang[]>();
for (const [lang, words] of Object.entries(STOPWORDS) as [Lang, string][]) {
  for (const w of new Set(words.split(/\s+/))) {
    const list = WORD_LANGS.get(w) ?? [];
    list.push(lang);
    WORD_LANGS.set(w, list);
  }
}

/** Character cues: a pattern, the languages it points to, and the weight per occurrence. */
const CUES: { re: RegExp; langs: Lang[]; w: number }[] = [
  { re: /[æø]/g, langs: ["nb", "da"], w: 1 },
  { re: /[äö]/g, langs: ["sv", "fi", "et"], w: 2 },
  { re: /õ/g, langs: ["et"], w: 3 },
  { re: /ü/g, langs: ["et"], w: 1.5 },
  { re: /[šž]/g, langs: ["et"], w: 1 },
  { re: /å/g, langs: ["nb", "sv", "da"], w: 0.5 },
  { re: /y/g, langs: ["fi"], w: 0.3 },
  { re: /ck/g, langs: ["sv"], w: 1.5 },
  { re: /øy|kj|sjon(?!\p{L})|het(?!\p{L})/gu, langs: ["nb"], w: 1.5 },
  { re: /øj|tion(?!\p{L})|hed(?!\p{L})|(?<!\p{L})ud/gu, langs: ["da"], w: 1.5 },
  { re: /(?:ssa|ssä|lla|llä|sta|stä|lle|ksi|nen)(?!\p{L})/gu, langs: ["fi"], w: 1 },
  { re: /(?:tud|dud)(?!\p{L})/gu, langs: ["et"], w: 1.5 },
  { re: /\p{L}{3}id(?!\p{L})/gu, langs: ["et"], w: 0.7 },
];

/** Result of {@link detectLanguageScores}. */
export interface LanguageScores {
  /** Best language ("en" when there is no evidence at all). */
  lang: Lang;
  /** Score per language (sum of word and character evidence). */
  scores: Record<Lang, number>;
  /** Best score minus second best, divided by the best (0 when there is no evidence). */
  margin: number;
}

/**
 * Scores every language for a text (see the module comment for the method).
 *
 * @example detectLanguageScores("Pasienten har ikke pacemaker.").lang // "nb"
 */
export function detectLanguageScores(text: string): LanguageScores {
  const t = normalizeText(text.length > DETECT_PREFIX_CHARS ? text.slice(0, DETECT_PREFIX_CHARS) : text);
  const scores: Record<Lang, number> = { nb: 0, sv: 0, da: 0, fi: 0, et: 0, en: 0 };
  for (const m of t.matchAll(/\p{L}+/gu)) {
    const langs = WORD_LANGS.get(m[0]);
    if (langs) for (const l of langs) scores[l] += 2 / langs.length;
  }
  for (const cue of CUES) {
    const n = t.match(cue.re)?.length ?? 0;
    if (n > 0) for (const l of cue.langs) scores[l] += (n * cue.w) / cue.langs.length;
  }
  const ranked = (Object.keys(scores) as Lang[]).sort((a, b) => scores[b] - scores[a]);
  const best = scores[ranked[0]];
  if (best <= 0) return { lang: "en", scores, margin: 0 };
  return { lang: ranked[0], scores, margin: (best - scores[ranked[1]]) / best };
}

/**
 * The most likely language of a note (nb, sv, da, fi, et or en); "en" when there is no evidence.
 *
 * @example detectLanguage("Potilaalla ei ole tahdistinta.") // "fi"
 */
export function detectLanguage(text: string): Lang {
  return detectLanguageScores(text).lang;
}
