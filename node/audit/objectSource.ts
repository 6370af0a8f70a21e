/**
 * Where the auditor reads model and update bytes: a store directory (the layout of node/store, read-only) or
 * an aggregator's HTTP API (`GET /models/:hash`, `GET /tasks/:task/rounds/:round`). Every object is re-hashed
 * on arrival; bytes that do not hash to the name they were asked for are returned as "corrupt" with their
 * real hash, so the report can say exactly what was found. An aggregator serves sites' updates only to signed
 * reads (node/aggregator/readAuth.ts): given `credentials`, every object request is signed with them.
 *
 * The directory reader never writes: unlike ContentStore.open it does not create folders or delete temporary
 * files, because an audit must not change the store it audits (an aggregator may be writing to it).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  DEFAULT_MAX_DOWNLOAD_BYTES,
  readCappedBody,
  readCappedJson,
  ResponseTooLargeError,
} from "../aggregator/cappedBody";
import { signReadHeaders, type ReadCredentials } from "../aggregator/readAuth";
import { metricsSchema, type Metrics } from "../fl";
import { normaliseHash, uploadRecordSchema } from "../store";
import { AuditSourceError } from "./errors";
import { sha256Hex } from "../sha256";

/** The answer to a fetch by hash. */
export type FetchedObject =
  | { status: "ok"; bytes: Buffer }
  | { status: "missing" }
  | { status: "corrupt"; bytes: Buffer; actualHash: string };

/** What the store recorded about one accepted upload. */
export interface StoredUpload {
  site: string;
  updateHash: string;
  numSamples: string;
  metricsHash: string;
  metrics: Metrics;
  /** Set when the record could not be read; the other fields are then empty. */
  problem?: string;
}

/** A read-only source of content-addressed objects. */
export interface ObjectSource {
  readonly kind: "directory" | "aggregator";
  /** The directory path or base URL, for messages. */
  readonly location: string;
  /** Fetches the object named `hash` (0x + 64 hex digits). */
  fetch(hash: string): Promise<FetchedObject>;
  /** The uploads the store accepted for a round, or undefined when it keeps none or cannot list them. */
  uploads(task: bigint, round: number): Promise<StoredUpload[] | undefined>;
}

function sha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

function checked(hash: string, bytes: Buffer): FetchedObject {
  const actual = sha256(bytes);
  return actual === hash ? { status: "ok", bytes } : { status: "corrupt", bytes, actualHash: actual };
}

class DirectorySource implements ObjectSource {
  readonly kind = "directory";
  constructor(readonly location: string) {}

  async fetch(hash: string): Promise<FetchedObject> {
    const name = normaliseHash(hash);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(path.join(this.location, "objects", name.slice(2)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { status: "missing" };
      throw new AuditSourceError(
        `cannot read object ${name} in the store ${this.location}: ${code ?? (err as Error).message}`,
        "Check the store directory's permissions",
        err,
      );
    }
    return checked(name, bytes);
  }

  async uploads(task: bigint, round: number): Promise<StoredUpload[] | undefined> {
    const dir = path.join(this.location, "rounds", task.toString(), String(round));
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new AuditSourceError(`cannot list the uploads in ${dir}: ${(err as Error).message}`);
    }
    const uploads: StoredUpload[] = [];
    for (const name of names.filter((n) => /^0x[0-9a-f]{40}\.json$/.test(n)).sort()) {
      const file = path.join(dir, name);
      const parsed = uploadRecordSchema.safeParse(parseJson(await fs.readFile(file, "utf8")));
      // A record that does not parse, or that names another round or site, is reported with its problem.
      if (!parsed.success || parsed.data.task !== task.toString() || parsed.data.round !== round) {
        uploads.push(
          unreadableUpload(name.slice(0, 42), `${file} is not a valid upload record of this round`),
        );
        continue;
      }
      const r = parsed.data;
      if (r.site.toLowerCase() !== name.slice(0, 42)) {
        uploads.push(unreadableUpload(name.slice(0, 42), `${file} names another site, ${r.site}`));
        continue;
      }
      uploads.push({
        site: r.site,
        updateHash: r.updateHash,
        numSamples: r.numSamples,
        metricsHash: r.metricsHash,
        metrics: r.metrics,
      });
    }
    return uploads;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function unreadableUpload(site: string, problem: string): StoredUpload {
  return { site, updateHash: "", numSamples: "", metricsHash: "", metrics: {}, problem };
}

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const roundStatusSchema = z.object({
  uploads: z.array(
    z.object({
      site: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
      updateHash: hex32,
      numSamples: z.string().regex(/^[0-9]+$/),
      metricsHash: hex32,
      metrics: metricsSchema,
    }),
  ),
});

const healthSchema = z.object({
  task: z.string().regex(/^[1-9][0-9]*$/),
  ledger: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
});

/** The `{ message, hint }` of an aggregator's JSON error, when the answer is one. */
async function apiRefusal(res: Response): Promise<{ message: string; hint: string } | undefined> {
  const body = (await readCappedJson(res).catch(() => undefined)) as
    { message?: unknown; hint?: unknown } | undefined;
  return typeof body?.message === "string"
    ? { message: body.message, hint: typeof body.hint === "string" ? body.hint : "" }
    : undefined;
}

class AggregatorSource implements ObjectSource {
  readonly kind = "aggregator";
  /** The aggregator's task, read from /health before the first signed read. */
  private task: Promise<bigint> | undefined;

  constructor(
    readonly location: string,
    private readonly timeoutMs: number,
    private readonly maxObjectBytes: number,
    private readonly credentials: ReadCredentials | undefined,
  ) {}

  private async get(route: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.location}${route}`;
    try {
      return await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      const reason =
        typeof cause?.code === "string"
          ? cause.code
          : err instanceof Error && err.name === "TimeoutError"
            ? `no answer within ${this.timeoutMs / 1000} s`
            : (err as Error).message;
      throw new AuditSourceError(
        `cannot reach the aggregator store at ${this.location}: ${reason}`,
        "Check that the aggregator runs and --store points at it, or pass a store directory",
        err,
      );
    }
  }

  /** The aggregator's task, checked to belong to the credentials' ledger. */
  private readTask(credentials: ReadCredentials): Promise<bigint> {
    this.task ??= (async () => {
      const res = await this.get("/health");
      const parsed = healthSchema.safeParse(
        res.ok ? await readCappedJson(res).catch(() => undefined) : undefined,
      );
      if (!res.ok) await res.body?.cancel();
      if (!parsed.success)
        throw new AuditSourceError(
          `the aggregator store at ${this.location} does not say which task and ledger it serves (GET /health)`,
          "Check that --store points at a fedledger aggregator",
        );
      if (parsed.data.ledger.toLowerCase() !== credentials.ledger.toLowerCase())
        throw new AuditSourceError(
          `the aggregator store at ${this.location} serves the ledger ${parsed.data.ledger}, not the audited ledger ${credentials.ledger}`,
          "Point --store at the aggregator of the audited ledger, or pass its store directory",
        );
      return BigInt(parsed.data.task);
    })().catch((err: unknown) => {
      this.task = undefined;
      throw err;
    });
    return this.task;
  }

  async fetch(hash: string): Promise<FetchedObject> {
    const name = normaliseHash(hash);
    const credentials = this.credentials;
    const headers = credentials
      ? await signReadHeaders(credentials, await this.readTask(credentials), name)
      : {};
    const res = await this.get(`/models/${name}`, headers);
    if (res.status === 404) {
      await res.body?.cancel();
      return { status: "missing" };
    }
    if (res.status === 401 || res.status === 403) {
      const refusal = await apiRefusal(res);
      throw new AuditSourceError(
        `the aggregator store at ${this.location} refused a download (HTTP ${res.status}): ` +
          (refusal?.message ?? "no reason given"),
        credentials
          ? refusal?.hint || "Sign with a key that holds the auditor role"
          : "Sign the downloads with the auditor's key: pass --keystore <auditor keystore> (or --dev-account auditor on the embedded chain)",
      );
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new AuditSourceError(
        `the aggregator store at ${this.location} answered HTTP ${res.status} for object ${name}`,
        "Retry later, or pass a store directory",
      );
    }
    let bytes: Buffer;
    try {
      bytes = await readCappedBody(res, this.maxObjectBytes);
    } catch (err) {
      if (err instanceof ResponseTooLargeError)
        throw new AuditSourceError(
          `the aggregator store at ${this.location} sent more than ${this.maxObjectBytes} bytes for object ${name} (${err.seen}); the download was stopped`,
          "Raise the object size limit (maxObjectBytes) if models this large are expected; otherwise distrust this store",
          err,
        );
      throw err;
    }
    return checked(name, bytes);
  }

  async uploads(task: bigint, round: number): Promise<StoredUpload[] | undefined> {
    const res = await this.get(`/tasks/${task}/rounds/${round}`);
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const parsed = roundStatusSchema.safeParse(await readCappedJson(res).catch(() => undefined));
    return parsed.success ? parsed.data.uploads : undefined;
  }
}

/** Options of {@link openObjectSource}. */
export interface OpenObjectSourceParameters {
  /** Timeout of one HTTP request to an aggregator, in milliseconds (60 s by default). */
  timeoutMs?: number;
  /**
   * Largest object fetched from an aggregator, in bytes (256 MiB by default): a declared Content-Length above
   * it is refused before reading, and a body that passes it is cut off (AuditSourceError).
   */
  maxObjectBytes?: number;
  /**
   * The key that signs reads from an aggregator, with the chain and ledger it signs for: needed for sites'
   * updates, which an aggregator serves only to signed reads of its admins, auditors and aggregators.
   */
  credentials?: ReadCredentials;
}

/**
 * Opens a store directory (any path) or an aggregator (an http:// or https:// URL) for reading. Throws an
 * AuditSourceError when the directory is not a fedledger store; an aggregator is only contacted on the first
 * fetch.
 *
 * @example
 * const source = await openObjectSource("./aggregator-store");
 * const answer = await source.fetch(modelHash); // { status: "ok", bytes } | { status: "missing" } | …
 */
export async function openObjectSource(
  spec: string,
  params: OpenObjectSourceParameters = {},
): Promise<ObjectSource> {
  if (/^https?:\/\//i.test(spec)) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      throw new AuditSourceError(
        `invalid store URL "${spec}"`,
        "Pass --store http://host:port or a directory",
      );
    }
    return new AggregatorSource(
      url.toString().replace(/\/+$/, ""),
      params.timeoutMs ?? 60_000,
      params.maxObjectBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES,
      params.credentials,
    );
  }
  const dir = path.resolve(spec);
  const objects = path.join(dir, "objects");
  let isStore = false;
  try {
    isStore = (await fs.stat(objects)).isDirectory();
  } catch {
    isStore = false;
  }
  if (!isStore)
    throw new AuditSourceError(
      `${dir} is not a fedledger store (it has no objects/ folder)`,
      "Pass --store <the aggregator's store directory> or --store http://<aggregator>",
    );
  return new DirectorySource(dir);
}
