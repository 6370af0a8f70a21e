/** Helpers that print command results, as text for people or as JSON for programs. */

/** JSON.stringify that writes bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === "bigint" ? item.toString() : item),
    2,
  );
}

/** Prints a value as JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** Prints lines of text on stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Prints aligned `key: value` rows. */
export function printFields(rows: [string, string | number | bigint | boolean][]): void {
  const width = Math.max(...rows.map(([key]) => key.length));
  printLines(...rows.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${String(value)}`));
}
