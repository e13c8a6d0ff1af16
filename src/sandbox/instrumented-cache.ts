/**
 * Instrumented modules on disk, so the metering pass over a module runs once per machine instead
 * of once per worker process: the QuickJS engine (500 KB, ~0.7 s of CPU) and the code of every
 * wasm function (a few MB of it is a few hundred ms).
 *
 * The file name is a digest of everything the instrumented bytes depend on: the module's own
 * bytes (for a function, as prepared: with its memory limit applied), the weight-table version
 * and the metering code itself (every non-test file of src/metering, so any change to the
 * instrumenter makes a new key). The file holds the SHA-256 of its payload followed by the
 * payload; a file whose payload does not match is removed and rebuilt, never used. Files are
 * created whole or not at all (createFileOnce: racing workers share the first one written), and
 * workers loading the same module together run the pass once (a lock file). Where a kind of
 * module has a size bound, each new file is followed by removing that kind's least recently used
 * files (a hit refreshes a file's time) until the rest fit.
 *
 * Where the guarantee stops: the cache trusts whoever can write the data directory (as the store
 * does); the digest catches torn or corrupted files, not a deliberate replacement.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { instrument, WEIGHTS_VERSION } from "../metering/index.js";
import { createFileOnce, isErrnoException } from "../shared/files.js";
import { log } from "../shared/log.js";

const DIGEST_BYTES = 32;
const METERING_DIR = fileURLToPath(new URL("../metering/", import.meta.url));

/** Where a worker keeps its caches under its data directory. */
export const cacheDirOf = (dataDir: string): string => join(dataDir, "cache");

/** One kind of cached module: its files are `<dir>/<name>-<key>.wasm`. */
export interface ModuleCache {
  dir: string;
  name: string;
  /** Bound on the total size of this kind's files; unbounded without. */
  maxBytes?: number;
}

const sha256 = (...parts: Array<Uint8Array | string>) => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

let codeDigest: Promise<Buffer> | undefined;

/** The instrumenter's code: its source (or built) files, test files excluded, by name and content; read once per process. */
function meteringCodeDigest(): Promise<Buffer> {
  codeDigest ??= (async () => {
    const names = (await fs.readdir(METERING_DIR)).filter((name) => /\.(ts|js|mjs)$/.test(name) && !/\.test\./.test(name)).sort();
    const hash = createHash("sha256");
    for (const name of names) hash.update(`${name}\0`).update(sha256(await fs.readFile(join(METERING_DIR, name))));
    return hash.digest();
  })();
  codeDigest.catch(() => (codeDigest = undefined));
  return codeDigest;
}

/** The cache file for these module bytes and this instrumenter. */
export async function cacheFileFor(cache: ModuleCache, original: Uint8Array): Promise<string> {
  const key = sha256(sha256(original), `weights:${WEIGHTS_VERSION}`, await meteringCodeDigest()).toString("hex");
  return join(cache.dir, `${cache.name}-${key.slice(0, 32)}.wasm`);
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
  log.warn("discarding a corrupt instrumented-module cache file", { path });
  await fs.rm(path, { force: true });
  return undefined;
}

export interface InstrumentedModule {
  bytes: Uint8Array<ArrayBuffer>;
  /** Whether the bytes came from the cache or this call ran the metering pass. */
  from: "cache" | "instrumented";
}

/**
 * `original` instrumented: from `cache` when a valid file is there, else instrumented now and
 * written there (a failure to read or write the cache is logged, never fatal). Malformed code
 * fails as `instrument` fails, and leaves nothing in the cache.
 */
export async function instrumentedModule(original: Uint8Array, cache: ModuleCache | undefined): Promise<InstrumentedModule> {
  if (cache === undefined) return { bytes: instrument(original).bytes, from: "instrumented" };
  const path = await cacheFileFor(cache, original);
  const cached = await readVerified(path).catch((error: unknown) => {
    log.warn("cannot read the instrumented-module cache", { path, error });
    return undefined;
  });
  if (cached !== undefined) {
    // Recently used: kept longest when the kind's files are pruned.
    const now = new Date();
    await fs.utimes(path, now, now).catch(() => undefined);
    return { bytes: cached, from: "cache" };
  }
  const claim = await claimInstrumenting(path);
  if (claim === "another") {
    const theirs = await waitForFile(path);
    if (theirs !== undefined) return { bytes: theirs, from: "cache" };
  }
  try {
    const bytes = instrument(original).bytes;
    try {
      await fs.mkdir(cache.dir, { recursive: true, mode: 0o700 });
      await createFileOnce(path, Buffer.concat([sha256(bytes), bytes]));
      if (cache.maxBytes !== undefined) await prune(cache, cache.maxBytes);
    } catch (error) {
      log.warn("cannot write the instrumented-module cache", { path, error });
    }
    return { bytes, from: "instrumented" };
  } finally {
    if (claim === "mine") await fs.rm(`${path}.lock`, { force: true });
  }
}

/** Removes the kind's least recently used files until the rest fit in `maxBytes`. */
async function prune(cache: ModuleCache, maxBytes: number): Promise<void> {
  const names = (await fs.readdir(cache.dir)).filter((name) => name.startsWith(`${cache.name}-`) && name.endsWith(".wasm"));
  const files = [];
  for (const name of names) {
    const stat = await fs.stat(join(cache.dir, name)).catch(() => undefined);
    if (stat !== undefined) files.push({ name, size: stat.size, used: stat.mtimeMs });
  }
  files.sort((a, b) => b.used - a.used);
  let kept = 0;
  for (const file of files) {
    kept += file.size;
    if (kept > maxBytes) await fs.rm(join(cache.dir, file.name), { force: true });
  }
}

/** How long a process waits for another one's metering pass (~0.3–0.5 s for QuickJS) before doing its own. */
const WAIT_FOR_OTHER_MS = 5_000;
/** A lock older than this was left by a process that died while instrumenting. */
const STALE_LOCK_MS = 60_000;

/**
 * Workers that load a module together on a machine without the cache would all run the metering pass;
 * the first to create `<file>.lock` runs it, the others wait for its file. The lock only saves
 * CPU: whatever happens to it, every process still gets correct bytes (waiting is bounded, then
 * a process instruments the module itself).
 */
async function claimInstrumenting(path: string): Promise<"mine" | "another" | "unlocked"> {
  const lock = `${path}.lock`;
  try {
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const stat = await fs.stat(lock).catch(() => undefined);
    if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_LOCK_MS) await fs.rm(lock, { force: true });
    await (await fs.open(lock, "wx", 0o600)).close();
    return "mine";
  } catch (error) {
    return isErrnoException(error) && error.code === "EEXIST" ? "another" : "unlocked";
  }
}

async function waitForFile(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const until = Date.now() + WAIT_FOR_OTHER_MS;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const bytes = await readVerified(path).catch(() => undefined);
    if (bytes !== undefined) return bytes;
    if (!(await fs.stat(`${path}.lock`).then(() => true, () => false))) return readVerified(path).catch(() => undefined);
  }
  return undefined;
}
