import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import { describeChainError, resolveSigner } from "../../chain";
import { FedledgerError, UsageError } from "../../errors";
import { hashModelBytes, ModelFormatError, readModelHeader } from "../../model/format";
import {
  AuditSourceError,
  connectLedger,
  describeLineage,
  formatLineage,
  formatReport,
  LINEAGE_FORMATS,
  LineageBreak,
  openObjectSource,
  recordVerdict,
  reportHash,
  verifyModel,
  type ConnectedLedger,
  type LineageFormat,
  type ObjectSource,
} from "../../audit";
import { addChainOptions, addSignerOptions, type ChainFlags, type SignerFlags } from "./chainOptions";
import { printJson } from "./output";

interface AuditFlags extends ChainFlags {
  model: string;
  ledger?: string;
  store?: string;
}

interface VerifyFlags extends AuditFlags, SignerFlags {
  json?: boolean;
  record?: boolean;
  strict?: boolean;
}

interface LineageFlags extends AuditFlags {
  format: LineageFormat;
}

async function readModelFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read the model file ${file}: ${code === "ENOENT" ? "no such file" : (code ?? (err as Error).message)}`,
      "Pass --model <path of a fedledger model file>",
    );
  }
}

/** Runs `action` on the connected ledger; chain failures midway become exit code 2, never a verdict. */
async function withLedger<T>(flags: AuditFlags, action: (target: ConnectedLedger) => Promise<T>): Promise<T> {
  const target = await connectLedger(flags);
  try {
    return await action(target);
  } catch (err) {
    if (err instanceof FedledgerError || err instanceof LineageBreak) throw err;
    throw new AuditSourceError(
      `the chain at ${target.url} failed during the audit: ${describeChainError(err)}`,
      "Check the node behind --rpc and run the audit again",
      err,
    );
  } finally {
    target.close();
  }
}

const STORE_HELP = "store directory or aggregator URL holding the model and update bytes";

/** Registers `fedledger audit verify|lineage`. */
export function registerAuditCommands(program: Command): void {
  const audit = program
    .command("audit")
    .description("prove where a model came from: re-verify its lineage bit for bit, or show its family tree");

  const verify = audit
    .command("verify")
    .description(
      "verify a model file back to its genesis: provenance, commits, Merkle roots, and a re-run of every aggregation",
    )
    .requiredOption("--model <file>", "the model file to audit")
    .option("--ledger <address>", "TrainingLedger address (default: the deployment's)")
    .addOption(new Option("--store <dir|url>", STORE_HELP).env("FEDLEDGER_STORE"))
    .option("--json", "print the report as JSON")
    .option("--record", "record the verdict on the chain (signer must hold the auditor role)")
    .option(
      "--strict",
      "fail on findings too (a valid update left out, a free-riding update); else they are warnings",
    )
    .addHelpText(
      "after",
      "\nExit codes: 0 every link holds (findings are printed as warnings), 1 a broken link (named on stderr) or," +
        " with --strict, a finding, 2 usage error or unreachable chain/store." +
        "\n\nAn aggregator URL serves the sites' updates only to signed reads of an admin, auditor or aggregator:" +
        " pass the auditor's --keystore (or --dev-account auditor on the embedded chain) and each download is signed." +
        "\n\nExamples:\n  fedledger audit verify --model global-r3.flm --store ./aggregator-store" +
        "\n  fedledger audit verify --model global-r3.flm --store http://127.0.0.1:8760 --keystore auditor.json",
    );
  addSignerOptions(addChainOptions(verify)).action(async (opts: VerifyFlags) => {
    if (!opts.store)
      throw new UsageError(
        "--store is required",
        "Pass the aggregator's store directory or URL (or FEDLEDGER_STORE)",
      );
    const bytes = await readModelFile(opts.model);
    const opened = await openObjectSource(opts.store);
    const store = opts.store;
    await withLedger(opts, async (target) => {
      // An aggregator serves sites' updates only to signed reads: the signer's key signs them when given.
      const signsReads =
        opened.kind === "aggregator" && (opts.keystore !== undefined || opts.devAccount !== undefined);
      const signer =
        opts.record || signsReads ? await resolveSigner(opts, target.provider, target.chainId) : undefined;
      const source =
        signer && opened.kind === "aggregator"
          ? await openObjectSource(store, {
              credentials: { signer, chainId: target.chainId, ledger: String(target.ledger.target) },
            })
          : opened;
      const report = await verifyModel({
        ledger: target.ledger,
        provider: target.provider,
        modelBytes: bytes,
        modelFile: opts.model,
        source,
        registryFromBlock: target.registryFromBlock,
      });
      let recorded;
      if (signer && report.provenance !== null)
        recorded = await recordVerdict(target.ledger.connect(signer), report, { strict: opts.strict });
      else if (signer)
        process.stderr.write("note: the verdict is not recorded: the ledger does not record this model\n");
      if (opts.json) printJson(recorded ? { ...report, recorded } : report);
      else {
        process.stdout.write(formatReport(report));
        process.stdout.write(`report hash: ${reportHash(report)}\n`);
        if (recorded)
          process.stdout.write(
            `verdict recorded on the chain: transaction ${recorded.transactionHash} (block ${recorded.blockNumber})\n`,
          );
      }
      if (report.firstBrokenLink)
        throw new FedledgerError(`audit failed: ${report.firstBrokenLink.message}`, { exitCode: 1 });
      const findings = report.findings;
      if (opts.strict && findings.length > 0)
        throw new FedledgerError(
          `audit failed (--strict): ${findings[0].message}` +
            (findings.length > 1 ? ` (${findings.length} findings in all)` : ""),
          { exitCode: 1 },
        );
      for (const f of findings) process.stderr.write(`warning: ${f.code}: ${f.message}\n`);
    });
  });

  const lineage = audit
    .command("lineage")
    .description("show a model's family tree: rounds, sites, sample counts, metrics, blocks and times")
    .requiredOption("--model <file|hash>", "a model file, or a model hash (0x + 64 hex digits)")
    .option("--ledger <address>", "TrainingLedger address (default: the deployment's)")
    .addOption(
      new Option("--store <dir|url>", `${STORE_HELP} (optional: metric values)`).env("FEDLEDGER_STORE"),
    )
    .addOption(new Option("--format <format>", "output format").choices(LINEAGE_FORMATS).default("text"))
    .addHelpText("after", "\nExample:\n  fedledger audit lineage --model 0x… --format mermaid");
  addChainOptions(lineage).action(async (opts: LineageFlags) => {
    let modelHash: string;
    if (/^0x[0-9a-fA-F]{64}$/.test(opts.model)) modelHash = opts.model.toLowerCase();
    else {
      const bytes = await readModelFile(opts.model);
      try {
        readModelHeader(bytes);
      } catch (err) {
        if (err instanceof ModelFormatError) throw new UsageError(`${opts.model}: ${err.message}`, err.hint);
        throw err;
      }
      modelHash = hashModelBytes(bytes);
    }
    const source: ObjectSource | undefined = opts.store ? await openObjectSource(opts.store) : undefined;
    await withLedger(opts, async (target) => {
      try {
        const doc = await describeLineage({
          ledger: target.ledger,
          provider: target.provider,
          modelHash,
          source,
          modelFile: /^0x[0-9a-fA-F]{64}$/.test(opts.model) ? undefined : opts.model,
          registryFromBlock: target.registryFromBlock,
        });
        if (opts.format === "json") printJson(doc);
        else process.stdout.write(formatLineage(doc, opts.format));
        const privacyBreak = doc.privacyBreaks[0];
        if (privacyBreak)
          throw new FedledgerError(
            `privacy budget check failed: ${privacyBreak.message}` +
              (doc.privacyBreaks.length > 1 ? ` (${doc.privacyBreaks.length} in all)` : ""),
            { exitCode: 1 },
          );
      } catch (err) {
        if (err instanceof LineageBreak) throw new FedledgerError(err.message, { exitCode: 1 });
        throw err;
      }
    });
  });
}
