/**
 * Helpers of the end-to-end tests: small demo settings, a quiet output sink, and reading the store's files.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { parseDemoSettings, type DemoSettings } from "../../node/demo/options";

export { waitForLogEvent } from "../../node/demo/processes";

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

/** SHA-256 (0x hex) of the object named `hash` in a content store folder, read straight from its file. */
export async function storedObjectHash(storeDir: string, hash: string): Promise<string> {
  const bytes = await readFile(path.join(storeDir, "objects", hash.replace(/^0x/, "").toLowerCase()));
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
