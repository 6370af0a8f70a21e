/**
 * Small helpers shared by the Norwegian, Swedish and Danish packs.
 */
import type { Forms } from "../pack";

/** Forms of a Scandinavian noun phrase: indefinite, definite and compound stem. */
export function sc(n: string, d: string, s: string = n): Forms {
  return { n, d, s };
}

/** Formats a date as dd.mm.yyyy (Norwegian and Danish notes). */
export function dottedDate(y: number, m: number, d: number): string {
  return `${String(d).padStart(2, "0")}.${String(m).padStart(2, "0")}.${y}`;
}
