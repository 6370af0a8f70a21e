/**
 * Language-independent tables of the synthetic corpus: device models per device kind and the drug-harm
 * pairs adverse drug reaction sentences link. Names are generic public product names, used only to make
 * notes look real; nothing here says anything about a product's safety.
 */
import type { Lang } from "../labels";
import type { Rng } from "./prng";

/** Device kinds, each with models a note may name. */
export const DEVICE_MODELS = {
  pacemaker: [
    "Medtronic Azure XT DR MRI",
    "Medtronic Advisa DR MRI",
    "Abbott Assurity MRI",
    "Biotronik Edora 8 DR-T",
    "Boston Scientific Accolade MRI",
    "Medtronic Micra AV",
  ],
  icd: [
    "Medtronic Evera MRI XT DR",
    "Boston Scientific Resonate EL",
    "Abbott Gallant",
    "Biotronik Acticor 7 VR-T",
  ],
  crt: ["Medtronic Cobalt XT HF", "Boston Scientific Resonate HF", "Abbott Quadra Assura MP"],
  loop: ["Medtronic Reveal LINQ", "Abbott Confirm Rx", "Biotronik BioMonitor III"],
  dbs: ["Medtronic Percept PC", "Abbott Infinity", "Boston Scientific Vercise Genus"],
  vns: ["LivaNova SenTiva", "LivaNova AspireSR"],
  scs: ["Nevro Senza", "Medtronic Intellis", "Abbott Proclaim XR"],
  ci: [
    "Cochlear Nucleus CI632",
    "Cochlear Nucleus 7",
    "MED-EL Synchrony 2",
    "Advanced Bionics HiRes Ultra 3D",
  ],
  insulin: ["Medtronic MiniMed 780G", "Tandem t:slim X2", "Omnipod 5", "Ypsomed mylife YpsoPump"],
  itpump: ["Medtronic SynchroMed II"],
  clip: ["Yasargil titanium", "Sugita", "Aesculap Yasargil"],
  shunt: ["Codman Hakim", "Medtronic Strata II", "Miethke proGAV 2.0", "Codman Certas Plus"],
  stent: ["Xience Sierra", "Resolute Onyx", "Synergy", "Orsiro"],
  sgraft: ["Cook Zenith", "Medtronic Endurant II", "Gore Excluder"],
  coil: ["GDC", "Target"],
  filter: ["Cook Günther Tulip", "Bard Denali"],
  valve_mech: ["St. Jude Regent", "On-X"],
  valve_bio: ["Carpentier-Edwards Perimount", "Medtronic Hancock II"],
  tavi: ["Edwards Sapien 3", "Medtronic Evolut PRO"],
  hip: ["Exeter", "Corail", "Zimmer CLS"],
  knee: ["Zimmer NexGen", "Stryker Triathlon", "DePuy Attune"],
  iud: ["Mirena", "Kyleena", "Jaydess"],
  breast: ["Mentor", "Natrelle"],
  dental: ["Straumann", "Nobel Biocare"],
  none: [],
} as const satisfies Record<string, readonly string[]>;
/** A device kind of {@link DEVICE_MODELS}. */
export type DeviceKind = keyof typeof DEVICE_MODELS;

/** Drugs the ADR sentences use (international names; each pack spells them). */
export const DRUGS = [
  "amoxicillin",
  "penicillin",
  "enalapril",
  "lisinopril",
  "simvastatin",
  "atorvastatin",
  "metformin",
  "warfarin",
  "apixaban",
  "amlodipine",
  "codeine",
  "morphine",
  "oxycodone",
  "metoprolol",
  "trimethoprim",
  "ciprofloxacin",
  "ibuprofen",
  "hydrochlorothiazide",
  "sertraline",
  "losartan",
  "rosuvastatin",
  "doxycycline",
  "clindamycin",
  "paracetamol",
  "lercanidipine",
  "sitagliptin",
  "bisoprolol",
] as const;
/** A drug id. */
export type DrugId = (typeof DRUGS)[number];

/** Harms the ADR sentences use. */
export const HARMS = [
  "rash",
  "urticaria",
  "cough",
  "angioedema",
  "myalgia",
  "diarrhoea",
  "nausea",
  "bleeding",
  "gi_bleeding",
  "ankle_oedema",
  "dizziness",
  "bradycardia",
  "constipation",
  "tendinitis",
  "hyponatraemia",
] as const;
/** A harm id. */
export type HarmId = (typeof HARMS)[number];

/** A known drug-harm link, with the drug a clinician typically switches to. */
export interface AdrPair {
  drug: DrugId;
  harm: HarmId;
  alt?: DrugId;
}

/** Plausible drug-harm links (textbook adverse reactions). */
export const ADR_PAIRS: readonly AdrPair[] = [
  { drug: "amoxicillin", harm: "rash", alt: "doxycycline" },
  { drug: "amoxicillin", harm: "urticaria", alt: "doxycycline" },
  { drug: "penicillin", harm: "rash", alt: "clindamycin" },
  { drug: "penicillin", harm: "urticaria", alt: "clindamycin" },
  { drug: "enalapril", harm: "cough", alt: "losartan" },
  { drug: "enalapril", harm: "angioedema", alt: "losartan" },
  { drug: "lisinopril", harm: "cough", alt: "losartan" },
  { drug: "simvastatin", harm: "myalgia", alt: "rosuvastatin" },
  { drug: "atorvastatin", harm: "myalgia", alt: "rosuvastatin" },
  { drug: "metformin", harm: "diarrhoea", alt: "sitagliptin" },
  { drug: "metformin", harm: "nausea", alt: "sitagliptin" },
  { drug: "warfarin", harm: "bleeding", alt: "apixaban" },
  { drug: "apixaban", harm: "bleeding" },
  { drug: "amlodipine", harm: "ankle_oedema", alt: "lercanidipine" },
  { drug: "codeine", harm: "nausea", alt: "paracetamol" },
  { drug: "codeine", harm: "constipation", alt: "paracetamol" },
  { drug: "morphine", harm: "nausea", alt: "oxycodone" },
  { drug: "oxycodone", harm: "constipation" },
  { drug: "metoprolol", harm: "bradycardia", alt: "bisoprolol" },
  { drug: "metoprolol", harm: "dizziness", alt: "bisoprolol" },
  { drug: "trimethoprim", harm: "rash" },
  { drug: "ciprofloxacin", harm: "tendinitis" },
  { drug: "ibuprofen", harm: "gi_bleeding", alt: "paracetamol" },
  { drug: "hydrochlorothiazide", harm: "hyponatraemia" },
  { drug: "sertraline", harm: "hyponatraemia" },
  { drug: "sertraline", harm: "nausea" },
];

/** Words of a measurements line that differ by language: blood pressure, pulse, weight, creatinine. */
const MEASURE_WORDS: Record<
  Lang,
  { bp: string; pulse: string; weight: string; creat: string; heads: string[] }
> = {
  nb: {
    bp: "BT",
    pulse: "puls",
    weight: "vekt",
    creat: "kreatinin",
    heads: ["Status:", "Lab:", "Obj.:", ""],
  },
  sv: {
    bp: "BT",
    pulse: "puls",
    weight: "vikt",
    creat: "krea",
    heads: ["Status:", "Lab:", "Vitalparametrar:", ""],
  },
  da: {
    bp: "BT",
    pulse: "puls",
    weight: "vægt",
    creat: "kreatinin",
    heads: ["Obj.:", "Paraklinik:", "Vitale værdier:", ""],
  },
  fi: {
    bp: "RR",
    pulse: "syke",
    weight: "paino",
    creat: "krea",
    heads: ["Status:", "Lab:", "Vitaalit:", ""],
  },
  et: {
    bp: "RR",
    pulse: "fr",
    weight: "kaal",
    creat: "kreatiniin",
    heads: ["Obj:", "Analüüsid:", "Vitaalnäitajad:", ""],
  },
  en: { bp: "BP", pulse: "pulse", weight: "weight", creat: "creatinine", heads: ["Status:", "Labs:", ""] },
};

/**
 * A line of vital signs or laboratory values with random numbers ("Status: BT 134/82, puls 71, SpO2 97 %."),
 * as nearly every real note has: numbers and lab abbreviations carry no label, and a model that sees them
 * only next to devices learns that they do.
 */
export function measurementLine(rng: Rng, lang: Lang): string {
  const w = MEASURE_WORDS[lang];
  const dec = (a: number, b: number) => `${rng.int(a, b)},${rng.int(0, 9)}`;
  const items = [
    () => `${w.bp} ${rng.int(95, 185)}/${rng.int(50, 105)}`,
    () => `${w.pulse} ${rng.int(45, 120)}`,
    () => `SpO2 ${rng.int(86, 100)} %`,
    () => `T ${dec(36, 39)}`,
    () => `Hb ${rng.int(85, 165)} g/l`,
    () => `CRP ${rng.int(1, 180)}`,
    () => `${w.creat} ${rng.int(45, 210)}`,
    () => `eGFR ${rng.int(25, 95)}`,
    () => `INR ${dec(1, 4)}`,
    () => `K ${dec(3, 5)}`,
    () => `${w.weight} ${rng.int(48, 130)} kg`,
  ];
  const picked = rng.shuffle(items).slice(0, rng.int(2, 5));
  const head = rng.pick(w.heads);
  return `${head ? `${head} ` : ""}${picked.map((f) => f()).join(", ")}.`;
}

/** Lines that name people, wards and codes, per language; {N} a name, {R} a role, {W} a ward or room code. */
const NOISE_LINES: Record<Lang, { lines: string[]; roles: string[] }> = {
  nb: {
    lines: ["Signert: {N}", "Dokumentert av {N}, {R}", "Avd. {W}", "Kopi til: {N}", "Ref. {W}"],
    roles: ["LIS", "overlege", "ssk", "spl"],
  },
  sv: {
    lines: ["Signerad: {N}", "Dikterad av {N}, {R}", "Avd {W}", "Kopia till: {N}", "Ref {W}"],
    roles: ["ST-läkare", "överläkare", "ssk", "usk"],
  },
  da: {
    lines: ["Underskrevet: {N}", "Dikteret af {N}, {R}", "Afsnit {W}", "Kopi til: {N}", "Ref. {W}"],
    roles: ["reservelæge", "overlæge", "spl", "sosu"],
  },
  fi: {
    lines: ["Allekirjoitus: {N}", "Sanellut {N}, {R}", "Osasto {W}", "Kopio: {N}", "Viite {W}"],
    roles: ["EL", "LL", "sh", "erikoislääkäri"],
  },
  et: {
    lines: ["Allkiri: {N}", "Koostas {N}, {R}", "Osakond {W}", "Koopia: {N}", "Viide {W}"],
    roles: ["arst-resident", "raviarst", "õde", "vanemõde"],
  },
  en: { lines: ["Signed: {N}", "Dictated by {N}, {R}", "Ward {W}", "Copy to: {N}"], roles: ["MD", "RN"] },
};

const CONSONANTS = "bdfghjklmnprstv";
const VOWELS = "aeiouy";
const LETTERS = "abcdefghijklmnopqrstuvwxyzåäöæøõü";

/** A string of 1–4 random letters, upper case ("QZ", "B"): a ward, a code, an initial. */
function randomLetters(rng: Rng): string {
  let w = "";
  for (let n = rng.int(1, 4); n > 0; n--) w += LETTERS[rng.int(0, LETTERS.length - 1)];
  return w.toUpperCase();
}

/** A made-up word of two or three syllables, capitalised ("Kelvaro"). */
function madeUpWord(rng: Rng): string {
  let w = "";
  for (let s = rng.int(2, 3); s > 0; s--) {
    w += CONSONANTS[rng.int(0, CONSONANTS.length - 1)] + VOWELS[rng.int(0, VOWELS.length - 1)];
    if (rng.chance(0.4)) w += CONSONANTS[rng.int(0, CONSONANTS.length - 1)];
  }
  return w[0].toUpperCase() + w.slice(1);
}

/**
 * A line of the kind every real note has and no label depends on: a signature, a ward, a copy recipient,
 * made of words the model has never seen ("Signert: Kelvaro Dunsimet, LIS", "Avd. B3"). Without such lines
 * the model never learns what a sentence of unknown words means, and scores one near even odds for every
 * label.
 */
export function noiseLine(rng: Rng, lang: Lang): string {
  const { lines, roles } = NOISE_LINES[lang];
  const ward = () => randomLetters(rng) + (rng.chance(0.5) ? ` ${rng.int(1, 99)}` : "");
  return rng
    .pick(lines)
    .replace("{N}", `${rng.chance(0.3) ? randomLetters(rng) : madeUpWord(rng)} ${madeUpWord(rng)}`)
    .replace("{R}", rng.pick(roles))
    .replace("{W}", ward());
}
