/**
 * Scores the federated model next to two baselines trained by the demo on the same generated notes: a
 * local-only model per site (its own notes only) and a centralized model (every site's notes pooled, which
 * federation exists to avoid). Each gets the same training budget as the federation: rounds × local epochs
 * passes over its notes. Scores are macro-F1 per language on the held-out test notes.
 */
import { evaluateModel } from "../model/evaluate";
import type { ModelSpec } from "../model/spec";
import { trainLocal } from "../model/train";
import type { Lang } from "../text/labels";
import type { DemoNote } from "./data";
import type { DemoSite } from "./sitePlan";

/** Macro-F1 per language (null when the test set has no positive and no predicted label). */
export type LanguageF1 = Partial<Record<Lang, number | null>>;

/** The scores table of a demo run. */
export interface DemoScores {
  federated: LanguageF1;
  /** Absent when the baselines were skipped. */
  centralized?: LanguageF1;
  /** Per language: mean macro-F1 of the local-only models of that language's sites, on that language. */
  localOwn?: LanguageF1;
  /** Per language: mean macro-F1 of the local-only models of the other languages' sites, on that language. */
  localOther?: LanguageF1;
}

/**
 * Macro-F1 of a model on each language's test notes.
 *
 * @example
 * const f1 = await scoreByLanguage(bytes, spec, testSets); // { nb: 0.91, sv: 0.88, … }
 */
export async function scoreByLanguage(
  model: Uint8Array,
  spec: ModelSpec,
  testSets: ReadonlyMap<Lang, readonly DemoNote[]>,
): Promise<LanguageF1> {
  const notes = [...testSets.values()].flat();
  const metrics = await evaluateModel(model, spec, notes);
  const out: LanguageF1 = {};
  for (const lang of testSets.keys()) out[lang] = metrics.byLang[lang]?.macro.f1 ?? null;
  return out;
}

/** What {@link trainBaselines} needs. */
export interface BaselineParameters {
  spec: ModelSpec;
  genesis: Uint8Array;
  sites: readonly DemoSite[];
  /** Training notes by site id. */
  trainingNotes: ReadonlyMap<string, readonly DemoNote[]>;
  /** Passes over the notes: rounds × local epochs of the federation. */
  epochs: number;
  seed: number;
}

/** The baseline models as canonical bytes. */
export interface BaselineModels {
  centralized: Buffer;
  /** Local-only model per site id. */
  local: Map<string, Buffer>;
}

/**
 * Trains the centralized model and one local-only model per site, from the genesis model.
 *
 * @example
 * const { centralized, local } = await trainBaselines({ spec, genesis, sites, trainingNotes, epochs: 10, seed: 1 });
 */
export async function trainBaselines(params: BaselineParameters): Promise<BaselineModels> {
  const { spec, genesis, sites, trainingNotes, epochs, seed } = params;
  const pooled = sites.flatMap((site) => trainingNotes.get(site.id) ?? []);
  const centralized = (await trainLocal({ spec, base: genesis, notes: pooled, seed, epochs })).model;
  const local = new Map<string, Buffer>();
  for (const site of sites) {
    const notes = trainingNotes.get(site.id) ?? [];
    local.set(
      site.id,
      (await trainLocal({ spec, base: genesis, notes, seed: seed + site.index, epochs })).model,
    );
  }
  return { centralized, local };
}

function mean(values: readonly (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === "number");
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Scores the federated model and, when given, the baselines on every language.
 */
export async function scoreDemo(
  federated: Uint8Array,
  baselines: BaselineModels | undefined,
  spec: ModelSpec,
  sites: readonly DemoSite[],
  testSets: ReadonlyMap<Lang, readonly DemoNote[]>,
): Promise<DemoScores> {
  const scores: DemoScores = { federated: await scoreByLanguage(federated, spec, testSets) };
  if (!baselines) return scores;
  scores.centralized = await scoreByLanguage(baselines.centralized, spec, testSets);
  const perSite = new Map<string, LanguageF1>();
  for (const site of sites) {
    const model = baselines.local.get(site.id);
    if (model) perSite.set(site.id, await scoreByLanguage(model, spec, testSets));
  }
  scores.localOwn = {};
  scores.localOther = {};
  for (const lang of testSets.keys()) {
    const own = sites.filter((s) => s.lang === lang).map((s) => perSite.get(s.id)?.[lang]);
    const other = sites.filter((s) => s.lang !== lang).map((s) => perSite.get(s.id)?.[lang]);
    scores.localOwn[lang] = mean(own);
    scores.localOther[lang] = mean(other);
  }
  return scores;
}
