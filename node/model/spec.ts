/**
 * The model specification: everything that fixes the model's tensors and how it is trained. The training
 * task on the chain stores {@link specHash} of it, so every site trains the same architecture with the same
 * features, and an auditor can tell which spec a model belongs to.
 */
import { z } from "zod";
import { FedledgerError } from "../errors";
import { DEFAULT_FEATURE_CONFIG, type FeatureConfig } from "../text/features";
import { LABELS, isLabel, type Label } from "../text/labels";
import type { BagScale } from "./bag";
import { sha256Hex } from "../sha256";

/** Version of the spec layout and of the model architecture it describes. */
export const SPEC_VERSION = 1;

/** How a site trains locally. Part of the spec so every site of a task trains the same way. */
export interface TrainingConfig {
  /** "adam" (default) or "sgd". A fresh optimizer state starts at every local training run. */
  optimizer: "adam" | "sgd";
  /** Learning rate. */
  lr: number;
  /** Passes over the local notes per training run (per federated round). */
  epochs: number;
  /** Notes per gradient step. */
  batchSize: number;
  /** Weight of the positive term of the binary cross-entropy (above 1 favours recall). */
  posWeight: number;
  /** Probability of dropping each feature id of a training example (a regulariser); 0 disables. */
  idDropout: number;
  /**
   * Record-level differentially private training (DP-SGD, node/model/dp.ts and docs/privacy.md); absent
   * means no DP. Under DP `batchSize` is not used: each step samples notes with probability `sampleRate`.
   */
  dp?: DpConfig;
}

/** Where the DP noise and sampling come from: the OS CSPRNG, or a seeded stream that only tests accept. */
export type DpNoise = "csprng" | "seeded-test-only";

/**
 * DP-SGD settings (docs/privacy.md, "DP-SGD at each site"). One record is one note. Each step includes
 * every note independently with probability `sampleRate` (Poisson sampling), clips each note's gradient to
 * L2 norm `clipNorm`, adds N(0, (noiseMultiplier·clipNorm)²) to every parameter of the sum and divides by
 * the expected batch size sampleRate·notes. A run takes epochs × round(1 / sampleRate) steps.
 */
export interface DpConfig {
  /** C: the L2 bound of one note's gradient (over all tensors). */
  clipNorm: number;
  /** σ: noise standard deviation in units of C. */
  noiseMultiplier: number;
  /** q: probability that a step includes a note (Poisson sampling). */
  sampleRate: number;
  /** δ of the (ε, δ) guarantee the task promises. */
  delta: number;
  /** ε a site may spend over the task at `delta`; a site refuses a round that would exceed it. */
  epsilonBudget: number;
  /** The randomness source; "seeded-test-only" is refused by sites (assertProductionNoise). */
  noise: DpNoise;
}

/**
 * Secure aggregation of a task's rounds (docs/secure-aggregation.md): the aggregator sees only the sum of the
 * sites' masked, quantised updates. Only the weighted-mean rules (FedAvg, sparse FedAvg) can run on sums.
 */
export interface SecureAggregationConfig {
  /** t: shares needed to rebuild a site's secret, and the fewest sites a round may end with (at least 2). */
  threshold: number;
  /** Fractional bits of the fixed-point encoding of update values. */
  scaleBits: number;
  /** Largest magnitude of an update value; larger ones are clipped before encoding. */
  clip: number;
}

/** A model specification. Serialised as JSON next to every model file (`<model>.spec.json`). */
export interface ModelSpec {
  version: typeof SPEC_VERSION;
  /** Output labels in output-unit order. */
  labels: Label[];
  /** Feature hashing settings: ids come from the text pipeline's `featurize` with this config. */
  features: FeatureConfig;
  /** Embedding width. */
  dim: number;
  /** Width of the hidden ReLU layer; 0 means a linear head on the bag. */
  hidden: number;
  /**
   * What one embedding bag covers: the whole note, or each sentence (the text pipeline's splitSentences)
   * with the note's logit per label the maximum over its sentences.
   */
  unit: "note" | "sentence";
  /** Bag normalisation: the sum of the rows times 1/count ("mean") or 1/√count ("sqrt"). */
  scale: BagScale;
  /** A label is predicted when its sigmoid probability is at least this. */
  threshold: number;
  training: TrainingConfig;
  /** Present when the task's rounds are securely aggregated; absent means plaintext updates. */
  secureAggregation?: SecureAggregationConfig;
}

/** Default training settings, tuned with scripts/baseline.ts (docs/model.md lists the figures). */
export const DEFAULT_TRAINING: TrainingConfig = {
  optimizer: "adam",
  lr: 0.03,
  epochs: 3,
  batchSize: 64,
  posWeight: 1,
  idDropout: 0,
};

/**
 * The default spec: all labels, the text pipeline's default features, and the tuned model size.
 * @example const spec = defaultSpec({ training: { ...DEFAULT_TRAINING, epochs: 2 } });
 */
export function defaultSpec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  return parseSpec({
    version: SPEC_VERSION,
    labels: [...LABELS],
    features: { ...DEFAULT_FEATURE_CONFIG },
    dim: 32,
    hidden: 0,
    unit: "sentence",
    scale: "sqrt",
    threshold: 0.3,
    training: { ...DEFAULT_TRAINING },
    ...overrides,
  });
}

const positiveInt = (max: number) => z.number().int().min(1).max(max);

const specSchema = z
  .object({
    version: z.literal(SPEC_VERSION),
    labels: z
      .array(z.string().refine(isLabel, { message: `must be one of ${LABELS.join(", ")}` }))
      .min(1)
      .refine((ls) => new Set(ls).size === ls.length, { message: "labels must be unique" }),
    features: z
      .object({
        buckets: positiveInt(1 << 24).refine((b) => (b & (b - 1)) === 0, {
          message: "buckets must be a power of two",
        }),
        wordNgrams: positiveInt(8),
        charNgramMin: z.number().int().min(0).max(16),
        charNgramMax: z.number().int().min(0).max(16),
        lexicon: z
          .object({
            weight: z.number().int().min(1).max(32),
            hash: z
              .string()
              .regex(/^0x[0-9a-f]{64}$/, { message: "must be 0x and 64 lower-case hex digits" }),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((f) => f.charNgramMin <= f.charNgramMax, {
        message: "charNgramMin must not exceed charNgramMax",
      }),
    dim: positiveInt(1024),
    hidden: z.number().int().min(0).max(4096),
    unit: z.enum(["note", "sentence"]),
    scale: z.enum(["mean", "sqrt"]),
    threshold: z.number().gt(0).lt(1),
    training: z
      .object({
        optimizer: z.enum(["adam", "sgd"]),
        lr: z.number().gt(0).max(100),
        epochs: positiveInt(1000),
        batchSize: positiveInt(65536),
        posWeight: z.number().gt(0).max(1000),
        idDropout: z.number().min(0).lt(1),
        dp: z
          .object({
            clipNorm: z.number().gt(0, { message: "clipNorm must be > 0" }).max(1e6),
            noiseMultiplier: z
              .number()
              .gt(0, { message: "noiseMultiplier must be > 0 (σ = 0 adds no noise: leave dp out instead)" })
              .max(1000),
            sampleRate: z
              .number()
              .gt(0, { message: "sampleRate must be in (0, 1]" })
              .max(1, { message: "sampleRate must be in (0, 1]" }),
            delta: z
              .number()
              .gt(0, { message: "delta must be in (0, 1)" })
              .lt(1, { message: "delta must be in (0, 1)" }),
            epsilonBudget: z.number().gt(0, { message: "epsilonBudget must be > 0" }).max(1e6),
            noise: z.enum(["csprng", "seeded-test-only"], {
              message: 'noise must be "csprng" or "seeded-test-only"',
            }),
          })
          .strict()
          .optional(),
      })
      .strict(),
    secureAggregation: z
      .object({
        threshold: z
          .number()
          .int()
          .min(2, { message: "threshold must be at least 2 (one share alone must never rebuild a secret)" })
          .max(1000),
        scaleBits: z.number().int().min(0).max(30),
        clip: z.number().gt(0, { message: "clip must be > 0" }).max(1e6),
      })
      .strict()
      .optional(),
  })
  .strict();

/** Raised when a spec does not validate. */
export class SpecError extends FedledgerError {
  constructor(message: string, source?: string) {
    super(`invalid model spec${source ? ` in ${source}` : ""}: ${message}`, {
      hint: "Write the spec with `fedledger train` or start from defaultSpec() (docs/model.md)",
    });
  }
}

/**
 * Validates an untrusted value (for example parsed JSON) as a {@link ModelSpec}.
 * @param source names the origin (a file path) in the error message.
 */
export function parseSpec(value: unknown, source?: string): ModelSpec {
  const result = specSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new SpecError(`${where}${issue.message}`, source);
  }
  return result.data as ModelSpec;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (JavaScript's default sort), no whitespace,
 * arrays in order, numbers and strings as JSON.stringify writes them.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new SpecError(`number ${value} has no JSON form`);
  }
  return JSON.stringify(value);
}

/**
 * The spec hash stored with a training task: 0x + SHA-256 (lowercase hex) of the UTF-8 bytes of the
 * spec's canonical JSON ({@link canonicalJson}).
 * @example specHash(defaultSpec()) // "0x…" (64 hex digits)
 */
export function specHash(spec: ModelSpec): string {
  return sha256Hex(specBytes(spec));
}

/**
 * The spec's canonical JSON as UTF-8 bytes: what {@link specHash} hashes, so a content store keeps the spec
 * under its on-chain spec hash (the aggregator stores it there for auditors).
 */
export function specBytes(spec: ModelSpec): Buffer {
  return Buffer.from(canonicalJson(parseSpec(spec)), "utf8");
}
