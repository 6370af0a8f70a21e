/**
 * The aggregator's content-addressed store, also read by auditors. Layout under the store directory:
 *
 *   objects/<sha256 hex>                  model, update and metrics-document bytes, named by their SHA-256
 *   rounds/<task>/<round>/<site>.json     one accepted upload per site and round (UploadRecord, JSON)
 *
 * Every write is durable before its promise resolves (temp file, fsync, rename or link, fsync of the
 * directory). Every read of an object re-hashes the bytes and refuses to return corrupted ones. An upload record
 * is created at most once: the first writer wins and later writers get the existing record back.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { FedledgerError } from "../errors";
import { normaliseSite } from "../fl";
import { createFileDurably, TEMP_PREFIX, writeFileDurably } from "./durableWrite";
import { uploadRecordSchema, type UploadRecord } from "./uploadRecord";
import { sha256Hex } from "../sha256";

/**
 * The store found bytes or a record that do not match what they claim to be. The message names the file
 * relative to the store directory (`objects/<hex>`), never by its absolute path, so it can be shown to anyone;
 * `file` keeps the absolute path for the operator's log.
 */
export class StoreCorruptionError extends FedledgerError {
  /** Absolute path of the corrupted file. */
  readonly file: string;
  /** The file's path inside the store directory, e.g. `objects/3f…`. */
  readonly storePath: string;

  constructor(what: string, file: string, storeDir: string) {
    const storePath = path.relative(storeDir, file).split(path.sep).join("/");
    super(`the store is corrupted: ${what} (${storePath} in the store directory)`, {
      hint: "Restore the file from a backup or delete it so it is fetched or recomputed again",
    });
    this.file = file;
    this.storePath = storePath;
  }
}

const HASH = /^(0x)?[0-9a-fA-F]{64}$/;

/** Normalises a SHA-256 hash to lower-case 0x-prefixed hex; throws a RangeError when malformed. */
export function normaliseHash(hash: string): string {
  if (!HASH.test(hash)) throw new RangeError(`"${hash}" is not a 32-byte hex hash`);
  return `0x${hash.replace(/^0x/, "").toLowerCase()}`;
}

function sha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

function positiveInteger(value: bigint | number | string, what: string): string {
  const s = String(value);
  if (!/^[1-9][0-9]*$/.test(s)) throw new RangeError(`${what} must be a positive integer, got "${s}"`);
  return s;
}

/** The names in `dir`, or none when it does not exist (or, with `notDirOk`, is not a directory). */
async function namesIn(dir: string, notDirOk = false): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || (notDirOk && code === "ENOTDIR")) return [];
    throw err;
  }
}

async function removeTempFiles(dir: string): Promise<void> {
  const names = await namesIn(dir, true);
  for (const name of names)
    if (name.startsWith(TEMP_PREFIX)) await fs.rm(path.join(dir, name), { force: true });
}

/** A content-addressed store rooted at one directory. Create with {@link ContentStore.open}. */
export class ContentStore {
  /** The store directory. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Opens (and creates when missing) a store directory, removing temporary files left by a crash.
   *
   * @example
   * const store = await ContentStore.open("./aggregator-store");
   * const hash = await store.put(modelBytes);
   */
  static async open(dir: string): Promise<ContentStore> {
    const root = path.resolve(dir);
    await fs.mkdir(path.join(root, "objects"), { recursive: true });
    await fs.mkdir(path.join(root, "rounds"), { recursive: true });
    await removeTempFiles(path.join(root, "objects"));
    for (const task of await fs.readdir(path.join(root, "rounds"))) {
      const taskDir = path.join(root, "rounds", task);
      if (!(await fs.stat(taskDir)).isDirectory()) continue;
      for (const round of await fs.readdir(taskDir)) {
        await removeTempFiles(path.join(taskDir, round));
        await removeTempFiles(path.join(taskDir, round, "secagg"));
      }
    }
    return new ContentStore(root);
  }

  private objectFile(hash: string): string {
    return path.join(this.dir, "objects", normaliseHash(hash).slice(2));
  }

  private roundDir(task: bigint | number | string, round: number): string {
    return path.join(this.dir, "rounds", positiveInteger(task, "task id"), positiveInteger(round, "round"));
  }

  /** Stores bytes under their SHA-256 and returns the hash (0x hex). Idempotent; repairs a corrupted copy. */
  async put(bytes: Uint8Array): Promise<string> {
    const hash = sha256(bytes);
    if (!(await this.hasIntact(hash))) await writeFileDurably(this.objectFile(hash), bytes);
    return hash;
  }

  private async hasIntact(hash: string): Promise<boolean> {
    try {
      return sha256(await fs.readFile(this.objectFile(hash))) === hash;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /**
   * Returns the bytes stored under `hash`, or undefined when there are none. Throws StoreCorruptionError when
   * the file's bytes do not hash to its name, and a RangeError for a malformed hash.
   */
  async get(hash: string): Promise<Buffer | undefined> {
    const file = this.objectFile(hash);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    if (sha256(bytes) !== normaliseHash(hash))
      throw new StoreCorruptionError("object bytes do not match their hash", file, this.dir);
    return bytes;
  }

  /** Whether an object is stored under `hash` (without verifying it). */
  async has(hash: string): Promise<boolean> {
    try {
      await fs.access(this.objectFile(hash));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Records an accepted upload unless the site already has one for that round. Resolves `{ created: true }`
   * with the given record, or `{ created: false }` with the record that was there first. The update bytes
   * must be stored (with {@link put}) before.
   */
  async putUpload(record: UploadRecord): Promise<{ created: boolean; record: UploadRecord }> {
    const valid = uploadRecordSchema.parse({ ...record, site: normaliseSite(record.site) });
    const dir = this.roundDir(valid.task, valid.round);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${normaliseSite(valid.site).toLowerCase()}.json`);
    const created = await createFileDurably(file, `${JSON.stringify(valid, null, 2)}\n`);
    if (created) return { created, record: valid };
    const existing = await this.readRecord(file);
    if (!existing)
      throw new StoreCorruptionError("an upload record vanished after it was written", file, this.dir);
    return { created, record: existing };
  }

  private async readRecord(file: string): Promise<UploadRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new StoreCorruptionError("an upload record is not JSON", file, this.dir);
    }
    const result = uploadRecordSchema.safeParse(parsed);
    if (!result.success) throw new StoreCorruptionError("an upload record is malformed", file, this.dir);
    const r = result.data;
    const where = path.join(this.roundDir(r.task, r.round), `${r.site.toLowerCase()}.json`);
    if (where !== file)
      throw new StoreCorruptionError("an upload record names another task, round or site", file, this.dir);
    return r;
  }

  /** The accepted upload of `site` in a round, or undefined. */
  async getUpload(
    task: bigint | number | string,
    round: number,
    site: string,
  ): Promise<UploadRecord | undefined> {
    return this.readRecord(
      path.join(this.roundDir(task, round), `${normaliseSite(site).toLowerCase()}.json`),
    );
  }

  /** Every accepted upload of a round, in ascending site-address order. */
  async listRound(task: bigint | number | string, round: number): Promise<UploadRecord[]> {
    const dir = this.roundDir(task, round);
    const names = await namesIn(dir);
    const files = names.filter((n) => /^0x[0-9a-f]{40}\.json$/.test(n)).sort();
    const records: UploadRecord[] = [];
    for (const name of files) {
      const record = await this.readRecord(path.join(dir, name));
      if (record) records.push(record);
    }
    return records;
  }

  private messageFile(task: bigint | number | string, round: number, name: string): string {
    if (!/^[a-z]+(-0x[0-9a-f]{40})?$/.test(name)) throw new RangeError(`bad round message name "${name}"`);
    return path.join(this.roundDir(task, round), "secagg", `${name}.json`);
  }

  /**
   * Records a secure-aggregation message of a round (an advertisement, a site's shares, an answer, or a stage's
   * frozen list) under `name` unless one is there: the first write wins and survives a crash. Resolves whether
   * this call wrote it, and the text stored.
   */
  async putRoundMessage(
    task: bigint | number | string,
    round: number,
    name: string,
    text: string,
  ): Promise<{ created: boolean; text: string }> {
    const file = this.messageFile(task, round, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const created = await createFileDurably(file, text);
    if (created) return { created, text };
    return { created, text: await fs.readFile(file, "utf8") };
  }

  /** The round message stored under `name`, or undefined. */
  async getRoundMessage(
    task: bigint | number | string,
    round: number,
    name: string,
  ): Promise<string | undefined> {
    try {
      return await fs.readFile(this.messageFile(task, round, name), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** The round messages whose names start with `prefix` + "-", by name. */
  async listRoundMessages(
    task: bigint | number | string,
    round: number,
    prefix: string,
  ): Promise<{ name: string; text: string }[]> {
    const dir = path.join(this.roundDir(task, round), "secagg");
    const names = await namesIn(dir);
    const out: { name: string; text: string }[] = [];
    for (const file of names.filter((n) => n.startsWith(`${prefix}-`) && n.endsWith(".json")).sort()) {
      const name = file.slice(0, -".json".length);
      const text = await this.getRoundMessage(task, round, name);
      if (text !== undefined) out.push({ name, text });
    }
    return out;
  }
}
