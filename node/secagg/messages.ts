/**
 * The shapes of the secure-aggregation messages on the wire (docs/protocol.md, "Secure aggregation"), checked
 * where they enter: by the aggregator for what sites send, by a site for what the aggregator relays, by the
 * auditor for stored material. Addresses come out checksummed.
 */
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import type { EncryptedShare, KeyAdvertisement, UnmaskingAnswer, UnmaskingMaterial } from "./protocol";

const address = z
  .string()
  .refine((s) => isAddress(s), { message: "must be a 0x address" })
  .transform((s) => getAddress(s));
const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, { message: "must be 0x and 64 hex digits" });
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, { message: "must be a 65-byte 0x signature" });
/** ChaCha20-Poly1305 of x ‖ two 32-byte shares (66 bytes) plus its 16-byte tag. */
const ciphertext = z.string().regex(/^0x[0-9a-fA-F]{164}$/, { message: "must be 0x and 164 hex digits" });
const MAX_SITES = 1000;

export const advertisementSchema = z
  .object({
    site: address,
    cPublicKey: hex32,
    sPublicKey: hex32,
    selfMaskCommitment: hex32,
    signature,
  })
  .strict();

const encryptedShareSchema = z.object({ from: address, to: address, ciphertext }).strict();

/** A site's shares for the others, as it sends them. */
export const sharesMessageSchema = z
  .object({
    from: address,
    shares: z.array(encryptedShareSchema).max(MAX_SITES),
    signature,
  })
  .strict();

const heldShareSchema = z
  .object({ owner: address, x: z.number().int().min(1).max(MAX_SITES), y: hex32 })
  .strict();

export const answerSchema = z
  .object({
    from: address,
    selfMaskShares: z.array(heldShareSchema).max(MAX_SITES),
    maskKeyShares: z.array(heldShareSchema).max(MAX_SITES),
  })
  .strict();

/** A site's unmasking answer with its signature. */
export const answerMessageSchema = z.object({ answer: answerSchema, signature }).strict();

export const unmaskingRequestSchema = z
  .object({
    survivors: z.array(address).max(MAX_SITES),
    dropped: z.array(address).max(MAX_SITES),
  })
  .strict();

export const materialSchema = z
  .object({
    version: z.literal(1),
    advertisements: z.array(advertisementSchema).max(MAX_SITES),
    survivors: z.array(address).max(MAX_SITES),
    dropped: z.array(address).max(MAX_SITES),
    selfMaskSeeds: z.array(hex32).max(MAX_SITES),
    droppedMaskKeys: z.array(hex32).max(MAX_SITES),
  })
  .strict();

/** What the aggregator relays to one site after the share stage. */
export const sharesForSiteSchema = z
  .object({
    ready: z.literal(true),
    sharedSites: z.array(address).max(MAX_SITES),
    shares: z.array(encryptedShareSchema).max(MAX_SITES),
  })
  .strict();

/** A parsed message, or the first problem in words ("shares.0.to: must be a 0x address"). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parse<T>(schema: z.ZodType<T>, value: unknown): Parsed<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  return {
    ok: false,
    problem: `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`,
  };
}

export const parseAdvertisement = (v: unknown): Parsed<KeyAdvertisement> => parse(advertisementSchema, v);
export const parseSharesMessage = (
  v: unknown,
): Parsed<{ from: string; shares: EncryptedShare[]; signature: string }> => parse(sharesMessageSchema, v);
export const parseAnswerMessage = (v: unknown): Parsed<{ answer: UnmaskingAnswer; signature: string }> =>
  parse(answerMessageSchema, v);
export const parseMaterial = (v: unknown): Parsed<UnmaskingMaterial> => parse(materialSchema, v);
export const parseUnmaskingRequest = (v: unknown): Parsed<{ survivors: string[]; dropped: string[] }> =>
  parse(unmaskingRequestSchema, v);
export const parseSharesForSite = (
  v: unknown,
): Parsed<{ ready: true; sharedSites: string[]; shares: EncryptedShare[] }> => parse(sharesForSiteSchema, v);
