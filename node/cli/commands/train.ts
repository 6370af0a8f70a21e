import { Option, type Command } from "commander";
import { UsageError } from "../../errors";
import { readModelFile, specPathFor, writeModelFile } from "../../model/files";
import { hashModelBytes } from "../../model/format";
import { createInitialModel } from "../../model/params";
import { defaultSpec, parseSpec, specHash, type ModelSpec } from "../../model/spec";
import { trainLocal } from "../../model/train";
import { loadNotes } from "../../text/corpus";
import { backendOption, positiveNumber, startBackend, wholeNumber } from "./modelArgs";

interface TrainOptions {
  data: string[];
  out: string;
  init?: string;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  seed: number;
  dim?: number;
  hidden?: number;
  unit?: "note" | "sentence";
  backend?: string;
  json?: boolean;
}

/** The spec to train: the --init model's spec or the default, with the flags applied. */
function trainingSpec(opts: TrainOptions, initSpec?: ModelSpec): ModelSpec {
  const base = initSpec ?? defaultSpec();
  const training = {
    ...base.training,
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.lr !== undefined ? { lr: opts.lr } : {}),
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
  };
  return parseSpec({
    ...base,
    ...(opts.dim !== undefined ? { dim: opts.dim } : {}),
    ...(opts.hidden !== undefined ? { hidden: opts.hidden } : {}),
    ...(opts.unit !== undefined ? { unit: opts.unit } : {}),
    training,
  });
}

/** Registers `fedledger train`: trains a model on labelled notes and writes it with its spec. */
export function registerTrainCommand(program: Command): void {
  const command = program
    .command("train")
    .description("train the implant/ADR classifier on labelled notes (JSONL or CSV) and write the model")
    .requiredOption("--data <files...>", "labelled notes: JSONL or CSV files (see docs/model.md)")
    .requiredOption("--out <file>", "model file to write; the spec goes to <file>.spec.json")
    .option("--init <model>", "start from this model (and its spec) instead of a fresh seeded one")
    .option("--epochs <n>", "passes over the data", wholeNumber(1, 1000))
    .option("--lr <rate>", "learning rate", positiveNumber(100))
    .option("--batch-size <n>", "notes per gradient step", wholeNumber(1, 65536))
    .option(
      "--seed <n>",
      "seed of the initial weights and of the batch order",
      wholeNumber(0, 2 ** 32 - 1),
      1,
    )
    .option("--dim <n>", "embedding width (new models only)", wholeNumber(1, 1024))
    .option("--hidden <n>", "hidden ReLU width, 0 for a linear head (new models only)", wholeNumber(0, 4096))
    .addOption(
      new Option("--unit <unit>", "bag per note or per sentence (new models only)").choices([
        "note",
        "sentence",
      ]),
    )
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  fedledger train --data sv-train.jsonl nb-train.jsonl --out central.model --epochs 4 --seed 7",
    );
  backendOption(command).action(async (opts: TrainOptions) => {
    const init = opts.init ? await readModelFile(opts.init) : undefined;
    if (init && (opts.dim !== undefined || opts.hidden !== undefined || opts.unit !== undefined)) {
      throw new UsageError(
        "--dim, --hidden and --unit cannot change a model given with --init",
        "drop those flags",
      );
    }
    const spec = trainingSpec(opts, init?.spec);
    const notes = await loadNotes(opts.data);
    const backend = await startBackend(opts);
    const base = init?.bytes ?? createInitialModel(spec, opts.seed);
    const started = Date.now();
    const result = await trainLocal({
      spec,
      base,
      notes,
      seed: opts.seed,
      onEpoch: ({ epoch, loss }) => {
        if (!opts.json)
          process.stderr.write(`epoch ${epoch}/${spec.training.epochs}: loss ${loss.toFixed(5)}\n`);
      },
    });
    const seconds = (Date.now() - started) / 1000;
    await writeModelFile(opts.out, result.model, spec);
    const summary = {
      model: opts.out,
      spec: specPathFor(opts.out),
      modelHash: hashModelBytes(result.model),
      specHash: specHash(spec),
      notes: result.numSamples,
      epochs: spec.training.epochs,
      losses: result.losses,
      seconds,
      backend,
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `trained on ${summary.notes} notes, ${summary.epochs} epochs in ${seconds.toFixed(1)} s (${backend})\n` +
        `model ${opts.out} ${summary.modelHash}\n` +
        `spec  ${summary.spec} ${summary.specHash}\n`,
    );
  });
}
