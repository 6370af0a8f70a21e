/**
 * The synthetic note generator: writes plausible clinical notes with known labels, per language and
 * site profile, deterministically for a seed.
 *
 * A note is built from a style skeleton (header, opening, background, plan) and a set of constructed
 * mentions: current implants (the labels), adverse drug reactions, and the hard negatives a keyword
 * search falls for. Every mention is recorded in `meta.mentions`, the first hard one in `meta.hard`.
 */
import { FedledgerError, UsageError } from "../../errors";
import { fnv1a } from "../hash";
import { IMPLANT_CATEGORIES, LABELS, isLang, type ImplantCategory, type Label, type Lang } from "../labels";
import type { HardKind, Mention, MentionKind, Note, NoteStyle } from "../note";
import { PACKS } from "./packs";
import type { DeviceTerm, LangPack, PoolItem } from "./pack";
import {
  ADR_HARD_KINDS,
  SITE_PROFILES,
  siteProfileSchema,
  type AdrHardKind,
  type SiteProfile,
} from "./profiles";
import { Rng } from "./prng";
import { renderTemplate, type FixedSlots } from "./render";
import { abbreviationOf, makerModelOf, misspellForms } from "./lexiconTerms";
import { ADR_PAIRS, DEVICE_MODELS, measurementLine, noiseLine } from "./shared";

/** Share of device mentions written with a lexicon abbreviation instead of the pack's word. */
const ABBREVIATION_RATE = 0.2;
/** Share of device mentions with a spelling error. */
const MISSPELLING_RATE = 0.07;
/** Share of notes with a background sentence from the pack's "calm" pool ("Inga nya besvär."). */
const CALM_RATE = 0.35;
/** Share of notes with a line of unknown words: a signature, a ward, a copy recipient. */
const NOISE_RATE = 0.5;
/** Share of notes (other than medication lists) with a line of vital signs or laboratory values. */
const MEASURE_RATE = 0.4;
/** Share of maker/model names taken from the lexicon rather than the generator's model table. */
const LEXICON_MODEL_RATE = 0.5;

/** Most notes one call may generate. */
export const MAX_GENERATED_NOTES = 10_000_000;

/** Options of {@link generateNotes}. */
export interface GenerateOptions {
  lang: Lang;
  /** Number of notes, 1 ≤ n ≤ 10^7. */
  n: number;
  /** Any safe integer; the same seed gives the same notes. */
  seed: number;
  /** Site profile; default SITE_PROFILES[lang]. Its lang must equal `lang`. */
  profile?: SiteProfile;
  /** Index of the first note (for writing large corpora in chunks); default 0. */
  offset?: number;
  /**
   * Which mention templates and device terms to use: "all" (default), "train" (all but the held-out ones)
   * or "heldout" (only the held-out ones). See {@link heldOut}. Train on "train" and test on "heldout" to
   * measure generalisation to phrasings and device words the model never saw.
   */
  split?: TemplateSplit;
}

/** Template split of {@link GenerateOptions}. */
export type TemplateSplit = "all" | "train" | "heldout";
/** The template splits. */
export const TEMPLATE_SPLITS: readonly TemplateSplit[] = ["all", "train", "heldout"];

/**
 * Whether entry i of a list of n mention templates or device terms is held out: in lists of four or more,
 * every fourth entry (i mod 4 = 3); in lists of two or three, the last entry; a single entry is never
 * held out (both splits use it).
 */
export function heldOut(i: number, n: number): boolean {
  if (n < 2) return false;
  return n >= 4 ? i % 4 === 3 : i === n - 1;
}

/** Languages the generator can write. */
export function generatorLanguages(): Lang[] {
  return (Object.keys(PACKS) as Lang[]).filter((l) => PACKS[l] !== undefined);
}

interface Sentence {
  text: string;
  /** Where the sentence goes: the implant section, the allergy line, or the running text. */
  place: "implant" | "adr" | "body";
  /** True for a sentence that reports a current implant (a positive or hard positive mention). */
  current: boolean;
}

class NoteBuilder {
  readonly sentences: Sentence[] = [];
  readonly mentions: Mention[] = [];
  readonly positives = new Set<ImplantCategory>();
  adr = false;
  checklist: string[] = [];
  /** Pool slot values shared by all sentences of the note. */
  readonly sticky = new Map<string, PoolItem>();

  constructor(
    readonly pack: LangPack,
    readonly rng: Rng,
    readonly split: TemplateSplit,
  ) {}

  /** Picks a mention template or device term allowed by the split. */
  pick<T>(items: readonly T[]): T {
    if (this.split === "all" || items.length < 2) return this.rng.pick(items);
    const want = this.split === "heldout";
    return this.rng.pick(items.filter((_, i) => heldOut(i, items.length) === want));
  }

  add(kind: MentionKind, label: ImplantCategory | "adr", text: string, place: Sentence["place"]): void {
    this.mentions.push({ kind, label });
    const current = label !== "adr" && (kind === "positive" || kind === "hard_positive");
    if (text) this.sentences.push({ text, place, current });
    if (kind === "positive" || kind === "hard_positive") {
      if (label === "adr") this.adr = true;
      else this.positives.add(label);
    }
  }

  render(template: string, fixed: FixedSlots): string {
    return renderTemplate(template, fixed, this.pack, this.rng, this.sticky);
  }
}

function termFor(b: NoteBuilder, cat: ImplantCategory): DeviceTerm {
  return b.pick(b.pack.devices.filter((d) => d.cat === cat));
}

function deviceSlots(b: NoteBuilder, term: DeviceTerm, withModel: number): FixedSlots {
  const { rng, pack } = b;
  const models: readonly string[] = DEVICE_MODELS[term.kind];
  let mdl = "";
  if (rng.chance(withModel)) {
    const fromLexicon = rng.chance(LEXICON_MODEL_RATE) ? makerModelOf(rng, pack.lang, term.cat) : undefined;
    const name = fromLexicon ?? (models.length > 0 ? rng.pick(models) : undefined);
    if (name) mdl = ` (${name})`;
  }
  let dev = term.forms;
  if (!term.sided && rng.chance(ABBREVIATION_RATE))
    dev = abbreviationOf(rng, pack.lang, term.cat, dev) ?? dev;
  if (rng.chance(MISSPELLING_RATE)) dev = misspellForms(rng, dev);
  return { dev, side: rng.pick(pack.sides), rel: rng.pick(pack.relatives), mdl };
}

function pickCategory(
  rng: Rng,
  weights: Record<ImplantCategory, number>,
  exclude: Set<ImplantCategory>,
): ImplantCategory {
  const w = { ...weights };
  for (const c of exclude) w[c] = 0;
  if (!Object.values(w).some((x) => x > 0))
    return rng.pick(IMPLANT_CATEGORIES.filter((c) => !exclude.has(c)));
  return rng.weighted(w);
}

function addPositive(b: NoteBuilder, profile: SiteProfile, cat: ImplantCategory): void {
  const { pack, rng } = b;
  const term = termFor(b, cat);
  const slots = deviceSlots(b, term, 0.5);
  const hard = [...pack.implant.hardPositive, ...(pack.implant.hardPositiveByCat[cat] ?? [])];
  if (rng.chance(profile.hardPositiveRate)) {
    b.add("hard_positive", cat, b.render(b.pick(hard), slots), "implant");
    return;
  }
  const byCat = pack.implant.positiveByCat[cat];
  const tpl = byCat && rng.chance(0.4) ? b.pick(byCat) : b.pick(pack.implant.positive);
  b.add("positive", cat, b.render(tpl, slots), "implant");
}

function addImplantHard(b: NoteBuilder, profile: SiteProfile): void {
  const { pack, rng } = b;
  const kind = rng.weighted(profile.hardMix);
  if (kind === "other_context") {
    const w: Partial<Record<ImplantCategory, number>> = {};
    for (const o of pack.implant.otherContext) w[o.cat] = profile.categoryWeights[o.cat] + 0.5;
    const cat = rng.weighted(w as Record<ImplantCategory, number>);
    const o = b.pick(pack.implant.otherContext.filter((x) => x.cat === cat));
    b.add("other_context", cat, b.render(o.text, {}), "body");
    return;
  }
  // Planning or a relative's metal splinter or IUD reads oddly; those categories only get the other kinds.
  const odd = new Set<ImplantCategory>(
    kind === "planned" || kind === "family" ? ["metal_foreign_body", "other_implant"] : [],
  );
  const cat = pickCategory(rng, profile.categoryWeights, odd);
  const slots = deviceSlots(b, termFor(b, cat), kind === "removed" ? 0.2 : 0);
  const templates = pack.implant[kind];
  b.add(kind, cat, b.render(b.pick(templates), slots), kind === "family" ? "body" : "implant");
}

function addChecklist(b: NoteBuilder, profile: SiteProfile): void {
  const { pack, rng } = b;
  const asked = new Set<ImplantCategory>(b.positives);
  const extra = rng.int(2, 6);
  while (asked.size < Math.min(IMPLANT_CATEGORIES.length, b.positives.size + extra)) {
    asked.add(pickCategory(rng, profile.categoryWeights, asked));
  }
  for (const cat of IMPLANT_CATEGORIES) {
    if (!asked.has(cat)) continue;
    const item = pack.checklist[cat];
    if (b.positives.has(cat)) {
      const term = termFor(b, cat);
      const slots = deviceSlots(b, term, 0.6);
      const detail = rng.chance(0.5)
        ? ` (${b.render(`{dev.n}{mdl}, {date}`, slots).replace(/^\p{Lu}/u, (c) => c.toLowerCase())})`
        : "";
      b.checklist.push(`${item}: ${rng.pick(pack.yes)}${detail}`);
      // The positive mention itself was recorded when the category was chosen.
    } else {
      b.checklist.push(`${item}: ${rng.pick(pack.no)}`);
      b.mentions.push({ kind: "negated", label: cat });
    }
  }
}

function addAdr(b: NoteBuilder): void {
  const { pack, rng } = b;
  const pair = rng.pick(ADR_PAIRS);
  const slots: FixedSlots = { drug: pack.adr.drugs[pair.drug], harm: pack.adr.harms[pair.harm] };
  let tpl: string;
  if (pair.alt && rng.chance(0.35)) {
    slots.alt = pack.adr.drugs[pair.alt];
    tpl = b.pick(pack.adr.positiveSwitch);
  } else {
    tpl = b.pick(pack.adr.positive);
  }
  b.add("positive", "adr", b.render(tpl, slots), "adr");
}

function addAdrHard(b: NoteBuilder, kind: AdrHardKind): void {
  const { pack, rng } = b;
  const pair = rng.pick(ADR_PAIRS);
  const slots: FixedSlots = {
    drug: pack.adr.drugs[pair.drug],
    harm: pack.adr.harms[pair.harm],
    rel: rng.pick(pack.relatives),
  };
  const templates = {
    adr_negated: pack.adr.negated,
    adr_uncertain: pack.adr.uncertain,
    adr_info: pack.adr.info,
    adr_family: pack.adr.family,
  }[kind];
  b.add(kind, "adr", b.render(b.pick(templates), slots), kind === "adr_negated" ? "adr" : "body");
}

function pickSome(b: NoteBuilder, items: readonly string[], min: number, max: number): string[] {
  if (items.length === 0) return [];
  const k = b.rng.int(min, max);
  return b.rng
    .shuffle(items)
    .slice(0, k)
    .map((t) => b.render(t, {}));
}

function insertRandomly<T>(rng: Rng, into: T[], items: readonly T[]): T[] {
  const out = into.slice();
  for (const it of items) out.splice(rng.int(0, out.length), 0, it);
  return out;
}

/** Share of mention sentences written in one sentence with the background sentence after them. */
const MERGE_RATE = 0.5;
const JOINERS = [", ", "; ", " – ", ", "];

/**
 * Inserts mention sentences among background sentences, and writes some of them in one sentence with the
 * background sentence that follows ("ICD sedan 2016, inlagd för bröstsmärta."), as real notes do: the
 * model must not learn that any other word in a mention's sentence makes it negative.
 */
function insertMentions(rng: Rng, body: readonly string[], mentions: readonly string[]): string[] {
  const placed = insertRandomly(rng, body.slice(), mentions);
  const isMention = new Set(mentions);
  const out: string[] = [];
  for (let i = 0; i < placed.length; i++) {
    const next = placed[i + 1];
    if (isMention.has(placed[i]) && next !== undefined && !isMention.has(next) && rng.chance(MERGE_RATE)) {
      const head = placed[i].replace(/[.!?]+$/u, "");
      const tail = next.replace(/^\p{Lu}(?!\p{Lu})/u, (c) => c.toLowerCase());
      out.push(head + rng.pick(JOINERS) + tail);
      i++;
    } else out.push(placed[i]);
  }
  return out;
}

/** Share of notes with several current implants that name them in one sentence. */
const LIST_RATE = 0.5;

/**
 * The implant section's sentences, with the current implants of a note that has several written as one
 * list sentence at the first one's place ("PM sedan 2019, koronarstent 2017; höftprotes hö."), as problem
 * lists do: the model must learn that naming one device is no evidence against another in its sentence.
 */
function implantSentences(rng: Rng, sentences: readonly Sentence[]): string[] {
  const implant = sentences.filter((s) => s.place === "implant");
  const current = implant.filter((s) => s.current);
  if (current.length < 2 || !rng.chance(LIST_RATE)) return implant.map((s) => s.text);
  const parts = current.map((s, i) => {
    const text = s.text.replace(/[.!?]+$/u, "");
    return i === 0 ? text : text.replace(/^\p{Lu}(?!\p{Lu})/u, (c) => c.toLowerCase());
  });
  const list = parts.reduce((acc, part) => acc + rng.pick(JOINERS) + part) + ".";
  const out: string[] = [];
  for (const s of implant) {
    if (!s.current) out.push(s.text);
    else if (s === current[0]) out.push(list);
  }
  return out;
}

function compose(b: NoteBuilder, style: NoteStyle): string {
  const { pack, rng } = b;
  const st = pack.styles[style];
  const header = b.render(rng.pick(st.headers), {});
  const intro = pickSome(b, st.intro, 1, 1);
  const body = pickSome(b, st.body, style === "medication_list" ? 0 : 1, 5);
  const calm = pack.pools.calm;
  if (calm && rng.chance(CALM_RATE)) body.push(b.render(rng.pick(calm) as string, {}));
  if (style !== "medication_list" && rng.chance(MEASURE_RATE)) body.push(measurementLine(rng, pack.lang));
  const outro = pickSome(b, st.outro, 0, 1);
  const implant = implantSentences(rng, b.sentences);
  const adr = b.sentences.filter((s) => s.place === "adr").map((s) => s.text);
  const other = b.sentences.filter((s) => s.place === "body").map((s) => s.text);
  const lines: string[] = [header];

  if (style === "mri_referral") {
    lines.push([...intro, ...insertMentions(rng, body, other)].join(" "));
    if (b.checklist.length > 0 || implant.length > 0) {
      lines.push(rng.pick(pack.implantHeading));
      if (b.checklist.length > 0) lines.push(...b.checklist);
      if (implant.length > 0) lines.push(implant.join(" "));
    }
    if (adr.length > 0) lines.push(`${rng.pick(pack.allergyHeading)} ${adr.join(" ")}`);
  } else if (style === "medication_list") {
    lines.push(intro.join(" "));
    const meds = rng.shuffle(pack.medLines).slice(0, rng.int(3, 7));
    lines.push(...insertRandomly(rng, meds, implant));
    if (other.length > 0 || body.length > 0) lines.push([...body, ...other].join(" "));
    if (adr.length > 0) lines.push(`${rng.pick(pack.allergyHeading)} ${adr.join(" ")}`);
  } else if (style === "nursing") {
    lines.push([...intro, ...insertMentions(rng, body, [...implant, ...other, ...adr])].join(" "));
  } else {
    lines.push([...intro, ...insertMentions(rng, body, [...implant, ...other])].join(" "));
    // A medication list in admission and discharge notes: drugs named with no reaction.
    if ((style === "admission" || style === "discharge") && rng.chance(0.35))
      lines.push(...rng.shuffle(pack.medLines).slice(0, rng.int(2, 6)));
    if (adr.length > 0) {
      if (rng.chance(0.6)) lines.push(`${rng.pick(pack.allergyHeading)} ${adr.join(" ")}`);
      else lines[lines.length - 1] += ` ${adr.join(" ")}`;
    }
  }
  if (outro.length > 0) lines.push(outro.join(" "));
  if (rng.chance(NOISE_RATE)) lines.splice(rng.chance(0.5) ? 1 : lines.length, 0, noiseLine(rng, pack.lang));
  return lines.filter((l) => l.trim().length > 0).join("\n");
}

function generateOne(pack: LangPack, profile: SiteProfile, rng: Rng, id: string, split: TemplateSplit): Note {
  const b = new NoteBuilder(pack, rng, split);
  const style = rng.weighted(profile.styleMix);

  const cats = new Set<ImplantCategory>();
  if (rng.chance(profile.implantPrevalence)) {
    cats.add(pickCategory(rng, profile.categoryWeights, cats));
    while (cats.size < 3 && rng.chance(profile.multiImplantRate))
      cats.add(pickCategory(rng, profile.categoryWeights, cats));
  }
  const useChecklist = style === "mri_referral" && rng.chance(0.45);
  for (const cat of cats) {
    if (useChecklist) b.add("positive", cat, "", "implant");
    else addPositive(b, profile, cat);
  }
  if (useChecklist) addChecklist(b, profile);
  else if (cats.size === 0 && style === "mri_referral" && rng.chance(0.3)) {
    b.add("negated", "other_implant", b.render(b.pick(pack.implant.noneAtAll), {}), "implant");
  }
  if (rng.chance(profile.hardNegativeRate)) addImplantHard(b, profile);

  if (rng.chance(profile.adrPrevalence)) addAdr(b);
  if (rng.chance(profile.adrHardRate)) {
    const kinds = ADR_HARD_KINDS.filter((k) => !(b.adr && k === "adr_negated"));
    addAdrHard(b, rng.pick(kinds));
  }

  const text = compose(b, style);
  const labels: Label[] = LABELS.filter((l) => (l === "adr" ? b.adr : b.positives.has(l)));
  const hard = b.mentions.find((m) => m.kind !== "positive")?.kind as HardKind | undefined;
  return {
    id,
    lang: pack.lang,
    text,
    labels,
    meta: { style, ...(hard ? { hard } : {}), mentions: b.mentions, profile: profile.name },
  };
}

/**
 * Generates synthetic clinical notes.
 *
 * Deterministic: the same options give the same notes, and note i is the same whatever n is.
 * Throws a UsageError for an unknown or unsupported language, a bad n or seed, or an invalid profile.
 *
 * @example generateNotes({ lang: "sv", n: 100, seed: 7 }) // 100 Swedish notes, sv-default profile
 */
export function generateNotes(opts: GenerateOptions): Note[] {
  const { lang, n, seed } = opts;
  const offset = opts.offset ?? 0;
  if (!isLang(lang))
    throw new UsageError(
      `unknown language "${String(lang)}"`,
      `use one of ${generatorLanguages().join(", ")}`,
    );
  const pack = PACKS[lang];
  if (!pack)
    throw new UsageError(
      `the generator has no templates for "${lang}"`,
      `use one of ${generatorLanguages().join(", ")}`,
    );
  if (!Number.isInteger(n) || n < 1 || n > MAX_GENERATED_NOTES)
    throw new UsageError(`n must be an integer from 1 to ${MAX_GENERATED_NOTES}, got ${n}`);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}`);
  if (!Number.isInteger(offset) || offset < 0)
    throw new UsageError(`offset must be a non-negative integer, got ${offset}`);
  const split = opts.split ?? "all";
  if (!TEMPLATE_SPLITS.includes(split))
    throw new UsageError(`unknown split "${String(split)}"`, `use one of ${TEMPLATE_SPLITS.join(", ")}`);
  const profile = opts.profile ?? SITE_PROFILES[lang];
  const parsed = siteProfileSchema.safeParse(profile);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid site profile: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  if (profile.lang !== lang)
    throw new UsageError(`profile "${profile.name}" is for "${profile.lang}", not "${lang}"`);

  const notes: Note[] = [];
  for (let i = offset; i < offset + n; i++) {
    // One stream per note: note i does not depend on the notes before it.
    const rng = new Rng(fnv1a(`${lang}:${seed}:${i}`));
    try {
      const id = split === "all" ? `${lang}-s${seed}-${i}` : `${lang}-s${seed}-${split}-${i}`;
      notes.push(generateOne(pack, profile, rng, id, split));
    } catch (err) {
      throw new FedledgerError(`generator bug in ${lang} note ${i}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  return notes;
}
