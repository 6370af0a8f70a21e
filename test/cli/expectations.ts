import { expect } from "chai";
import type { CliResult } from "../helpers/cli";

/** Asserts a successful run and returns its stdout. */
export function expectSuccess(res: CliResult): string {
  expect(res.code, `exit code (stderr: ${res.stderr})`).to.equal(0);
  return res.stdout;
}

/** Asserts a successful run and parses its stdout as JSON. */
export function expectJson<T = Record<string, unknown>>(res: CliResult): T {
  return JSON.parse(expectSuccess(res)) as T;
}

/**
 * Asserts that a run failed with `code` and printed exactly one line on stderr, starting with "error: ",
 * matching `pattern`, and without a stack trace.
 */
export function expectOneLineError(res: CliResult, code: number, pattern: RegExp): string {
  expect(res.code, `exit code (stdout: ${res.stdout}, stderr: ${res.stderr})`).to.equal(code);
  const lines = res.stderr.split("\n").filter((line) => line !== "");
  expect(lines, `stderr: ${res.stderr}`).to.have.length(1);
  expect(lines[0]).to.match(/^error: /);
  expect(lines[0]).to.match(pattern);
  expect(res.stderr).not.to.match(/\n\s+at /);
  return lines[0];
}
