import { FedledgerError } from "../errors";

/**
 * Every error the aggregator's HTTP API returns, with its status. The JSON body is
 * `{ "error": <code>, "message": <one line>, "hint": <what to do> }`; docs/protocol.md lists them.
 */
export const API_ERRORS = {
  bad_request: 400,
  bad_hash: 400,
  bad_signature: 401,
  signature_required: 401,
  signature_expired: 401,
  signature_replayed: 401,
  not_active_site: 403,
  not_a_reader: 403,
  not_in_round: 403,
  site_suspended: 403,
  unknown_task: 404,
  unknown_round: 404,
  not_found: 404,
  no_secure_aggregation: 404,
  round_not_open: 409,
  round_closed: 409,
  stage_closed: 409,
  stage_pending: 409,
  no_commit: 409,
  commit_mismatch: 409,
  body_hash_mismatch: 409,
  metrics_mismatch: 409,
  duplicate: 409,
  too_large: 413,
  unsupported_media_type: 415,
  unparseable: 422,
  bad_message: 422,
  wrong_shape: 422,
  non_finite: 422,
  too_many_samples: 422,
  norm_too_large: 422,
  internal: 500,
  chain_unavailable: 503,
  busy: 503,
} as const;

/** What to do about each error, used when the thrower gives no more specific hint. */
const DEFAULT_HINTS: Record<keyof typeof API_ERRORS, string> = {
  bad_request: "Send the upload with the fedledger client (docs/protocol.md describes the envelope)",
  bad_hash: "Use 0x and 64 hex digits",
  bad_signature: "Sign the EIP-712 Update for exactly this task, round and values with the site's key",
  signature_required: 'Sign the request (docs/privacy.md, "Who may read what")',
  signature_expired: "Sign a fresh request for each download, and check the clock of the signing machine",
  signature_replayed: "Sign a new request (a new X-Fedledger-Timestamp) for each download",
  not_active_site: "Only sites onboarded by the consortium admins may upload",
  not_a_reader: "Ask the admins to grant a role (`fedledger role grant auditor <address>`)",
  not_in_round: "Only sites that took part in the round's earlier stages take part in this one",
  site_suspended: "Ask the consortium admins to reinstate the site",
  unknown_task: "Send the update to the aggregator of that task",
  unknown_round: "Wait for the round to open (RoundOpened on the ledger) and use its number",
  not_found: "Check the hash; models appear here once a round is finalised",
  no_secure_aggregation:
    "This task's rounds use plaintext updates; upload them without the secure-aggregation stages",
  round_not_open: "Train on the current round's base model and upload to that round",
  round_closed: "The round is being aggregated; take part in the next round",
  stage_closed: "This secure-aggregation stage is closed; take part in the next round",
  stage_pending: "The stage before this one is still open; retry in a few seconds",
  no_commit: "Commit the update hash on the ledger (commitUpdate) before uploading",
  commit_mismatch: "Upload exactly the update whose hash and sample count were committed",
  body_hash_mismatch: "Upload exactly the bytes whose SHA-256 was committed",
  metrics_mismatch: "Send the same metrics object that was hashed for the commit",
  duplicate: "A site delivers one update per round; re-send exactly the accepted one",
  too_large: "Send only the model's tensors; the aggregator's maxUploadBytes sets the limit",
  unsupported_media_type: "Send the body as application/octet-stream",
  unparseable: "Send the update in the canonical FLM1 layout (docs/model-format.md)",
  bad_message: "Send the message as docs/secure-aggregation.md describes it",
  wrong_shape: "Train from the round's base model and send the delta in the model's own layout",
  non_finite: "Check the local training for divergence and send only finite values",
  too_many_samples: "Commit the number of training notes the update was trained on",
  norm_too_large: "Check the local training for divergence; send the delta from the round's base model",
  internal: "Retry later; the aggregator's log has the details",
  chain_unavailable: "Retry later; the aggregator cannot read the chain",
  busy: "The aggregator is receiving as many upload bytes as it may; retry after the Retry-After seconds",
};

/**
 * Whether sending the same request again can get a different answer. `true`: final, the request itself is
 * wrong (a bad envelope, bytes or values that do not match the commit, an update the task's limits refuse),
 * so a client stops. `false`: the state on the server or the chain may change (the round not open yet, the
 * commit not yet seen, the site reinstated, the aggregator busy or briefly unable to read the chain), so a
 * client retries later. Clients derive their retry policy from this table ({@link isFinalRefusal}); a new
 * code must be classified here, and the type checker says so.
 */
const FINAL: Record<keyof typeof API_ERRORS, boolean> = {
  bad_request: true,
  bad_hash: true,
  bad_signature: true,
  signature_required: false,
  signature_expired: false,
  signature_replayed: false,
  not_active_site: false,
  not_a_reader: false,
  not_in_round: true,
  site_suspended: false,
  unknown_task: true,
  unknown_round: false,
  not_found: false,
  no_secure_aggregation: true,
  round_not_open: true,
  round_closed: false,
  stage_closed: true,
  stage_pending: false,
  no_commit: false,
  commit_mismatch: true,
  body_hash_mismatch: true,
  metrics_mismatch: true,
  duplicate: true,
  too_large: true,
  unsupported_media_type: true,
  unparseable: true,
  bad_message: true,
  wrong_shape: true,
  non_finite: true,
  too_many_samples: true,
  norm_too_large: true,
  internal: false,
  chain_unavailable: false,
  busy: false,
};

/** A machine-readable error code of the API. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error that becomes one HTTP error response. */
export class ApiError extends FedledgerError {
  readonly code: ApiErrorCode;
  readonly status: number;
  /** Seconds the client should wait before retrying (sent as Retry-After), when the code says so. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ApiErrorCode, message: string, hint = "", retryAfterSeconds?: number) {
    super(message, { hint: hint || DEFAULT_HINTS[code] });
    this.code = code;
    this.status = API_ERRORS[code];
    this.retryAfterSeconds = retryAfterSeconds;
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

/**
 * Whether the server's refusal `code` is final: the same request will be refused again, so the client stops
 * instead of retrying. Codes that are not the API's own (network failures, client-side checks) are not final.
 *
 * @example
 * isFinalRefusal("wrong_shape"); // true
 * isFinalRefusal("busy"); // false
 */
export function isFinalRefusal(code: string): boolean {
  return isApiErrorCode(code) && FINAL[code];
}
