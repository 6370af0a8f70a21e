/**
 * Model files on disk: the canonical bytes in `<file>` and the spec as JSON in `<file>.spec.json`, so
 * evaluation and prediction never need the training settings repeated. Reading validates both and checks
 * that the bytes hold exactly the tensors the spec expects.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { FedledgerError } from "../errors";
import { readModelHeader } from "./format";
import { readWeights } from "./params";
import { parseSpec, type ModelSpec } from "./spec";

/** Suffix of the spec file written next to a model file. */
export const SPEC_SUFFIX = ".spec.json";

/** The spec file belonging to a model file. */
export function specPathFor(modelPath: string): string {
  return `${modelPath}${SPEC_SUFFIX}`;
}

async function readOrFail(file: string, what: string, hint: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : String(code ?? err);
    throw new FedledgerError(`cannot read ${what} ${file}: ${reason}`, { hint, exitCode: 2 });
  }
}

/** Reads and validates a spec JSON file. */
export async function readSpecFile(file: string): Promise<ModelSpec> {
  const text = (
    await readOrFail(
      file,
      "model spec",
      "Each model file needs its <model>.spec.json written by `fedledger train`",
    )
  ).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FedledgerError(`${file} is not valid JSON: ${(err as Error).message}`, {
      hint: "Restore the spec file written by `fedledger train`",
      exitCode: 2,
    });
  }
  return parseSpec(json, file);
}

/** Reads canonical model bytes and checks the layout only (any spec). */
export async function readModelBytes(file: string): Promise<Buffer> {
  const bytes = await readOrFail(file, "model", "Pass a model file written by fedledger");
  readModelHeader(bytes);
  return bytes;
}

/** A model file with its spec. */
export interface ModelFile {
  bytes: Buffer;
  spec: ModelSpec;
}

/**
 * Reads a model and its spec (default `<file>.spec.json`) and checks that they match.
 * @example const { bytes, spec } = await readModelFile("site.model");
 */
export async function readModelFile(file: string, specFile = specPathFor(file)): Promise<ModelFile> {
  const bytes = await readModelBytes(file);
  const spec = await readSpecFile(specFile);
  readWeights(bytes, spec);
  return { bytes, spec };
}

/** Writes a model file and its spec file (creating the directory). */
export async function writeModelFile(file: string, bytes: Uint8Array, spec: ModelSpec): Promise<void> {
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fs.writeFile(file, bytes);
  await fs.writeFile(specPathFor(file), `${JSON.stringify(spec, null, 2)}\n`);
}
