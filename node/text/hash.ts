/**
 * 32-bit FNV-1a over the UTF-8 bytes of strings, the hash behind every feature id.
 *
 * FNV-1a: start from the offset basis 0x811c9dc5; for each byte b: h = h XOR b, then h = h * 0x01000193
 * modulo 2^32. Strings are hashed as their UTF-8 encoding, computed on the fly (no buffer). Because FNV-1a
 * consumes bytes in order, hashing "ab" equals continuing the hash of "a" with "b": feature strings are
 * built by chaining {@link fnv1aContinue} calls without concatenating.
 */

/** FNV-1a 32-bit offset basis. */
export const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Continues an FNV-1a hash state `h` with one Unicode code point, encoded as UTF-8. */
export function fnv1aCodePoint(h: number, cp: number): number {
  if (cp < 0x80) return Math.imul(h ^ cp, FNV_PRIME);
  if (cp < 0x800) {
    h = Math.imul(h ^ (0xc0 | (cp >> 6)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
  }
  if (cp < 0x10000) {
    h = Math.imul(h ^ (0xe0 | (cp >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
    return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
  }
  h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
  h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
  return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
}

/** Continues an FNV-1a hash state `h` with the UTF-8 bytes of `s`. Lone surrogates hash as U+FFFD. */
export function fnv1aContinue(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    h = fnv1aCodePoint(h, cp);
  }
  return h;
}

/**
 * FNV-1a 32-bit hash of the UTF-8 encoding of `s`, as an unsigned integer.
 *
 * @example fnv1a("a") // 0xe40c292c
 */
export function fnv1a(s: string): number {
  return fnv1aContinue(FNV_OFFSET, s) >>> 0;
}
