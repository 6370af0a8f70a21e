import type { IncomingMessage } from "node:http";
import { ApiError } from "./apiError";

function tooLarge(limit: number, seen: string): ApiError {
  return new ApiError(
    "too_large",
    `the upload is larger than the limit of ${limit} bytes (${seen})`,
    "Check that the update has the model's tensors only; the aggregator's maxUploadBytes sets the limit",
  );
}

/**
 * Rejects at once when the declared Content-Length is above `limit`; throws ApiError "too_large" (413).
 */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit, `Content-Length ${declared}`);
}

/**
 * Reads a request body into memory, counting bytes as they arrive and refusing (ApiError "too_large", 413) as
 * soon as the count passes `limit`, so an oversized body is never buffered whole. The rest of a refused body is
 * discarded by Node's HTTP server after the response.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      req.removeListener("data", onData);
      req.removeListener("end", onEnd);
      req.removeListener("error", onError);
      if (err) {
        req.resume();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(tooLarge(limit, `more than ${limit} bytes received`));
      chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = (err: Error) =>
      finish(new ApiError("bad_request", `the upload body could not be read: ${err.message}`));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
  });
}
