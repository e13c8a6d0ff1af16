/**
 * The instrumented QuickJS engine on disk, so the metering pass over the 500 KB engine (~0.7 s of
 * CPU) runs once per machine instead of once per worker process.
 *
 * The file name is a digest of everything the instrumented bytes depend on: the engine's own
 * bytes, the weight-table version and the metering code itself (every non-test file of
 * src/metering, so any change to the instrumenter makes a new key). The file holds the SHA-256
 * of its payload followed by the payload; a file whose payload does not match is removed and
 * rebuilt, never used. Files are created whole or not at all (createFileOnce: racing workers
 * share the first one written).
 *
 * Where the guarantee stops: the cache trusts whoever can write the data directory (as the store
 * does); the digest catches torn or corrupted files, not a deliberate replacement.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { instrument, WEIGHTS_VERSION } from "../../../metering/index.js";
import { createFileOnce, isErrnoException } from "../../../shared/files.js";
import { log } from "../../../shared/log.js";

const DIGEST_BYTES = 32;
const METERING_DIR = fileURLToPath(new URL("../../../metering/", import.meta.url));

const sha256 = (...parts: Array<Uint8Array | string>) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** The instrumenter's code: its source (or built) files, test files excluded, by name and content. */
async function meteringCodeDigest(): Promise<Buffer> {
  const names = (await fs.readdir(METERING_DIR)).filter((name) => /\.(ts|js|mjs)$/.test(name) && !/\.test\./.test(name)).sort();
  const hash = createHash("sha256");
  for (const name of names) hash.update(`${name}\0`).update(sha256(await fs.readFile(join(METERING_DIR, name))));
  return hash.digest();
}

/** The cache file for these engine bytes and this instrumenter. */
export async function cacheFileFor(cacheDir: string, engine: Uint8Array): Promise<string> {
  const key = sha256(sha256(engine), `weights:${WEIGHTS_VERSION}`, await meteringCodeDigest()).toString("hex");
  return join(cacheDir, `quickjs-metered-${key.slice(0, 32)}.wasm`);
}

/** The payload of a cache file, or undefined when it is missing or does not match its digest. */
async function readVerified(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  let file: Buffer;
  try {
    file = await fs.readFile(path);
  } catch (error) {
    if (isErrnoException(error) && error.code === "ENOENT") return undefined;
    throw error;
  }
  const payload = file.subarray(DIGEST_BYTES);
  if (file.length > DIGEST_BYTES && sha256(payload).equals(file.subarray(0, DIGEST_BYTES))) return new Uint8Array(payload);
  log.warn("discarding a corrupt QuickJS engine cache file", { path });
  await fs.rm(path, { force: true });
  return undefined;
}

export interface MeteredEngine {
  bytes: Uint8Array<ArrayBuffer>;
  /** Whether the bytes came from the cache or this call ran the metering pass. */
  from: "cache" | "instrumented";
}

/**
 * The instrumented engine for `engine` (the package's .wasm bytes): from `cacheDir` when a valid
 * file is there, else instrumented now and written there (a failure to write is logged, not fatal).
 */
export async function meteredEngineBytes(engine: Uint8Array, cacheDir: string | undefined): Promise<MeteredEngine> {
  if (cacheDir === undefined) return { bytes: instrument(engine).bytes, from: "instrumented" };
  const path = await cacheFileFor(cacheDir, engine);
  const cached = await readVerified(path).catch((error: unknown) => {
    log.warn("cannot read the QuickJS engine cache", { path, error });
    return undefined;
  });
  if (cached !== undefined) return { bytes: cached, from: "cache" };
  const bytes = instrument(engine).bytes;
  try {
    await fs.mkdir(cacheDir, { recursive: true, mode: 0o700 });
    await createFileOnce(path, Buffer.concat([sha256(bytes), bytes]));
  } catch (error) {
    log.warn("cannot write the QuickJS engine cache", { path, error });
  }
  return { bytes, from: "instrumented" };
}
