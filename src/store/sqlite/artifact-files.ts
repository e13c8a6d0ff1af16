/**
 * Content-addressed artifact files: `<root>/<hex>`. A file appears under its final name only
 * once its bytes are on disk (temporary file in the same directory, fsync, rename, fsync the
 * directory), so a crash leaves either the whole file or none of it, never a prefix.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import { join } from "node:path";
import { fsyncDirectory, isErrnoException } from "../../shared/files.js";

const TEMPORARY_PREFIX = ".tmp-";
/** Temporaries this old belong to a writer that crashed, not to one still writing. */
const STALE_TEMPORARY_MS = 60 * 60 * 1000;

export class ArtifactFiles {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  pathOf(hex: string): string {
    return join(this.#root, hex);
  }

  /** True when a file of the expected size is already in place (a previous put, maybe before a crash). */
  async has(hex: string, size: number): Promise<boolean> {
    try {
      const stat = await fs.stat(this.pathOf(hex));
      return stat.isFile() && stat.size === size;
    } catch (error) {
      if (isErrnoException(error) && error.code === "ENOENT") return false;
      throw error;
    }
  }

  async write(hex: string, bytes: Uint8Array): Promise<void> {
    const temporary = join(this.#root, `${TEMPORARY_PREFIX}${hex}-${randomBytes(8).toString("hex")}`);
    try {
      const handle = await fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // Concurrent writers of the same digest rename identical bytes onto one name; the last one wins harmlessly.
      await fs.rename(temporary, this.pathOf(hex));
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
    await fsyncDirectory(this.#root);
  }

  /** The file's bytes, or undefined when it is missing. */
  async read(hex: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.pathOf(hex));
    } catch (error) {
      if (isErrnoException(error) && error.code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Removes temporaries left behind by writers that crashed mid-write. */
  async removeStaleTemporaries(now: number = Date.now()): Promise<void> {
    for (const name of await fs.readdir(this.#root)) {
      if (!name.startsWith(TEMPORARY_PREFIX)) continue;
      const path = join(this.#root, name);
      const stat = await fs.stat(path).catch(() => undefined);
      if (stat !== undefined && now - stat.mtimeMs > STALE_TEMPORARY_MS) await fs.rm(path, { force: true });
    }
  }
}
