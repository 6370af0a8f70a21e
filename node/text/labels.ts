/**
 * The label set of the clinical text task, shared by the text pipeline and the model.
 *
 * A note carries one label per implant category the patient CURRENTLY carries (not negated, not a relative,
 * not planned, not removed), plus `adr` when the note reports an adverse drug reaction. The derived output
 * `implant` means "any implant category" and is computed with {@link hasImplant}; it is not a stored label.
 *
 * The order of {@link LABELS} is part of the model format: the model's output unit i predicts `LABELS[i]`.
 * Append new labels at the end of the implant list only together with a model format change.
 */

/** Note languages: Norwegian Bokmål, Swedish, Danish, Finnish, Estonian, and English (optional). */
export const LANGS = ["nb", "sv", "da", "fi", "et", "en"] as const;
/** A note language code (ISO 639-1). */
export type Lang = (typeof LANGS)[number];

/** Implant categories that MRI screening forms ask about. */
export const IMPLANT_CATEGORIES = [
  "cardiac_rhythm_device",
  "neurostimulator",
  "cochlear_implant",
  "drug_pump",
  "aneurysm_clip",
  "csf_shunt",
  "vascular_implant",
  "heart_valve",
  "orthopaedic_implant",
  "metal_foreign_body",
  "other_implant",
] as const;
/** One implant category id. */
export type ImplantCategory = (typeof IMPLANT_CATEGORIES)[number];

/** All labels in model output order: the implant categories, then `adr`. */
export const LABELS = [...IMPLANT_CATEGORIES, "adr"] as const;
/** One label id. */
export type Label = (typeof LABELS)[number];

/** MR safety classes of ASTM F2503. */
export type MriSafetyClass = "MR Safe" | "MR Conditional" | "MR Unsafe";

/** What radiology staff need to know about a category. */
export interface CategoryInfo {
  /** Short human-readable name. */
  title: string;
  /**
   * The typical ASTM F2503 class for devices of this category, sometimes a range ("MR Conditional or MR
   * Unsafe"). The device model decides: always check the labelling of the actual device.
   */
  mriSafety: string;
  /** What staff should check before scanning. */
  advice: string;
}

/** Per-category title, typical MR safety class and screening advice (see docs/labels.md). */
export const CATEGORY_INFO: Record<ImplantCategory, CategoryInfo> = {
  cardiac_rhythm_device: {
    title: "Cardiac rhythm device (pacemaker, ICD, CRT, loop recorder)",
    mriSafety: "MR Conditional or MR Unsafe (depends on generator and leads)",
    advice:
      "Cardiac rhythm device: check MR Conditional labelling of generator AND leads, implant date (≥ 6 weeks), " +
      "abandoned or epicardial leads; arrange device programming and cardiology support before scanning",
  },
  neurostimulator: {
    title: "Neurostimulator (deep brain, vagus nerve, spinal cord, sacral)",
    mriSafety: "MR Conditional or MR Unsafe",
    advice:
      "Neurostimulator: identify system and lead model, check MR Conditional conditions (body coil vs head coil, " +
      "SAR limits); the stimulator usually has to be switched to MRI mode",
  },
  cochlear_implant: {
    title: "Cochlear implant or other active hearing implant",
    mriSafety: "MR Conditional (often with magnet removal or head bandage) or MR Unsafe",
    advice:
      "Cochlear implant: check model and whether the internal magnet must be removed or the head bandaged; " +
      "remove the external processor",
  },
  drug_pump: {
    title: "Implanted or external drug pump (insulin, pain, chemotherapy, baclofen)",
    mriSafety: "MR Unsafe (external pumps) or MR Conditional (implanted pumps)",
    advice:
      "Drug pump: external pumps must be removed before entering the scanner room; implanted pumps need " +
      "model check and may need to be checked or refilled after the scan",
  },
  aneurysm_clip: {
    title: "Intracranial aneurysm clip",
    mriSafety: "MR Conditional or MR Safe (modern titanium), MR Unsafe (older ferromagnetic clips)",
    advice:
      "Aneurysm clip: obtain clip model and material from the operation report; ferromagnetic clips are a " +
      "contraindication",
  },
  csf_shunt: {
    title: "CSF shunt (ventriculoperitoneal shunt, programmable valve)",
    mriSafety: "MR Conditional",
    advice:
      "CSF shunt: programmable valves may change setting in the magnet; check the valve model and plan " +
      "a setting check after the scan",
  },
  vascular_implant: {
    title: "Vascular implant (stent, stent graft, coil, vena cava filter, vascular graft)",
    mriSafety: "MR Conditional (most modern stents and coils), MR Safe for some non-metallic grafts",
    advice:
      "Vascular implant: check implant date and MR Conditional conditions; most current stents may be " +
      "scanned at 1.5 T / 3 T immediately",
  },
  heart_valve: {
    title: "Heart valve prosthesis or annuloplasty ring",
    mriSafety: "MR Conditional (nearly all valves and rings)",
    advice:
      "Heart valve prosthesis: usually MR Conditional; confirm valve type and note possible image artefacts",
  },
  orthopaedic_implant: {
    title: "Orthopaedic implant (joint prosthesis, plate, screw, nail, spinal fixation)",
    mriSafety: "MR Conditional (usually) or MR Safe",
    advice:
      "Orthopaedic implant: usually acceptable; note location for heating risk and artefacts near the " +
      "region of interest",
  },
  metal_foreign_body: {
    title: "Metal foreign body (metal splinter in the eye, bullet, shrapnel)",
    mriSafety: "MR Unsafe (until excluded)",
    advice:
      "Metal foreign body: exclude metal in the eye with an X-ray of the orbits before scanning; " +
      "bullets and shrapnel near vital structures are a contraindication",
  },
  other_implant: {
    title: "Other implant (IUD, dental implant, breast implant with port, other)",
    mriSafety: "MR Safe or MR Conditional (usually), check model",
    advice:
      "Other implant: identify the device and check its MR labelling; tissue expanders with ports are MR Unsafe",
  },
};

/** True when `x` is one of {@link LABELS}. */
export function isLabel(x: unknown): x is Label {
  return typeof x === "string" && (LABELS as readonly string[]).includes(x);
}

/** True when `x` is one of {@link LANGS}. */
export function isLang(x: unknown): x is Lang {
  return typeof x === "string" && (LANGS as readonly string[]).includes(x);
}

/** True when `x` is one of {@link IMPLANT_CATEGORIES}. */
export function isImplantCategory(x: unknown): x is ImplantCategory {
  return typeof x === "string" && (IMPLANT_CATEGORIES as readonly string[]).includes(x);
}

/** The derived `implant` output: true when any label is an implant category. */
export function hasImplant(labels: readonly Label[]): boolean {
  return labels.some((l) => l !== "adr");
}
