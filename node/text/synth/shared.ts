/**
 * Language-independent tables of the synthetic corpus: device models per device kind and the drug-harm
 * pairs adverse drug reaction sentences link. Names are generic public product names, used only to make
 * notes look real; nothing here says anything about a product's safety.
 */

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
