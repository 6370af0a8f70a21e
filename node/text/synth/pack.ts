/**
 * The shape of a language pack: everything the generator needs to write notes in one language.
 *
 * Templates are plain strings with slots in braces. `{name}` takes the slot's default form, `{name.f}`
 * form f. Fixed slots of a mention: dev (device term), side (laterality), rel (relative), drug, harm,
 * alt (drug switched to), item (checklist item), mdl (" (model)" or nothing). Every other slot name
 * is taken from the pack's pools, or is one of the built-ins: date, year, age, days, num.
 * Form keys are the pack's own; the usual ones:
 * - nb, sv, da: n indefinite, d definite, s compound stem ("pacemaker" → "pacemakerkontroll");
 * - fi: n nominative, g genitive, p partitive, a adessive, e elative, i illative/inessive (side), s stem;
 * - et: n nominative, g genitive, p partitive, k comitative, e elative, i inessive (side), a adessive.
 */
import type { ImplantCategory, Lang } from "../labels";
import type { NoteStyle } from "../note";
import type { DeviceKind, DrugId, HarmId } from "./shared";

/** Inflected forms of one word or phrase; "n" is the default form. */
export type Forms = Readonly<Record<string, string>> & { readonly n: string };
/** Forms of a word that is not inflected in templates. */
export function one(n: string): Forms {
  return { n };
}

/** A pool entry: a plain string or inflected forms. */
export type PoolItem = string | Forms;

/** A device term of one implant category. */
export interface DeviceTerm {
  cat: ImplantCategory;
  /** Which model list names models of this device (see DEVICE_MODELS). */
  kind: DeviceKind;
  forms: Forms;
  /** True when the term contains a {side} slot (laterality). */
  sided?: boolean;
}

/** A sentence where an implant word does not mean an implant the patient carries. */
export interface OtherContext {
  cat: ImplantCategory;
  text: string;
}

/** Sentences of one note style. */
export interface StyleText {
  /** First line of the note. */
  headers: readonly string[];
  /** Opening sentences (reason for contact, indication). */
  intro: readonly string[];
  /** Background and findings. */
  body: readonly string[];
  /** Plan and follow-up. */
  outro: readonly string[];
}

/** Everything one language needs. */
export interface LangPack {
  lang: Lang;
  /** Formats a calendar date the way notes in this language write it. */
  date(y: number, m: number, d: number): string;
  /** Formats a year as used after a preposition ("i 2019", "vuonna 2019", "2019. aastal"). */
  yearPhrase: readonly string[];
  styles: Record<NoteStyle, StyleText>;
  /** Heading of the implant section in MRI referrals (a line of its own). */
  implantHeading: readonly string[];
  /** Heading of the allergy line ("CAVE:", "Allergier:"). */
  allergyHeading: readonly string[];
  /** Medication list lines (drug name, strength and dosing). */
  medLines: readonly string[];
  devices: readonly DeviceTerm[];
  sides: readonly Forms[];
  relatives: readonly Forms[];
  /** Name of each category on an MRI safety checklist ("Pacemaker/ICD"). */
  checklist: Record<ImplantCategory, string>;
  /** Checklist answers: yes / no. */
  yes: readonly string[];
  no: readonly string[];
  implant: {
    positive: readonly string[];
    /** Positive sentences only for some categories (control clinic of a device...). */
    positiveByCat: Partial<Record<ImplantCategory, readonly string[]>>;
    hardPositive: readonly string[];
    hardPositiveByCat: Partial<Record<ImplantCategory, readonly string[]>>;
    negated: readonly string[];
    family: readonly string[];
    planned: readonly string[];
    removed: readonly string[];
    otherContext: readonly OtherContext[];
    /** A blanket denial of all implants ("Ingen implantater."). */
    noneAtAll: readonly string[];
  };
  adr: {
    drugs: Record<DrugId, Forms>;
    harms: Record<HarmId, Forms>;
    positive: readonly string[];
    /** Positive sentences that name a drug switched to ({alt}). */
    positiveSwitch: readonly string[];
    negated: readonly string[];
    uncertain: readonly string[];
    info: readonly string[];
    family: readonly string[];
  };
  /** Slot pools shared by all templates of the pack (symptoms, diagnoses, regions...). */
  pools: Record<string, readonly PoolItem[]>;
}
