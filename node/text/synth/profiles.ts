/**
 * Site profiles: how one hospital's notes differ from another's (language, prevalence, note styles).
 *
 * Real hospitals are non-IID: a cardiology-heavy Swedish university hospital writes many MRI referrals
 * with pacemakers, a Danish orthopaedic centre mostly discharge summaries with joint prostheses. The
 * default profiles below differ on purpose so that federated training sees skewed sites.
 */
import { z } from "zod";
import { IMPLANT_CATEGORIES, LANGS, type ImplantCategory, type Lang } from "../labels";
import { NOTE_STYLES, type NoteStyle } from "../note";

/** Kinds of hard implant constructions a profile mixes. */
export const IMPLANT_HARD_KINDS = ["negated", "family", "planned", "removed", "other_context"] as const;
/** One hard implant construction kind. */
export type ImplantHardKind = (typeof IMPLANT_HARD_KINDS)[number];
/** Kinds of hard ADR constructions. */
export const ADR_HARD_KINDS = ["adr_negated", "adr_uncertain", "adr_info", "adr_family"] as const;
/** One hard ADR construction kind. */
export type AdrHardKind = (typeof ADR_HARD_KINDS)[number];

/** Parameters of one site's synthetic notes. Probabilities are per note unless stated. */
export interface SiteProfile {
  /** Profile name, kept in each note's meta. */
  name: string;
  lang: Lang;
  /** P(the patient carries at least one implant). */
  implantPrevalence: number;
  /** P(one more implant category), applied repeatedly up to three categories. */
  multiImplantRate: number;
  /** P(the note reports an adverse drug reaction). */
  adrPrevalence: number;
  /** P(the note contains a hard implant construction: negated, family, planned, removed, other context). */
  hardNegativeRate: number;
  /** P(a current implant is written with a hard-positive sentence). */
  hardPositiveRate: number;
  /** P(the note contains a hard ADR construction: negated, uncertain, information, family). */
  adrHardRate: number;
  /** Relative weights of implant categories. */
  categoryWeights: Record<ImplantCategory, number>;
  /** Relative weights of note styles. */
  styleMix: Record<NoteStyle, number>;
  /** Relative weights of hard implant construction kinds. */
  hardMix: Record<ImplantHardKind, number>;
}

const prob = z.number().min(0).max(1);
const weights = <K extends string>(keys: readonly K[]) =>
  z
    .object(Object.fromEntries(keys.map((k) => [k, z.number().min(0)])) as Record<K, z.ZodNumber>)
    .strict()
    .refine(
      (w) => Object.values(w as Record<string, number>).some((x) => x > 0),
      "at least one weight must be positive",
    );

/** Schema of a {@link SiteProfile} (for profiles read from JSON). */
export const siteProfileSchema = z
  .object({
    name: z.string().min(1).max(100),
    lang: z.enum(LANGS),
    implantPrevalence: prob,
    multiImplantRate: prob.max(0.9),
    adrPrevalence: prob,
    hardNegativeRate: prob,
    hardPositiveRate: prob,
    adrHardRate: prob,
    categoryWeights: weights(IMPLANT_CATEGORIES),
    styleMix: weights(NOTE_STYLES),
    hardMix: weights(IMPLANT_HARD_KINDS),
  })
  .strict();

const cats = (w: Partial<Record<ImplantCategory, number>>): Record<ImplantCategory, number> =>
  Object.fromEntries(IMPLANT_CATEGORIES.map((c) => [c, w[c] ?? 1])) as Record<ImplantCategory, number>;

/** Default profile per language: each site differs in prevalence, category mix and note styles. */
export const SITE_PROFILES: Record<Lang, SiteProfile> = {
  nb: {
    name: "nb-default",
    lang: "nb",
    implantPrevalence: 0.35,
    multiImplantRate: 0.2,
    adrPrevalence: 0.25,
    hardNegativeRate: 0.4,
    hardPositiveRate: 0.15,
    adrHardRate: 0.35,
    categoryWeights: cats({ cardiac_rhythm_device: 4, orthopaedic_implant: 3, vascular_implant: 2 }),
    styleMix: { admission: 4, mri_referral: 2, nursing: 2, discharge: 2, medication_list: 1 },
    hardMix: { negated: 4, family: 2, planned: 2, removed: 2, other_context: 2 },
  },
  sv: {
    name: "sv-default",
    lang: "sv",
    implantPrevalence: 0.5,
    multiImplantRate: 0.25,
    adrPrevalence: 0.2,
    hardNegativeRate: 0.45,
    hardPositiveRate: 0.2,
    adrHardRate: 0.3,
    categoryWeights: cats({
      cardiac_rhythm_device: 6,
      heart_valve: 3,
      vascular_implant: 3,
      neurostimulator: 0.5,
    }),
    styleMix: { admission: 1, mri_referral: 5, nursing: 1, discharge: 2, medication_list: 1 },
    hardMix: { negated: 5, family: 1, planned: 2, removed: 2, other_context: 2 },
  },
  da: {
    name: "da-default",
    lang: "da",
    implantPrevalence: 0.3,
    multiImplantRate: 0.15,
    adrPrevalence: 0.3,
    hardNegativeRate: 0.35,
    hardPositiveRate: 0.1,
    adrHardRate: 0.4,
    categoryWeights: cats({ orthopaedic_implant: 6, other_implant: 2, metal_foreign_body: 0.5 }),
    styleMix: { admission: 2, mri_referral: 1, nursing: 1, discharge: 5, medication_list: 2 },
    hardMix: { negated: 3, family: 1, planned: 3, removed: 3, other_context: 2 },
  },
  fi: {
    name: "fi-default",
    lang: "fi",
    implantPrevalence: 0.4,
    multiImplantRate: 0.2,
    adrPrevalence: 0.25,
    hardNegativeRate: 0.4,
    hardPositiveRate: 0.15,
    adrHardRate: 0.35,
    categoryWeights: cats({
      cochlear_implant: 3,
      drug_pump: 4,
      neurostimulator: 2,
      cardiac_rhythm_device: 2,
    }),
    styleMix: { admission: 2, mri_referral: 2, nursing: 4, discharge: 1, medication_list: 1 },
    hardMix: { negated: 4, family: 3, planned: 1, removed: 1, other_context: 2 },
  },
  et: {
    name: "et-default",
    lang: "et",
    implantPrevalence: 0.25,
    multiImplantRate: 0.1,
    adrPrevalence: 0.35,
    hardNegativeRate: 0.3,
    hardPositiveRate: 0.1,
    adrHardRate: 0.3,
    categoryWeights: cats({
      cardiac_rhythm_device: 3,
      aneurysm_clip: 2,
      csf_shunt: 2,
      metal_foreign_body: 2,
    }),
    styleMix: { admission: 2, mri_referral: 1, nursing: 1, discharge: 2, medication_list: 4 },
    hardMix: { negated: 4, family: 2, planned: 2, removed: 1, other_context: 1 },
  },
  en: {
    name: "en-default",
    lang: "en",
    implantPrevalence: 0.35,
    multiImplantRate: 0.2,
    adrPrevalence: 0.25,
    hardNegativeRate: 0.4,
    hardPositiveRate: 0.15,
    adrHardRate: 0.35,
    categoryWeights: cats({}),
    styleMix: { admission: 1, mri_referral: 1, nursing: 1, discharge: 1, medication_list: 1 },
    hardMix: { negated: 1, family: 1, planned: 1, removed: 1, other_context: 1 },
  },
};

/**
 * A profile with equal weights everywhere ("balanced"), useful as an IID baseline next to the skewed
 * defaults.
 */
export function balancedProfile(lang: Lang): SiteProfile {
  return {
    name: `${lang}-balanced`,
    lang,
    implantPrevalence: 0.4,
    multiImplantRate: 0.2,
    adrPrevalence: 0.3,
    hardNegativeRate: 0.4,
    hardPositiveRate: 0.15,
    adrHardRate: 0.35,
    categoryWeights: cats({}),
    styleMix: { admission: 1, mri_referral: 1, nursing: 1, discharge: 1, medication_list: 1 },
    hardMix: { negated: 1, family: 1, planned: 1, removed: 1, other_context: 1 },
  };
}

/**
 * Resolves a profile name for a language: "default" (the language's entry of {@link SITE_PROFILES}) or
 * "balanced". Returns undefined for an unknown name.
 */
export function profileByName(name: string, lang: Lang): SiteProfile | undefined {
  if (name === "default") return SITE_PROFILES[lang];
  if (name === "balanced") return balancedProfile(lang);
  return undefined;
}
