import { FedledgerError } from "../errors";

/**
 * Every error the aggregator's HTTP API returns, with its status. The JSON body is
 * `{ "error": <code>, "message": <one line>, "hint": <what to do> }`; docs/protocol.md lists them.
 */
export const API_ERRORS = {
  bad_request: 400,
  bad_hash: 400,
  bad_signature: 401,
  not_active_site: 403,
  site_suspended: 403,
  unknown_task: 404,
  unknown_round: 404,
  not_found: 404,
  round_not_open: 409,
  round_closed: 409,
  no_commit: 409,
  commit_mismatch: 409,
  body_hash_mismatch: 409,
  metrics_mismatch: 409,
  duplicate: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unparseable: 422,
  wrong_shape: 422,
  non_finite: 422,
  internal: 500,
  chain_unavailable: 503,
} as const;

/** A machine-readable error code of the API. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error that becomes one HTTP error response. */
export class ApiError extends FedledgerError {
  readonly code: ApiErrorCode;
  readonly status: number;

  constructor(code: ApiErrorCode, message: string, hint = "") {
    super(message, { hint });
    this.code = code;
    this.status = API_ERRORS[code];
  }

  /** The response body. */
  toJSON(): { error: ApiErrorCode; message: string; hint: string } {
    return { error: this.code, message: this.message, hint: this.hint };
  }
}

/** Whether `code` is one of the API's error codes. */
export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return typeof code === "string" && Object.prototype.hasOwnProperty.call(API_ERRORS, code);
}
