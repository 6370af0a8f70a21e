/**
 * Secure aggregation for fedledger rounds: the round context and key derivations, the mask stream, fixed-point
 * quantisation, Shamir sharing, and the protocol's steps for sites, the aggregator and the auditor.
 * docs/secure-aggregation.md specifies every byte.
 *
 * @example
 * import { createRoundSecrets, advertiseKeys, shareSecrets, maskUpdate, unmaskSum } from "../secagg";
 */
export {
  addressBytes,
  contextBytes,
  deriveKey,
  pairwiseSeed,
  shareKey,
  sortSites,
  x25519,
  x25519PublicKey,
  type SecAggContext,
} from "./context";
export { addMask, maskStream } from "./prg";
export {
  checkCapacity,
  cryptoUniform,
  dequantizeMean,
  quantize,
  type QuantizationParameters,
  type UniformSource,
} from "./quantize";
export {
  FIELD_PRIME,
  fromBytes32,
  randomFieldElement,
  reconstruct,
  ShareMismatchError,
  split,
  toBytes32,
  type Share,
} from "./shamir";
export {
  ADVERTISEMENT_TYPES,
  advertiseKeys,
  applyMasks,
  advertisementDigest,
  answerUnmasking,
  buildUnmaskingMaterial,
  checkAdvertisement,
  checkMaterial,
  createRoundSecrets,
  maskUpdate,
  MESSAGE_TYPES,
  messageBodyHash,
  messageSigner,
  openShare,
  SecAggError,
  selfMaskCommitment,
  shareSecrets,
  signMessage,
  unmaskSum,
  type EncryptedShare,
  type HeldShare,
  type KeyAdvertisement,
  type SecAggMessageStage,
  type SecAggErrorCode,
  type SecAggParameters,
  type SiteRoundSecrets,
  type UnmaskingAnswer,
  type UnmaskingMaterial,
  type UnmaskingRequest,
} from "./protocol";
export {
  aggregateMasked,
  maskDelta,
  maskedLayout,
  MASKED_TENSOR,
  readMasked,
  SECURE_RULES,
  type MaskedInput,
} from "./maskedUpdate";
export {
  parseAdvertisement,
  parseAnswerMessage,
  parseMaterial,
  parseSharesForSite,
  parseSharesMessage,
  parseUnmaskingRequest,
  type Parsed,
} from "./messages";
