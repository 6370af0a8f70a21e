/**
 * The parts of a service's config file that say where the ledger is and which key signs: one zod schema each,
 * shared by the aggregator's and the site's config (and by nothing that parses them twice). A config gives the
 * ledger as a deployment file, or as the ledger and registry addresses with an RPC URL; the signer as an
 * encrypted keystore (with its password in a file or an environment variable) or, on the embedded chain, a
 * public dev account.
 */
import path from "node:path";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";

/** A 0x address, checksummed on the way in. */
export const addressSchema = z
  .string()
  .refine((v) => isAddress(v), { message: "must be a 0x-prefixed 20-byte address" })
  .transform((v) => getAddress(v));

/** An http:// or https:// URL. */
export const httpUrlSchema = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === "http:" || u.protocol === "https:";
    } catch {
      return false;
    }
  },
  { message: "must be an http:// or https:// URL" },
);

/** A non-empty path (resolved against the config file's directory by the config's parser). */
export const pathSchema = z.string().min(1, "must be a non-empty path");

/** A task id: a positive integer, as a JSON number (a safe integer) or a decimal string (up to uint256). */
export const taskIdSchema = z
  .custom<number | string>(
    (v) =>
      (typeof v === "number" && Number.isSafeInteger(v) && v > 0) ||
      (typeof v === "string" && /^[1-9][0-9]{0,76}$/.test(v)),
    { message: "must be a positive integer" },
  )
  .transform((v) => BigInt(v));

/** The `signer` section: exactly one of keystore and devAccount; a keystore's password from a file or a variable. */
export const signerConfigSchema = z
  .object({
    keystore: pathSchema.optional(),
    passwordFile: pathSchema.optional(),
    passwordEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
      .optional(),
    devAccount: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.keystore === undefined) === (s.devAccount === undefined))
      ctx.addIssue({ code: "custom", message: "give exactly one of keystore and devAccount", path: [] });
    if (s.devAccount !== undefined && (s.passwordFile !== undefined || s.passwordEnv !== undefined))
      ctx.addIssue({
        code: "custom",
        message: "passwordFile and passwordEnv belong to a keystore, not to a devAccount",
        path: [],
      });
    if (s.passwordFile !== undefined && s.passwordEnv !== undefined)
      ctx.addIssue({ code: "custom", message: "give passwordFile or passwordEnv, not both", path: [] });
  });

/** A validated `signer` section. */
export type SignerConfig = z.output<typeof signerConfigSchema>;

/** The fields that say where the ledger is; spread them into a config's object schema. */
export const ledgerSourceFields = {
  rpc: httpUrlSchema.optional(),
  chainId: z.number().int().positive().optional(),
  deployment: pathSchema.optional(),
  ledger: addressSchema.optional(),
  registry: addressSchema.optional(),
};

/** Where a service finds the ledger (paths absolute once the config is parsed). */
export interface LedgerSourceConfig {
  rpc?: string;
  chainId?: number;
  deployment?: string;
  ledger?: string;
  registry?: string;
}

/**
 * The rules the ledger fields obey together, for a config schema's superRefine: a deployment file or both
 * addresses (not both kinds, not one address), and an RPC URL with the addresses.
 */
export function checkLedgerSource(c: LedgerSourceConfig, ctx: z.RefinementCtx): void {
  const addresses = (c.ledger ? 1 : 0) + (c.registry ? 1 : 0);
  if (addresses === 1)
    ctx.addIssue({
      code: "custom",
      message: "give both ledger and registry, or neither",
      path: [c.ledger ? "registry" : "ledger"],
    });
  if (addresses === 0 && !c.deployment)
    ctx.addIssue({
      code: "custom",
      message: "give a deployment file or the ledger and registry addresses",
      path: ["deployment"],
    });
  if (addresses === 2 && c.deployment)
    ctx.addIssue({
      code: "custom",
      message: "give a deployment file or addresses, not both",
      path: ["deployment"],
    });
  if (addresses === 2 && !c.rpc)
    ctx.addIssue({
      code: "custom",
      message: "rpc is required when ledger and registry are given",
      path: ["rpc"],
    });
}

/** The signer section with its paths resolved against `baseDir` (absent fields stay absent). */
export function resolveSignerPaths(signer: SignerConfig, baseDir: string): SignerConfig {
  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    ...signer,
    ...(signer.keystore === undefined ? {} : { keystore: abs(signer.keystore) }),
    ...(signer.passwordFile === undefined ? {} : { passwordFile: abs(signer.passwordFile) }),
  };
}

/** The ledger fields with the deployment path resolved against `baseDir`. */
export function resolveLedgerSourcePaths<T extends LedgerSourceConfig>(c: T, baseDir: string): T {
  return { ...c, deployment: c.deployment === undefined ? undefined : path.resolve(baseDir, c.deployment) };
}
