import { z } from "zod";
import { metricsSchema } from "../fl";

const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be lower-case 0x-prefixed 32-byte hex");

/**
 * What the store keeps for one accepted upload (`rounds/<task>/<round>/<site>.json`). Large integers are
 * decimal strings so the JSON stays exact.
 */
export const uploadRecordSchema = z.object({
  task: z.string().regex(/^[1-9][0-9]*$/, "must be a positive decimal integer"),
  round: z.number().int().min(1).max(0xffffffff),
  site: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte hex address"),
  updateHash: hex32,
  numSamples: z.string().regex(/^[1-9][0-9]*$/, "must be a positive decimal integer"),
  metrics: metricsSchema,
  metricsHash: hex32,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature"),
  receivedAt: z.string().datetime(),
});

/** One accepted upload. */
export type UploadRecord = z.infer<typeof uploadRecordSchema>;
