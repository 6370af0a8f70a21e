import { FedledgerError } from "../errors";

/**
 * Something the audit has to read cannot be used: the chain does not answer, the ledger address holds no
 * TrainingLedger, the store directory or aggregator URL is unreachable. This is not a verdict on the model
 * (that is a broken link in the report), so the CLI exits with code 2, like a usage error.
 */
export class AuditSourceError extends FedledgerError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { hint, exitCode: 2, cause });
  }
}
