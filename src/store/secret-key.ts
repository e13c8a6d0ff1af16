/**
 * The key that encrypts secrets at rest: 32 random bytes in a file only its owner may access.
 * Created once, atomically (written to a temporary file, then hard-linked into place, which fails
 * rather than overwrites if another process won the race), so a crash never leaves a short key.
 *
 * Guarantee stops here: anyone who can read this file (root, the owner, a backup) can decrypt
 * every secret in the database; keeping the file and the database apart is the operator's job.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { TfaasError } from "../shared/errors.js";
import { createFileOnce, isErrnoException } from "../shared/files.js";

export const SECRET_KEY_BYTES = 32;

/** Reads the key at `path`, creating it first when it does not exist. */
export async function loadOrCreateSecretKey(path: string): Promise<Buffer> {
  try {
    return await readSecretKey(path);
  } catch (error) {
    if (!isErrnoException(error) || error.code !== "ENOENT") throw error;
  }
  await createSecretKey(path);
  return readSecretKey(path);
}

async function createSecretKey(path: string): Promise<void> {
  // Another process may create the key first; then theirs is the key.
  await createFileOnce(path, randomBytes(SECRET_KEY_BYTES));
}

async function readSecretKey(path: string): Promise<Buffer> {
  const handle = await fs.open(path, "r");
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new TfaasError("internal", `Cannot use secrets key ${path}: current file type is not a regular file`);
    }
    if ((stat.mode & 0o077) !== 0) {
      throw new TfaasError(
        "internal",
        `Cannot use secrets key ${path}: current mode is ${(stat.mode & 0o777).toString(8).padStart(4, "0")}, ` +
          "but only its owner may access it (chmod 600)",
      );
    }
    if (stat.size !== SECRET_KEY_BYTES) {
      throw new TfaasError(
        "internal",
        `Cannot use secrets key ${path}: current size is ${stat.size} bytes, expected ${SECRET_KEY_BYTES}`,
      );
    }
    const key = Buffer.alloc(SECRET_KEY_BYTES);
    const { bytesRead } = await handle.read(key, 0, SECRET_KEY_BYTES, 0);
    if (bytesRead !== SECRET_KEY_BYTES) {
      throw new TfaasError("internal", `Cannot use secrets key ${path}: current readable length is ${bytesRead} bytes`);
    }
    return key;
  } finally {
    await handle.close();
  }
}
