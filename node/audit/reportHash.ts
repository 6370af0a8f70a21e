import { canonicalJson } from "../fl";
import type { AuditReport } from "./auditReport";
import { sha256Hex } from "../sha256";

/**
 * The hash that identifies a report on the chain (`recordAudit`'s reportHash): SHA-256 of the report's
 * canonical JSON (sorted keys, no whitespace, absent fields left out), as bytes32 hex. Anyone holding the JSON
 * report recomputes it.
 *
 * @example
 * reportHash(report); // "0x…"
 */
export function reportHash(report: AuditReport): string {
  const plain = JSON.parse(JSON.stringify(report)) as unknown;
  return sha256Hex(canonicalJson(plain));
}
