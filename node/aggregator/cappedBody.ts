/**
 * Reading an HTTP answer with a size cap, for every client that downloads from an aggregator (the site's
 * client, the auditor's object source): the declared Content-Length is checked first, then the bytes are
 * counted as they stream, and the download is cancelled as soon as the count passes the cap. A server that
 * sends too much (by mistake or on purpose) costs the client at most the cap in memory.
 */
import { FedledgerError } from "../errors";

/** Default cap on a downloaded model or stored object: 256 MiB (four times the default upload limit). */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

/** Cap on a JSON answer (error bodies, round status): 16 MiB. */
export const MAX_JSON_ANSWER_BYTES = 16 * 1024 * 1024;

/** An answer was larger than the cap; nothing of it is kept. */
export class ResponseTooLargeError extends FedledgerError {
  constructor(
    readonly limit: number,
    /** What gave it away: "Content-Length 300000000" or "more than 1000 bytes received". */
    readonly seen: string,
  ) {
    super(`the answer is larger than the limit of ${limit} bytes (${seen})`, {
      hint: "Raise the download limit if objects this large are expected, else distrust the server",
    });
  }
}

/**
 * Reads a fetch Response's body into memory, refusing (ResponseTooLargeError) a declared Content-Length above
 * `limit` before reading, and cancelling the stream as soon as more than `limit` bytes arrived.
 *
 * @example
 * const bytes = await readCappedBody(await fetch(url), 64 << 20);
 */
export async function readCappedBody(res: Response, limit: number): Promise<Buffer> {
  const declared = res.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limit)) {
    await res.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(limit, `Content-Length ${declared}`);
  }
  if (!res.body) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(limit, `more than ${limit} bytes received`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** Reads a JSON answer with the JSON cap; undefined when it is not JSON. Throws ResponseTooLargeError. */
export async function readCappedJson(res: Response, limit = MAX_JSON_ANSWER_BYTES): Promise<unknown> {
  const bytes = await readCappedBody(res, limit);
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}
