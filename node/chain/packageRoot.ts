import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

let cached: string | undefined;

/**
 * The directory holding fedledger's package.json (and hardhat.config.ts), found by walking up from this
 * file. The embedded chain runs Hardhat with this directory as its working directory.
 *
 * @example
 * const root = packageRoot(); // "/opt/fedledger"
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown };
      if (parsed.name === "fedledger") {
        cached = dir;
        return dir;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find fedledger's package.json above ${__dirname}`);
    dir = parent;
  }
}
