/**
 * Signed reads: who may download a site's update from the aggregator (docs/privacy.md, "Who may read what").
 *
 * Models (genesis, aggregates), round metrics documents and round status stay public. An object that a site
 * uploaded as its update is served only to a request signed with EIP-712 by an admin, an auditor, an
 * aggregator (roles of the ConsortiumRegistry) or by the site that uploaded it. The request carries three
 * headers:
 *
 *   X-Fedledger-Signer      the reader's address (0x, 20 bytes)
 *   X-Fedledger-Timestamp   issuedAt: Unix time in milliseconds, decimal
 *   X-Fedledger-Signature   EIP-712 signature (0x, 65 bytes) of ReadObject(taskId, objectHash, issuedAt)
 *
 * The typed data, enough to re-implement a client:
 *
 *   domain  { name: "fedledger", version: "1", chainId, verifyingContract: <TrainingLedger address> }
 *           (the domain the sites sign their uploads in, node/fl/signature.ts)
 *   types   ReadObject(uint256 taskId, bytes32 objectHash, uint64 issuedAt)
 *   value   taskId: the aggregator's task (GET /health → task); objectHash: the hash in the path;
 *           issuedAt: the timestamp header
 *
 * The aggregator checks, in order: the three headers are there (else 401 signature_required); issuedAt is at
 * most `maxAgeSeconds` old and at most `maxFutureSeconds` ahead of its clock (401 signature_expired); the
 * signature recovers to X-Fedledger-Signer for its own chain id, ledger and task and for the hash asked for
 * (401 bad_signature); the same signed message was not seen before (401 signature_replayed); the signer holds
 * a reader role or uploaded this object (403 not_a_reader). A signature is good for one request: the
 * aggregator remembers every accepted one until it expires, and a client signing twice in one millisecond
 * adds one to issuedAt (signReadHeaders does).
 */
import {
  getAddress,
  isAddress,
  isHexString,
  TypedDataEncoder,
  verifyTypedData,
  type TypedDataField,
} from "ethers";
import { updateDomain, type TypedDataSigner, type UpdateDomainParameters } from "../fl";
import type { ContentStore, UploadRecord } from "../store";
import { ApiError } from "./apiError";

/** Header names of a signed read (lower case, as Node delivers them). */
export const READ_HEADERS = {
  signer: "x-fedledger-signer",
  timestamp: "x-fedledger-timestamp",
  signature: "x-fedledger-signature",
} as const;

/** The EIP-712 type of a signed read. */
export const READ_TYPES: Record<string, TypedDataField[]> = {
  ReadObject: [
    { name: "taskId", type: "uint256" },
    { name: "objectHash", type: "bytes32" },
    { name: "issuedAt", type: "uint64" },
  ],
};

/** The signed fields of a read. */
export interface ReadMessage {
  taskId: bigint | number;
  /** The SHA-256 of the object asked for (bytes32 hex). */
  objectHash: string;
  /** Unix time in milliseconds. */
  issuedAt: bigint | number;
}

/** The roles that may read every site's update. */
export const READER_ROLES = ["admin", "auditor", "aggregator"] as const;
/** A role that may read every site's update. */
export type ReaderRole = (typeof READER_ROLES)[number];

/** How long a signed read is good for; config.ts `readAuth`, docs/protocol.md. */
export interface ReadAuthSettings {
  /** Oldest accepted issuedAt, in seconds before the aggregator's clock (300). */
  maxAgeSeconds: number;
  /** Latest accepted issuedAt, in seconds after the aggregator's clock (60). */
  maxFutureSeconds: number;
  /** Signed reads remembered against replay; when that many are still valid, new ones get 503 busy. */
  maxRemembered: number;
}

/** Defaults of {@link ReadAuthSettings}. */
export const DEFAULT_READ_AUTH: ReadAuthSettings = {
  maxAgeSeconds: 300,
  maxFutureSeconds: 60,
  maxRemembered: 100_000,
};

function toValue(msg: ReadMessage): Record<string, unknown> {
  if (!isHexString(msg.objectHash, 32))
    throw new RangeError(`objectHash "${msg.objectHash}" is not 32-byte hex`);
  return {
    taskId: BigInt(msg.taskId),
    objectHash: msg.objectHash.toLowerCase(),
    issuedAt: BigInt(msg.issuedAt),
  };
}

/** Signs a read. Returns the 65-byte signature as 0x-prefixed hex. */
export function signRead(
  signer: TypedDataSigner,
  domain: UpdateDomainParameters,
  message: ReadMessage,
): Promise<string> {
  return signer.signTypedData(updateDomain(domain), READ_TYPES, toValue(message));
}

/** The EIP-712 digest of a read: what the key signs, and what the aggregator remembers against replay. */
export function readDigest(domain: UpdateDomainParameters, message: ReadMessage): string {
  return TypedDataEncoder.hash(updateDomain(domain), READ_TYPES, toValue(message));
}

/** Recovers the address that signed a read; throws when the signature is malformed. */
export function recoverReadSigner(
  domain: UpdateDomainParameters,
  message: ReadMessage,
  signature: string,
): string {
  return verifyTypedData(updateDomain(domain), READ_TYPES, toValue(message), signature);
}

/** A key that signs reads: an ethers Wallet or JsonRpcSigner. */
export interface ReadSigner extends TypedDataSigner {
  getAddress(): Promise<string>;
}

/** What a client needs to sign reads for one aggregator. */
export interface ReadCredentials {
  signer: ReadSigner;
  chainId: bigint | number;
  /** The TrainingLedger address (the EIP-712 verifying contract). */
  ledger: string;
}

let lastIssuedAt = 0;

/**
 * The headers of a signed read of `objectHash` from the aggregator of `taskId`. issuedAt is the clock in
 * milliseconds, raised past the last one this process signed so that no two reads share a signature; a given
 * `issuedAt` is used as it is.
 *
 * @example
 * const headers = await signReadHeaders({ signer: auditor, chainId: 31337, ledger }, 1n, hash);
 * await fetch(`${url}/models/${hash}`, { headers });
 */
export async function signReadHeaders(
  credentials: ReadCredentials,
  taskId: bigint | number,
  objectHash: string,
  issuedAt?: number,
): Promise<Record<string, string>> {
  if (issuedAt === undefined) {
    issuedAt = Math.max(Date.now(), lastIssuedAt + 1);
    lastIssuedAt = issuedAt;
  }
  const signature = await signRead(
    credentials.signer,
    { chainId: credentials.chainId, ledger: credentials.ledger },
    { taskId, objectHash, issuedAt },
  );
  return {
    [READ_HEADERS.signer]: getAddress(await credentials.signer.getAddress()),
    [READ_HEADERS.timestamp]: String(issuedAt),
    [READ_HEADERS.signature]: signature,
  };
}

/** The hint of every refusal that a signature would cure. */
export const SIGN_HINT =
  "Sign the request: headers X-Fedledger-Signer, X-Fedledger-Timestamp (Unix ms) and X-Fedledger-Signature, " +
  'an EIP-712 ReadObject(taskId, objectHash, issuedAt) (docs/privacy.md, "Who may read what"); ' +
  "`fedledger audit verify --store <url> --keystore <auditor keystore>` does it";

const GRANT_HINT =
  "Site updates are served to admins, auditors, aggregators and the site that uploaded them; " +
  "ask the admins to grant a role (`fedledger role grant auditor <address>`)";

function oneHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value))
    throw new ApiError("bad_request", `header ${name} appears more than once`, SIGN_HINT);
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** Who read an update, and by what right. */
export interface ReadGrant {
  reader: string;
  /** The role that allowed the read, or "uploader" for the site that uploaded the object. */
  right: ReaderRole | "uploader";
}

/** What {@link ReadGuard} checks a signature against. */
export interface ReadGuardParameters {
  domain: UpdateDomainParameters;
  taskId: bigint;
  /** The reader roles an account holds now (the ledger port's readerRoles). */
  readerRoles(account: string): Promise<readonly ReaderRole[]>;
  settings?: Partial<ReadAuthSettings>;
  /** Unix time in milliseconds; the wall clock by default. */
  now?: () => number;
}

/** Checks signed reads and remembers the accepted ones until they expire; see the module comment. */
export class ReadGuard {
  readonly settings: ReadAuthSettings;
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly params: ReadGuardParameters) {
    this.settings = { ...DEFAULT_READ_AUTH, ...params.settings };
    this.now = params.now ?? Date.now;
  }

  /** How many signed reads are remembered now. */
  get remembered(): number {
    return this.seen.size;
  }

  /**
   * Admits a signed read of `objectHash`, an update uploaded by `uploaders`, or throws the ApiError to answer.
   */
  async authorize(
    headers: Record<string, string | string[] | undefined>,
    objectHash: string,
    uploaders: readonly string[],
  ): Promise<ReadGrant> {
    const signerText = oneHeader(headers, READ_HEADERS.signer);
    const timestampText = oneHeader(headers, READ_HEADERS.timestamp);
    const signature = oneHeader(headers, READ_HEADERS.signature);
    if (signerText === undefined || timestampText === undefined || signature === undefined)
      throw new ApiError(
        "signature_required",
        `object ${objectHash} is a site's update; it is served only to signed requests of consortium members`,
        SIGN_HINT,
      );
    if (!isAddress(signerText))
      throw new ApiError("bad_request", `${READ_HEADERS.signer} is not an address`, SIGN_HINT);
    if (!/^[0-9]{1,16}$/.test(timestampText))
      throw new ApiError(
        "bad_request",
        `${READ_HEADERS.timestamp} must be Unix time in milliseconds (decimal)`,
        SIGN_HINT,
      );
    if (!isHexString(signature, 65))
      throw new ApiError(
        "bad_signature",
        `${READ_HEADERS.signature} must be a 65-byte 0x hex signature`,
        SIGN_HINT,
      );
    const signer = getAddress(signerText);
    const issuedAt = Number(timestampText);
    const now = this.now();
    const { maxAgeSeconds, maxFutureSeconds, maxRemembered } = this.settings;
    if (issuedAt < now - maxAgeSeconds * 1000 || issuedAt > now + maxFutureSeconds * 1000)
      throw new ApiError(
        "signature_expired",
        `the signed read was issued at ${new Date(issuedAt).toISOString()}, outside the accepted window ` +
          `(${maxAgeSeconds} s before to ${maxFutureSeconds} s after the aggregator's clock, now ${new Date(now).toISOString()})`,
        "Sign a fresh request for each download, and check the clock of the signing machine",
      );
    const message = { taskId: this.params.taskId, objectHash, issuedAt };
    let recovered: string;
    try {
      recovered = recoverReadSigner(this.params.domain, message, signature);
    } catch {
      recovered = "";
    }
    if (recovered !== signer)
      throw new ApiError(
        "bad_signature",
        `the signature does not recover to ${signer} for a read of ${objectHash} from task ${this.params.taskId} ` +
          `on chain ${this.params.domain.chainId}, ledger ${this.params.domain.ledger}`,
        "Sign ReadObject(taskId, objectHash, issuedAt) of exactly this request, in this aggregator's domain " +
          "(its chain id, TrainingLedger address and task; GET /health names the ledger and task)",
      );
    const digest = readDigest(this.params.domain, message);
    if (this.seen.has(digest))
      throw new ApiError(
        "signature_replayed",
        "this signed read was used before; a signature is good for one request",
        "Sign a new request (a new X-Fedledger-Timestamp) for each download",
      );
    this.remember(digest, issuedAt + maxAgeSeconds * 1000, now, maxRemembered);
    const own = uploaders.some((site) => getAddress(site) === signer);
    let roles: readonly ReaderRole[];
    try {
      roles = own ? [] : await this.params.readerRoles(signer);
    } catch (err) {
      this.seen.delete(digest);
      throw err;
    }
    if (own) return { reader: signer, right: "uploader" };
    const right = READER_ROLES.find((r) => roles.includes(r));
    if (right) return { reader: signer, right };
    // A refused signature is forgotten, so strangers' keys cannot fill the memory.
    this.seen.delete(digest);
    throw new ApiError(
      "not_a_reader",
      `${signer} holds no admin, auditor or aggregator role and did not upload object ${objectHash}`,
      GRANT_HINT,
    );
  }

  private remember(digest: string, expiresAt: number, now: number, max: number): void {
    if (this.seen.size >= max) for (const [d, until] of this.seen) if (until < now) this.seen.delete(d);
    if (this.seen.size >= max)
      throw new ApiError(
        "busy",
        "the aggregator remembers as many signed reads as it may",
        "Retry after the Retry-After seconds",
        Math.max(1, Math.ceil(this.settings.maxAgeSeconds / 10)),
      );
    this.seen.set(digest, expiresAt);
  }
}

/**
 * Which stored objects are site updates, and who uploaded each: read from the store's upload records of the
 * aggregator's task on first use, then kept up to date with every upload the aggregator accepts. The
 * aggregator is the only writer of its store's records.
 */
export class UploadIndex {
  private readonly uploaders = new Map<string, Set<string>>();
  private loading: Promise<void> | undefined;

  /** `rounds()` gives the task's current round (the rounds whose records to read at start). */
  constructor(
    private readonly store: ContentStore,
    private readonly taskId: bigint,
    private readonly rounds: () => Promise<number>,
  ) {}

  /** Notes an accepted upload. */
  add(record: Pick<UploadRecord, "site" | "updateHash">): void {
    const hash = record.updateHash.toLowerCase();
    const sites = this.uploaders.get(hash) ?? new Set<string>();
    sites.add(getAddress(record.site));
    this.uploaders.set(hash, sites);
  }

  /** The sites that uploaded `hash` as their update (empty when it is no site's update). */
  async sitesOf(hash: string): Promise<string[]> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    await this.loading;
    return [...(this.uploaders.get(hash.toLowerCase()) ?? [])];
  }

  private async load(): Promise<void> {
    const current = await this.rounds();
    for (let round = 1; round <= current; round++)
      for (const record of await this.store.listRound(this.taskId, round)) this.add(record);
  }
}
