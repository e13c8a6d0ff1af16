/** The instrumented-module cache: written once, reused, verified, rebuilt when damaged, pruned. */
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { instrument } from "../metering/index.js";
import { cacheDirOf, cacheFileFor, instrumentedModule, type ModuleCache } from "./instrumented-cache.js";
import { createWasmRuntime, useModuleCache } from "./wasm/index.js";

// Any module the metering pass accepts: the cache does not look inside.
const MODULE = wat(`(module (func (export "spin") (param i32) (result i32)
  (local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (local.get 0)))) (local.get $i)))`);
const OTHER_MODULE = wat(`(module (func (export "one") (result i32) (i32.const 1)))`);
/** Modules of distinct bytes, each its own cache file. */
const numbered = (n: number) => wat(`(module (func (export "n") (result i32) (i32.const ${n})))`);

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe("instrumented-module cache", () => {
  let dir: string;
  let cache: ModuleCache;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), "tfaas-module-cache-"));
    cache = { dir, name: "test-metered" };
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("instruments once, then serves the same bytes from the file", async () => {
    const first = await instrumentedModule(MODULE, cache);
    expect(first.from).toBe("instrumented");
    expect(same(first.bytes, instrument(MODULE).bytes)).toBe(true);
    const second = await instrumentedModule(MODULE, cache);
    expect(second.from).toBe("cache");
    expect(same(second.bytes, first.bytes)).toBe(true);
    expect(await fs.readdir(dir)).toEqual([(await cacheFileFor(cache, MODULE)).slice(dir.length + 1)]);
  });

  it("runs the metering pass once when processes load a module together: the others wait for its file", async () => {
    const results = await Promise.all([instrumentedModule(MODULE, cache), instrumentedModule(MODULE, cache), instrumentedModule(MODULE, cache)]);
    expect(results.map((result) => result.from).sort()).toEqual(["cache", "cache", "instrumented"]);
    for (const result of results) expect(same(result.bytes, results[0]!.bytes)).toBe(true);
    expect((await fs.readdir(dir)).filter((name) => name.endsWith(".lock"))).toEqual([]);
  });

  it("ignores a lock left by a process that died while instrumenting", async () => {
    const lock = `${await cacheFileFor(cache, MODULE)}.lock`;
    await fs.writeFile(lock, "");
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(lock, old, old);
    const started = performance.now();
    expect((await instrumentedModule(MODULE, cache)).from).toBe("instrumented");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await instrumentedModule(MODULE, cache)).from).toBe("cache");
  });

  it("keys the file by the module's bytes and by the kind's name", async () => {
    expect(await cacheFileFor(cache, MODULE)).not.toBe(await cacheFileFor(cache, OTHER_MODULE));
    expect(await cacheFileFor(cache, MODULE)).not.toBe(await cacheFileFor({ dir, name: "other-metered" }, MODULE));
    await instrumentedModule(MODULE, cache);
    expect((await instrumentedModule(OTHER_MODULE, cache)).from).toBe("instrumented");
  });

  it("never uses a damaged file: it is removed and rebuilt", async () => {
    const good = await instrumentedModule(MODULE, cache);
    const path = await cacheFileFor(cache, MODULE);
    const file = await fs.readFile(path);
    file[file.length - 10]! ^= 0xff;
    await fs.writeFile(path, file);
    const again = await instrumentedModule(MODULE, cache);
    expect(again.from).toBe("instrumented");
    expect(same(again.bytes, good.bytes)).toBe(true);
    expect((await instrumentedModule(MODULE, cache)).from).toBe("cache");
    await fs.writeFile(path, file.subarray(0, 16));
    expect((await instrumentedModule(MODULE, cache)).from).toBe("instrumented");
  });

  it("still answers when the directory cannot be written", async () => {
    const blocked = join(dir, "file-not-dir");
    await fs.writeFile(blocked, "x");
    const result = await instrumentedModule(MODULE, { dir: join(blocked, "cache"), name: "test-metered" });
    expect(result.from).toBe("instrumented");
    expect(same(result.bytes, instrument(MODULE).bytes)).toBe(true);
  });

  it("leaves nothing behind for code the metering pass rejects", async () => {
    const truncated = MODULE.subarray(0, MODULE.length - 3);
    await expect(instrumentedModule(truncated, cache)).rejects.toMatchObject({ code: "invalid-artifact" });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it("keeps a bounded kind to its most recently used files", async () => {
    const size = async (n: number) => (await fs.stat(await cacheFileFor(cache, numbered(n)))).size;
    await instrumentedModule(numbered(1), cache);
    const fileBytes = await size(1);
    // Room for two files of this size; every file here is within a few bytes of the first.
    const bounded = { ...cache, maxBytes: 2 * fileBytes + 8 };
    const age = async (n: number, secondsAgo: number) => {
      const when = new Date(Date.now() - secondsAgo * 1000);
      await fs.utimes(await cacheFileFor(cache, numbered(n)), when, when);
    };
    await instrumentedModule(numbered(2), bounded);
    await age(1, 30);
    await age(2, 20);
    // A hit makes module 1 the most recently used, so module 2 goes when module 3 arrives.
    expect((await instrumentedModule(numbered(1), bounded)).from).toBe("cache");
    expect((await instrumentedModule(numbered(3), bounded)).from).toBe("instrumented");
    const left = await fs.readdir(dir);
    const fileOf = async (n: number) => (await cacheFileFor(cache, numbered(n))).slice(dir.length + 1);
    expect(left.sort()).toEqual([await fileOf(1), await fileOf(3)].sort());
    expect((await instrumentedModule(numbered(2), bounded)).from).toBe("instrumented");
  });

  it("serves a wasm function's code to the runtime, which runs it metered as if instrumented itself", async () => {
    const command = wat(`(module (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))`);
    const request = { method: "GET", path: "/", query: "", headers: {}, body: new Uint8Array() };
    const context = { env: {}, secrets: new Map(), maxOutputBytes: 1024, fuelLimit: undefined };
    const fuelOf = async () => (await (await createWasmRuntime().prepare(command, { abi: "stdio" })).invoke(request, context)).usage.fuel;
    const uncached = await fuelOf();
    useModuleCache(cacheDirOf(dir));
    try {
      expect(await fuelOf()).toBe(uncached);
      const files = await fs.readdir(cacheDirOf(dir));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^wasm-metered-[0-9a-f]{32}\.wasm$/);
      // The second worker to load it reads the file (a hit refreshes its time) and bills the same.
      const path = join(cacheDirOf(dir), files[0]!);
      const old = new Date(Date.now() - 3_600_000);
      await fs.utimes(path, old, old);
      expect(await fuelOf()).toBe(uncached);
      expect((await fs.stat(path)).mtimeMs).toBeGreaterThan(old.getTime() + 60_000);
    } finally {
      useModuleCache(undefined);
    }
    expect(uncached).toBeGreaterThan(1000n);
  });
});
