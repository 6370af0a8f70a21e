import { createHash } from "node:crypto";

/**
 * SHA-256 as the project writes it everywhere (object hashes, spec hashes, metrics and report hashes): `0x`
 * followed by 64 lower-case hex digits. A string is hashed as its UTF-8 bytes.
 *
 * @example
 * sha256Hex(new Uint8Array([1, 2, 3])); // "0x039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81"
 * sha256Hex("abc"); // "0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 */
export function sha256Hex(data: Uint8Array | string): string {
  const hash = createHash("sha256");
  if (typeof data === "string") hash.update(data, "utf8");
  else hash.update(data);
  return `0x${hash.digest("hex")}`;
}
