/**
 * The site's durable memory of each round it joined, so that a restarted service never commits twice and can
 * always hand the aggregator exactly the bytes it committed.
 *
 * Layout under the configured state directory, one folder per chain, ledger and site key (so a state directory
 * reused against another deployment or key never mixes):
 *
 *   <stateDir>/<chainId>-<ledger>/<site>/task-<id>/round-<n>.update   the update bytes (canonical FLM1)
 *   <stateDir>/<chainId>-<ledger>/<site>/task-<id>/round-<n>.json     the round record (see RoundRecord)
 *   <stateDir>/<chainId>-<ledger>/<site>/task-<id>/final.json         the evaluation of the task's final model
 *
 * Every file is written durably (temporary file, fsync, rename, fsync of the folder), the update bytes before
 * the record that names them. The record holds hashes, counts and metric values only: never note text.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { FedledgerError } from "../errors";
import { metricsSchema, type Metrics } from "../fl";
import { writeFileDurably } from "../store";
import { sha256Hex } from "../sha256";

const hash = z.string().regex(/^0x[0-9a-f]{64}$/, "must be lower-case 0x hex of 32 bytes");

/** Where a round stands for this site. */
export const ROUND_PHASES = ["trained", "committed", "uploaded"] as const;
/** A round phase: the update is trained and saved; its hash is on the chain; the aggregator accepted it. */
export type RoundPhase = (typeof ROUND_PHASES)[number];

const roundRecordSchema = z
  .object({
    version: z.literal(1),
    task: z.string().regex(/^[1-9][0-9]*$/),
    round: z.number().int().positive(),
    baseModelHash: hash,
    openedAtBlock: z.number().int().nonnegative(),
    phase: z.enum(ROUND_PHASES),
    updateHash: hash,
    numSamples: z.number().int().positive(),
    metrics: metricsSchema,
    metricsHash: hash,
    commitTx: hash.optional(),
    updatedAt: z.string().min(1),
  })
  .strict();

/** What the site remembers about one round. */
export type RoundRecord = z.infer<typeof roundRecordSchema>;

/** The evaluation of a task's final model. */
export interface FinalRecord {
  task: string;
  model: string;
  metrics: Metrics;
  evaluatedAt: string;
}

/** Identifies the chain, ledger and site key a state folder belongs to. */
export interface StateScope {
  chainId: number;
  ledger: string;
  site: string;
}

function sha256(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

async function readIfPresent(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new FedledgerError(`cannot read the site state file ${file}: ${(err as Error).message}`, {
      hint: "Check the permissions of stateDir",
    });
  }
}

/** The durable per-round records of one site on one ledger. */
export class SiteState {
  private constructor(readonly dir: string) {}

  /**
   * Opens (creating it if needed) the state folder of `scope` under `stateDir`. Throws a FedledgerError when
   * the folder cannot be created.
   *
   * @example
   * const state = await SiteState.open("site-state", { chainId: 31337, ledger, site });
   */
  static async open(stateDir: string, scope: StateScope): Promise<SiteState> {
    const dir = path.join(
      stateDir,
      `${scope.chainId}-${scope.ledger.toLowerCase()}`,
      scope.site.toLowerCase(),
    );
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw new FedledgerError(`cannot create the state directory ${dir}: ${(err as Error).message}`, {
        hint: "Set stateDir in the config to a directory the service may write",
      });
    }
    return new SiteState(dir);
  }

  private taskDir(task: bigint): string {
    return path.join(this.dir, `task-${task}`);
  }

  private recordFile(task: bigint, round: number): string {
    return path.join(this.taskDir(task), `round-${round}.json`);
  }

  private updateFile(task: bigint, round: number): string {
    return path.join(this.taskDir(task), `round-${round}.update`);
  }

  /** The record of a round, or undefined when there is none. Throws when the file is not a valid record. */
  async read(task: bigint, round: number): Promise<RoundRecord | undefined> {
    const file = this.recordFile(task, round);
    const bytes = await readIfPresent(file);
    if (!bytes) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString("utf8"));
    } catch {
      json = undefined;
    }
    const parsed = roundRecordSchema.safeParse(json);
    if (!parsed.success || parsed.data.task !== task.toString() || parsed.data.round !== round)
      throw new FedledgerError(`the site state file ${file} is not a valid round record`, {
        hint: "Move it away; the service then checks the chain and trains the round again if it may",
      });
    return parsed.data;
  }

  /** The saved update bytes of a record, or undefined when they are missing or do not hash to its updateHash. */
  async readUpdate(record: RoundRecord): Promise<Buffer | undefined> {
    const bytes = await readIfPresent(this.updateFile(BigInt(record.task), record.round));
    return bytes && sha256(bytes) === record.updateHash ? bytes : undefined;
  }

  /**
   * Saves a round record; with `update`, first saves the update bytes it names (prepareUpdate hashed exactly
   * these bytes into `record.updateHash`; readUpdate checks them again when they come back from disk).
   */
  async write(record: Omit<RoundRecord, "updatedAt">, update?: Uint8Array): Promise<RoundRecord> {
    const task = BigInt(record.task);
    const full = roundRecordSchema.parse({ ...record, updatedAt: new Date().toISOString() });
    await mkdir(this.taskDir(task), { recursive: true });
    if (update) await writeFileDurably(this.updateFile(task, record.round), update);
    await writeFileDurably(this.recordFile(task, record.round), `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }

  /** Removes a round's record and update bytes (a stale record from another run of the chain). */
  async discard(task: bigint, round: number): Promise<void> {
    await rm(this.recordFile(task, round), { force: true });
    await rm(this.updateFile(task, round), { force: true });
  }

  /** Saves the evaluation of a task's final model. */
  async writeFinal(record: FinalRecord): Promise<void> {
    const task = BigInt(record.task);
    await mkdir(this.taskDir(task), { recursive: true });
    await writeFileDurably(
      path.join(this.taskDir(task), "final.json"),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }
}
