/**
 * Errors a user can act on. Every error that reaches the CLI or an HTTP client is a FedledgerError:
 * a short message naming the problem, and a hint saying what to do next. The CLI prints them on one
 * line without a stack trace.
 */
export class FedledgerError extends Error {
  /** What the user should do next, or an empty string. */
  readonly hint: string;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint ?? "";
    this.exitCode = options.exitCode ?? 1;
  }

  /** The one-line form shown to users: message, then the hint. */
  toLine(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message;
  }
}

/** A bad flag, file or argument: the user's input is wrong. */
export class UsageError extends FedledgerError {
  constructor(message: string, hint?: string) {
    super(message, { hint, exitCode: 2 });
  }
}
