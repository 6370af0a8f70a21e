import { readFile } from "node:fs/promises";
import { UsageError } from "./errors";

/** What to tell the user when a JSON file cannot be read or parsed. */
export interface JsonFileHints {
  /** Message used instead of "cannot read … : no such file" when the file does not exist. */
  missingMessage?: string;
  /** Hint shown when the file is missing or unreadable. */
  missing?: string;
  /** Hint shown when the file is not valid JSON. */
  invalid?: string;
}

/** Where a JSON text first goes wrong, and how. */
export interface JsonSyntaxProblem {
  /** 1-based line and column (in UTF-16 code units) of the first offending character. */
  line: number;
  column: number;
  /** What is wrong, in words that quote nothing of the text. */
  problem: string;
}

class SyntaxAt {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

/** A strict JSON scanner (RFC 8259, what JSON.parse accepts) that only finds the first error. */
function scanJson(t: string): void {
  let i = 0;
  const fail = (problem: string, at = i): never => {
    throw new SyntaxAt(at, at >= t.length ? "the file ends too early" : problem);
  };
  const ws = () => {
    while (i < t.length && " \t\n\r".includes(t[i])) i++;
  };
  const literal = (word: string) => {
    if (t.startsWith(word, i)) i += word.length;
    else fail("unexpected character (a value should start here)");
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= t.length) fail("a string is not closed");
      const c = t.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fail("a control character (such as a line break) inside a string");
      if (c === 0x5c) {
        const e = t[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) fail("a bad \\u escape in a string");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail("a bad escape in a string");
      } else i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(t.slice(i, i + 400));
    if (!m || m[0] === "-") fail("a malformed number");
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail("nesting too deep");
    ws();
    const c = t[i];
    if (c === "{") {
      i++;
      ws();
      if (t[i] === "}") return void i++;
      for (;;) {
        ws();
        if (t[i] !== '"') fail("expected a property name in double quotes");
        string();
        ws();
        if (t[i] !== ":") fail("expected ':' after a property name");
        i++;
        value(depth + 1);
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "}") return void i++;
        else fail("expected ',' or '}' in an object");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (t[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "]") return void i++;
        else fail("expected ',' or ']' in a list");
      }
    }
    if (c === '"') return string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "\uFEFF") fail("the file starts with a byte-order mark");
    fail("unexpected character (a value should start here)");
  };
  value(0);
  ws();
  if (i < t.length) fail("unexpected text after the end of the JSON value");
}

/**
 * Says where and how a text that JSON.parse refused goes wrong, without quoting any of it (the file may hold a
 * password). Returns undefined when the text is valid JSON.
 *
 * @example
 * describeJsonSyntax('{"a": 1,}'); // { line: 1, column: 9, problem: "expected a property name in double quotes" }
 */
export function describeJsonSyntax(text: string): JsonSyntaxProblem | undefined {
  try {
    scanJson(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof SyntaxAt)) throw err;
    const before = text.slice(0, err.offset);
    const lines = before.split("\n");
    return { line: lines.length, column: lines[lines.length - 1].length + 1, problem: err.problem };
  }
}

/**
 * Reads a JSON file that a user supplied (a config, a deployment file) and parses it, without validating its
 * shape. Every failure is a UsageError naming the file as the caller gave it: missing, unreadable, or not JSON
 * (with the line, column and kind of the first syntax error). No message quotes the file's content.
 *
 * @param what how to call the file in messages, e.g. "the site config"
 * @example
 * const json = await readJsonFile("site.json", "the site config", { missing: "Pass --config <file>" });
 */
export async function readJsonFile(file: string, what: string, hints: JsonFileHints = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && hints.missingMessage) throw new UsageError(hints.missingMessage, hints.missing);
    const reasons: Record<string, string> = {
      ENOENT: "no such file",
      EACCES: "permission denied",
      EPERM: "permission denied",
      EISDIR: "it is a directory",
    };
    const reason = (code && reasons[code]) ?? code ?? "read error";
    throw new UsageError(`cannot read ${what} ${file}: ${reason}`, hints.missing);
  }
  try {
    return JSON.parse(text);
  } catch {
    const at = describeJsonSyntax(text);
    const where = at ? `: ${at.problem} at line ${at.line}, column ${at.column}` : "";
    throw new UsageError(
      `${what} ${file} is not valid JSON${where}`,
      hints.invalid ??
        "Fix the JSON there (a missing comma, quote or bracket is the usual cause); the content is not shown",
    );
  }
}
