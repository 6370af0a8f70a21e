import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/** Prefix of temporary files; readers skip names that start with it. */
export const TEMP_PREFIX = ".tmp-";

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeTemp(dir: string, data: Uint8Array | string): Promise<string> {
  const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}`);
  const handle = await fs.open(temp, "wx", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  return temp;
}

/**
 * Writes a file so that it is on disk when the promise resolves: a temporary file in the same directory is
 * written and fsynced, renamed over `file`, and the directory is fsynced. Readers see the old file or the new
 * one, never a partial one.
 */
export async function writeFileDurably(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(file);
  const temp = await writeTemp(dir, data);
  try {
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/**
 * Like {@link writeFileDurably}, but only when `file` does not exist yet (the temporary file is hard-linked to
 * its name, which fails atomically when the name is taken). Resolves true when this call created the file.
 */
export async function createFileDurably(file: string, data: Uint8Array | string): Promise<boolean> {
  const dir = path.dirname(file);
  const temp = await writeTemp(dir, data);
  let created = true;
  try {
    await fs.link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    created = false;
  } finally {
    await fs.rm(temp, { force: true });
  }
  await syncDir(dir);
  return created;
}
