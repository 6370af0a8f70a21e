/**
 * Signed uploads: EIP-712 typed data that binds an upload to one chain, one ledger, one task and round, one
 * update hash, sample count and metrics hash. A site signs with its registered key; the aggregator recovers the
 * signer and compares it with the site's on-chain identity.
 */
import {
  isHexString,
  TypedDataEncoder,
  verifyTypedData,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/** The EIP-712 type of a signed upload. */
export const UPDATE_TYPES: Record<string, TypedDataField[]> = {
  Update: [
    { name: "taskId", type: "uint256" },
    { name: "round", type: "uint32" },
    { name: "updateHash", type: "bytes32" },
    { name: "numSamples", type: "uint64" },
    { name: "metricsHash", type: "bytes32" },
  ],
};

/** Where a signature is valid: one chain and one TrainingLedger. */
export interface UpdateDomainParameters {
  chainId: bigint | number;
  /** The TrainingLedger address. */
  ledger: string;
}

/** The signed fields of an upload. */
export interface UpdateMessage {
  taskId: bigint | number;
  round: bigint | number;
  /** SHA-256 of the update bytes (bytes32 hex). */
  updateHash: string;
  numSamples: bigint | number;
  /** SHA-256 of the canonical metrics JSON (bytes32 hex). */
  metricsHash: string;
}

/** Anything that signs EIP-712 data (an ethers Wallet or JsonRpcSigner). */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The EIP-712 domain: name "fedledger", version "1", the chain id and the ledger address. */
export function updateDomain(params: UpdateDomainParameters): TypedDataDomain {
  return {
    name: "fedledger",
    version: "1",
    chainId: BigInt(params.chainId),
    verifyingContract: params.ledger,
  };
}

function toValue(msg: UpdateMessage): Record<string, unknown> {
  for (const [k, v] of [
    ["updateHash", msg.updateHash],
    ["metricsHash", msg.metricsHash],
  ] as const) {
    if (!isHexString(v, 32)) throw new RangeError(`${k} "${v}" is not 32-byte hex`);
  }
  return {
    taskId: BigInt(msg.taskId),
    round: BigInt(msg.round),
    updateHash: msg.updateHash,
    numSamples: BigInt(msg.numSamples),
    metricsHash: msg.metricsHash,
  };
}

/**
 * Signs an upload. Returns the 65-byte signature as 0x-prefixed hex.
 *
 * @example
 * const sig = await signUpdate(siteWallet, { chainId: 31337, ledger }, { taskId: 1, round: 1, updateHash, numSamples: 500, metricsHash });
 */
export function signUpdate(
  signer: TypedDataSigner,
  domain: UpdateDomainParameters,
  message: UpdateMessage,
): Promise<string> {
  return signer.signTypedData(updateDomain(domain), UPDATE_TYPES, toValue(message));
}

/**
 * Recovers the address that signed an upload. Throws when the signature is malformed; a well-formed signature
 * over other fields recovers to some other address, so compare the result with the claimed site.
 */
export function recoverUpdateSigner(
  domain: UpdateDomainParameters,
  message: UpdateMessage,
  signature: string,
): string {
  return verifyTypedData(updateDomain(domain), UPDATE_TYPES, toValue(message), signature);
}

/** The EIP-712 digest of an upload (what the key signs), for logs and independent checks. */
export function updateDigest(domain: UpdateDomainParameters, message: UpdateMessage): string {
  return TypedDataEncoder.hash(updateDomain(domain), UPDATE_TYPES, toValue(message));
}
