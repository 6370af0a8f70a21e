/**
 * Helpers of the end-to-end tests: small demo settings, a quiet output sink, and waiting for a JSON log line of
 * a child process (the aggregator and site services log one JSON object per event).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { parseDemoSettings, type DemoSettings } from "../../node/demo/options";
import type { ManagedProcess } from "../../node/demo/processes";

/** Demo settings small enough for a test: tiny notes sets, one local epoch, a 4,096-bucket model. */
export function smallDemoSettings(overrides: Partial<DemoSettings> & { out: string }): DemoSettings {
  return parseDemoSettings({
    sites: 3,
    rounds: 2,
    notesPerSite: 60,
    testNotesPerLang: 30,
    localEpochs: 1,
    buckets: 4096,
    pollIntervalMs: 300,
    skipBaselines: true,
    ...overrides,
  });
}

/** A stream that keeps what the demo prints, to show it when a test fails. */
export class CapturedOutput extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString("utf8");
    done();
  }
}

/** One parsed JSON log line. */
export type LogEvent = Record<string, unknown> & { event?: string };

/**
 * Resolves with the first JSON log line of `proc` (from now on) for which `match` holds; rejects after
 * `timeoutMs` or when the process exits first.
 */
export function waitForLogEvent(
  proc: ManagedProcess,
  match: (event: LogEvent) => boolean,
  timeoutMs = 60_000,
): Promise<LogEvent> {
  return new Promise((resolve, reject) => {
    let off: () => void = () => undefined;
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `${proc.name}: no matching log line within ${timeoutMs} ms; last lines:\n${proc.tail(5).join("\n")}`,
        ),
      );
    }, timeoutMs);
    off = proc.onLine((line) => {
      let event: LogEvent;
      try {
        event = JSON.parse(line) as LogEvent;
      } catch {
        return;
      }
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
    void proc.exited.then((exit) => {
      clearTimeout(timer);
      off();
      reject(new Error(`${proc.name} exited (${JSON.stringify(exit)}) before the awaited log line`));
    });
  });
}

/** SHA-256 (0x hex) of the object named `hash` in a content store folder, read straight from its file. */
export async function storedObjectHash(storeDir: string, hash: string): Promise<string> {
  const bytes = await readFile(path.join(storeDir, "objects", hash.replace(/^0x/, "").toLowerCase()));
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
