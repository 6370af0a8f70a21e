import type { TrainingLedger } from "../../typechain-types";
import { describeChainError, waitForReceipt } from "../chain";
import { FedledgerError } from "../errors";
import type { AuditReport } from "./auditReport";
import { reportHash } from "./reportHash";

/** What {@link recordVerdict} put on the chain. */
export interface RecordedVerdict {
  modelHash: string;
  passed: boolean;
  reportHash: string;
  transactionHash: string;
  blockNumber: number;
}

/** Options of {@link recordVerdict}. */
export interface RecordVerdictOptions {
  /** Record a report with findings (censorship, free riding) as failed, as `audit verify --strict` does. */
  strict?: boolean;
}

/**
 * Records a report's verdict on the chain with `ledger.recordAudit(modelHash, passed, reportHash)`; with
 * `strict`, a report with findings is recorded as failed. `ledger` must be connected to a signer holding the
 * auditor role. Throws a FedledgerError (the revert decoded into a
 * sentence) when the ledger refuses, for example for a model it does not record.
 *
 * @example
 * const done = await recordVerdict(ledger.connect(auditorWallet), report);
 * done.transactionHash;
 */
export async function recordVerdict(
  ledger: TrainingLedger,
  report: AuditReport,
  options: RecordVerdictOptions = {},
): Promise<RecordedVerdict> {
  const hash = reportHash(report);
  const passed = report.verdict === "passed" && !(options.strict && report.findings.length > 0);
  try {
    const tx = await ledger.recordAudit(report.model.hash, passed, hash);
    const receipt = await waitForReceipt(tx);
    if (!receipt) throw new FedledgerError(`the audit transaction ${tx.hash} was not mined`);
    return {
      modelHash: report.model.hash,
      passed,
      reportHash: hash,
      transactionHash: receipt.hash,
      blockNumber: receipt.blockNumber,
    };
  } catch (err) {
    if (err instanceof FedledgerError) throw err;
    throw new FedledgerError(`the verdict was not recorded: ${describeChainError(err, { ledger })}`, {
      hint: "Record with an account that holds the auditor role, for a model the ledger records",
      cause: err,
    });
  }
}
