/**
 * Reading an upload body, once every check that needs no body has passed (docs/protocol.md, "Acceptance
 * checks"). Until then not a byte is consumed: a client that sent `Expect: 100-continue` gets its `100 Continue`
 * only here, and a refused request is answered and its connection closed (server.ts) with the body unread.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "./apiError";

function tooLarge(limit: number, seen: string): ApiError {
  return new ApiError(
    "too_large",
    `the upload is larger than the limit of ${limit} bytes (${seen})`,
    "Check that the update has the model's tensors only; the aggregator's maxUploadBytes sets the limit",
  );
}

/** The declared Content-Length, or undefined for a chunked body. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const declared = req.headers["content-length"];
  return declared === undefined ? undefined : Number(declared);
}

/**
 * Rejects at once when the declared Content-Length is above `limit`; throws ApiError "too_large" (413).
 */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = declaredLength(req);
  if (declared !== undefined && !(declared <= limit))
    throw tooLarge(limit, `Content-Length ${req.headers["content-length"]}`);
}

/** How to read one upload body. */
export interface ReadUploadBodyOptions {
  /** Size limit in bytes, enforced while streaming. */
  limit: number;
  /** The SHA-256 the body must have (0x hex, lower case): the signed and committed update hash. */
  expectedHash: string;
  /** Keep the bytes (true) or only hash them (false, for an idempotent repeat). */
  keep: boolean;
  /** Called with the size of every chunk consumed (the bytes-read metric). */
  onBytes?: (bytes: number) => void;
}

/**
 * Reads a request body, hashing it as it streams and refusing (ApiError "too_large", 413) as soon as the count
 * passes the limit, so an oversized body is never buffered whole. At the end the hash must equal
 * `expectedHash` (else ApiError "body_hash_mismatch", 409). Resolves the bytes (an empty buffer when `keep` is
 * false). Sends `100 Continue` first when the client asked for it.
 */
export function readUploadBody(
  req: IncomingMessage,
  res: ServerResponse,
  options: ReadUploadBodyOptions,
): Promise<Buffer> {
  checkDeclaredLength(req, options.limit);
  if (String(req.headers.expect ?? "").toLowerCase() === "100-continue" && !res.headersSent)
    res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const hash = createHash("sha256");
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      req.removeListener("data", onData);
      req.removeListener("end", onEnd);
      req.removeListener("error", onError);
      req.removeListener("close", onClose);
      if (err) return reject(err);
      if (`0x${hash.digest("hex")}` !== options.expectedHash)
        return reject(
          new ApiError(
            "body_hash_mismatch",
            "the body does not hash to X-Fedledger-Update-Hash (the committed update)",
            "Upload exactly the bytes whose SHA-256 was committed",
          ),
        );
      resolve(options.keep ? Buffer.concat(chunks, size) : Buffer.alloc(0));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      options.onBytes?.(chunk.length);
      if (size > options.limit) {
        req.pause();
        return finish(tooLarge(options.limit, `more than ${options.limit} bytes received`));
      }
      hash.update(chunk);
      if (options.keep) chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (err: Error) =>
      finish(new ApiError("bad_request", `the upload body could not be read: ${err.message}`));
    const onClose = () => {
      if (!req.complete) finish(new ApiError("bad_request", "the client closed the connection mid-upload"));
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}
