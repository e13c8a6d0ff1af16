/** Durability helpers for files whose loss or tearing after an acknowledged write would be a bug. */
import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import { dirname } from "node:path";

/** Makes a rename or link inside `directory` durable: the entry itself lives in the directory's data. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await fs.open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string";
}

/**
 * Creates `path` (mode 0600) holding `content`, unless it already exists. The bytes go to a
 * temporary file that is fsynced and then hard-linked into place — a link fails rather than
 * overwrites, so when processes race, the first one's file wins and nobody ever reads a torn
 * one. Returns whether this call created the file.
 */
export async function createFileOnce(path: string, content: Uint8Array | string): Promise<boolean> {
  const temporary = `${path}.${randomBytes(8).toString("hex")}.tmp`;
  const handle = await fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temporary, path);
  } catch (error) {
    if (!isErrnoException(error) || error.code !== "EEXIST") throw error;
    return false;
  } finally {
    await fs.rm(temporary, { force: true });
  }
  await fsyncDirectory(dirname(path));
  return true;
}
