import type { Command } from "commander";
import { hashModelBytes, readModelHeader } from "../../model/format";
import { readModelBytes } from "../../model/files";

/** Registers `fedledger hash <file>`: validates a model or update file and prints its hash. */
export function registerHashCommand(program: Command): void {
  program
    .command("hash")
    .description("print the hash of a model or update file (0x + SHA-256 of its canonical bytes)")
    .argument("<file>", "model or update file (canonical FLM1 layout)")
    .option("--json", "print the hash, size and tensors as JSON")
    .addHelpText(
      "after",
      "\nThe layout is checked first; docs/model-format.md defines it.\nExample:\n  fedledger hash site.model",
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      const bytes = await readModelBytes(file);
      const hash = hashModelBytes(bytes);
      if (!opts.json) {
        process.stdout.write(`${hash}\n`);
        return;
      }
      const tensors = readModelHeader(bytes).map(({ name, dtype, shape }) => ({ name, dtype, shape }));
      process.stdout.write(`${JSON.stringify({ file, hash, bytes: bytes.length, tensors }, null, 2)}\n`);
    });
}
