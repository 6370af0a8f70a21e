import type { Command } from "commander";
import { readModelFile, writeModelFile } from "../../model/files";
import { hashModelBytes } from "../../model/format";
import { exportLayersModel, importLayersModel } from "../../model/layers";
import { specHash } from "../../model/spec";
import { backendOption, startBackend } from "./modelArgs";

/** Registers `fedledger model export` and `fedledger model import` (TF.js LayersModel format). */
export function registerModelCommands(program: Command): void {
  const model = program
    .command("model")
    .description("convert models to and from the TF.js LayersModel format (model.json + weights.bin)");
  backendOption(
    model
      .command("export")
      .description("write a model as a TF.js LayersModel directory (see docs/model.md for its inputs)")
      .requiredOption("--model <file>", "model file (its spec is read from <file>.spec.json)")
      .requiredOption("--out <dir>", "directory to write model.json and weights.bin into")
      .addHelpText("after", "\nExample:\n  fedledger model export --model global.model --out tfjs-model/"),
  ).action(async (opts: { model: string; out: string; backend?: string }) => {
    const { bytes, spec } = await readModelFile(opts.model);
    await startBackend(opts);
    const written = await exportLayersModel(bytes, spec, opts.out);
    process.stdout.write(
      `wrote ${written.modelJson} and ${written.weightsBin} (model ${written.modelHash})\n`,
    );
  });
  backendOption(
    model
      .command("import")
      .description("read a LayersModel directory written by `model export` back into a model file")
      .requiredOption("--dir <dir>", "directory holding model.json and weights.bin")
      .requiredOption("--out <file>", "model file to write (and <file>.spec.json)")
      .addHelpText("after", "\nExample:\n  fedledger model import --dir tfjs-model/ --out global.model"),
  ).action(async (opts: { dir: string; out: string; backend?: string }) => {
    await startBackend(opts);
    const { bytes, spec } = await importLayersModel(opts.dir);
    await writeModelFile(opts.out, bytes, spec);
    process.stdout.write(`wrote ${opts.out} (model ${hashModelBytes(bytes)}, spec ${specHash(spec)})\n`);
  });
}
