import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors";
import { benchmarkFeaturize } from "../../text/bench";
import {
  generateNotes,
  generatorLanguages,
  loadNotes,
  MAX_GENERATED_NOTES,
  profileByName,
  siteProfileSchema,
  TEMPLATE_SPLITS,
  writeNotesJsonl,
  type Note,
  type NoteProblem,
  type SiteProfile,
} from "../../text/corpus";
import { explainContext } from "../../text/explain";
import { IMPLANT_CATEGORIES, LABELS, LANGS, isLang, type Lang } from "../../text/labels";
import { parseInteger } from "./inputs";
import { printFields, printJson, printLines } from "./output";

/*
 * `fedledger data ...`: generate synthetic notes, validate note files, explain context marking, and
 * benchmark feature extraction.
 */

const BATCH = 10_000;

function parseLang(value: string, allowed: readonly Lang[] = LANGS): Lang {
  if (!isLang(value) || !allowed.includes(value))
    throw new UsageError(`unknown language "${value}" for --lang`, `use one of ${allowed.join(", ")}`);
  return value;
}

function parseSeed(value: string): number {
  return parseInteger(value, "--seed", 0, Number.MAX_SAFE_INTEGER);
}

async function resolveProfile(value: string, lang: Lang): Promise<SiteProfile> {
  const named = profileByName(value, lang);
  if (named) return named;
  if (!value.endsWith(".json"))
    throw new UsageError(
      `unknown profile "${value}"`,
      `use default, balanced, or a profile file ending in .json`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(value, "utf8"));
  } catch (err) {
    throw new UsageError(`cannot read profile ${value}: ${(err as Error).message}`);
  }
  const parsed = siteProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`invalid profile ${value}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  if (parsed.data.lang !== lang)
    throw new UsageError(`profile ${value} is for "${parsed.data.lang}" but --lang is "${lang}"`);
  return parsed.data;
}

function checkOut(out: string): void {
  if (!out.endsWith(".jsonl")) throw new UsageError(`--out must name a .jsonl file; got "${out}"`);
  const dir = path.dirname(path.resolve(out));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`output directory ${dir} does not exist`, "create it first");
  if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a directory`);
}

/** Counts for `data validate`. */
function summarize(notes: readonly Note[]): Record<string, unknown> {
  const byLang: Record<string, number> = {};
  const byLabel: Record<string, number> = Object.fromEntries(LABELS.map((l) => [l, 0]));
  const byHard: Record<string, number> = {};
  let implant = 0;
  for (const n of notes) {
    byLang[n.lang] = (byLang[n.lang] ?? 0) + 1;
    for (const l of n.labels) byLabel[l]++;
    if (n.labels.some((l) => (IMPLANT_CATEGORIES as readonly string[]).includes(l))) implant++;
    if (n.meta?.hard) byHard[n.meta.hard] = (byHard[n.meta.hard] ?? 0) + 1;
  }
  return { notes: notes.length, implant, byLang, byLabel, byHard };
}

/** Registers `fedledger data generate|validate|explain|bench`. */
export function registerDataCommands(program: Command): void {
  const data = program.command("data").description("synthetic clinical notes, note files and text features");

  data
    .command("generate")
    .description("write synthetic clinical notes with labels as JSONL")
    .requiredOption("--lang <code>", `note language (${generatorLanguages().join(", ")})`)
    .requiredOption("--n <count>", `number of notes (1 to ${MAX_GENERATED_NOTES})`)
    .requiredOption("--seed <s>", "random seed (same seed, same notes)")
    .requiredOption("--out <file.jsonl>", "output file (created or overwritten)")
    .option("--profile <name|file.json>", "site profile: default, balanced or a JSON profile file", "default")
    .option("--split <split>", "mention templates: all, train (all but held-out) or heldout", "all")
    .addHelpText(
      "after",
      "\nEach line: {id, lang, text, labels, meta}. meta records the note style and how each mention was built.\n" +
        "Example:\n  fedledger data generate --lang sv --n 5000 --seed 7 --out sv.jsonl",
    )
    .action(
      async (opts: {
        lang: string;
        n: string;
        seed: string;
        out: string;
        profile: string;
        split: string;
      }) => {
        const lang = parseLang(opts.lang, generatorLanguages());
        const n = parseInteger(opts.n, "--n", 1, MAX_GENERATED_NOTES);
        const seed = parseSeed(opts.seed);
        checkOut(opts.out);
        const split = TEMPLATE_SPLITS.find((x) => x === opts.split);
        if (!split)
          throw new UsageError(`unknown --split "${opts.split}"`, `use one of ${TEMPLATE_SPLITS.join(", ")}`);
        const profile = await resolveProfile(opts.profile, lang);
        function* batches(): Generator<Note[]> {
          for (let offset = 0; offset < n; offset += BATCH)
            yield generateNotes({ lang, n: Math.min(BATCH, n - offset), seed, profile, offset, split });
        }
        const written = await writeNotesJsonl(opts.out, batches());
        printFields([
          ["wrote", `${written} notes`],
          ["file", opts.out],
          ["lang", lang],
          ["profile", profile.name],
          ["seed", seed],
          ["split", split],
        ]);
      },
    );

  data
    .command("validate")
    .description("check JSONL or CSV note files and print counts per language and label")
    .argument("<files...>", "note files (.jsonl or .csv)")
    .option("--skip-invalid", "skip bad records (listed on stderr) instead of failing")
    .option("--unlabeled", "accept notes without labels")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      "\nFails listing file:line: problem for every bad record unless --skip-invalid is given.\n" +
        "Example:\n  fedledger data validate sv.jsonl notes.csv",
    )
    .action(async (files: string[], opts: { skipInvalid?: boolean; unlabeled?: boolean; json?: boolean }) => {
      const skipped: NoteProblem[] = [];
      const notes = await loadNotes(files, {
        skipInvalid: opts.skipInvalid ?? false,
        requireLabels: !opts.unlabeled,
        onSkip: (p) => {
          skipped.push(p);
          if (skipped.length <= 20) process.stderr.write(`skipped ${p.file}:${p.line}: ${p.message}\n`);
        },
      });
      const summary = { ...summarize(notes), skipped: skipped.length };
      if (opts.json) printJson(summary);
      else printLines(JSON.stringify(summary, null, 2));
    });

  data
    .command("explain")
    .description("show the tokens of a text with their negation/family/planned/removed context marks")
    .argument("<text>", "text of a note or sentence")
    .requiredOption("--lang <code>", `language (${LANGS.join(", ")})`)
    .addHelpText("after", '\nExample:\n  fedledger data explain "Ingen pacemaker, men ICD." --lang nb')
    .action((text: string, opts: { lang: string }) => {
      printLines(explainContext(text, parseLang(opts.lang)));
    });

  data
    .command("bench")
    .description("measure feature extraction speed on generated notes (prints notes/s)")
    .option("--n <count>", "notes per language", "4000")
    .addHelpText("after", "\nExample:\n  fedledger data bench --n 4000")
    .action((opts: { n: string }) => {
      const n = parseInteger(opts.n, "--n", 100, 1_000_000);
      const r = benchmarkFeaturize({ langs: generatorLanguages(), n });
      printFields([
        ["notes", r.notes],
        ["mean chars/note", r.meanChars.toFixed(0)],
        ["featurize notes/s", r.notesPerSecond.toFixed(0)],
        ["featurize notes/cpu-s", r.notesPerCpuSecond.toFixed(0)],
        ["per-sentence notes/s", r.notesPerSecondBySentence.toFixed(0)],
        ["ids/note", r.idsPerNote.toFixed(0)],
        ["5 MB note ms", r.ms5MB.toFixed(0)],
      ]);
    });
}
