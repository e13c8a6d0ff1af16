/** The instrumented engine cache: written once, reused, verified, rebuilt when damaged. */
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { wat } from "../../../../test/fixtures/wasm/wat.js";
import { instrument } from "../../../metering/index.js";
import { cacheFileFor, meteredEngineBytes } from "./engine-cache.js";

// A stand-in engine: any module the metering pass accepts; the cache does not look inside.
const ENGINE = wat(`(module (func (export "spin") (param i32) (result i32)
  (local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (local.get 0)))) (local.get $i)))`);
const OTHER_ENGINE = wat(`(module (func (export "one") (result i32) (i32.const 1)))`);

describe("quickjs engine cache", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), "tfaas-engine-cache-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("instruments once, then serves the same bytes from the file", async () => {
    const first = await meteredEngineBytes(ENGINE, dir);
    expect(first.from).toBe("instrumented");
    expect(Buffer.from(first.bytes).equals(Buffer.from(instrument(ENGINE).bytes))).toBe(true);
    const second = await meteredEngineBytes(ENGINE, dir);
    expect(second.from).toBe("cache");
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
    expect(await fs.readdir(dir)).toEqual([(await cacheFileFor(dir, ENGINE)).slice(dir.length + 1)]);
  });

  it("runs the metering pass once when processes start together: the others wait for its file", async () => {
    const results = await Promise.all([meteredEngineBytes(ENGINE, dir), meteredEngineBytes(ENGINE, dir), meteredEngineBytes(ENGINE, dir)]);
    expect(results.map((result) => result.from).sort()).toEqual(["cache", "cache", "instrumented"]);
    for (const result of results) expect(Buffer.from(result.bytes).equals(Buffer.from(results[0]!.bytes))).toBe(true);
    expect((await fs.readdir(dir)).filter((name) => name.endsWith(".lock"))).toEqual([]);
  });

  it("ignores a lock left by a process that died while instrumenting", async () => {
    const lock = `${await cacheFileFor(dir, ENGINE)}.lock`;
    await fs.writeFile(lock, "");
    const old = new Date(Date.now() - 3_600_000);
    await fs.utimes(lock, old, old);
    const started = performance.now();
    expect((await meteredEngineBytes(ENGINE, dir)).from).toBe("instrumented");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect((await meteredEngineBytes(ENGINE, dir)).from).toBe("cache");
  });

  it("keys the file by the engine's bytes", async () => {
    expect(await cacheFileFor(dir, ENGINE)).not.toBe(await cacheFileFor(dir, OTHER_ENGINE));
    await meteredEngineBytes(ENGINE, dir);
    expect((await meteredEngineBytes(OTHER_ENGINE, dir)).from).toBe("instrumented");
  });

  it("never uses a damaged file: it is removed and rebuilt", async () => {
    const good = await meteredEngineBytes(ENGINE, dir);
    const path = await cacheFileFor(dir, ENGINE);
    const file = await fs.readFile(path);
    file[file.length - 10]! ^= 0xff;
    await fs.writeFile(path, file);
    const again = await meteredEngineBytes(ENGINE, dir);
    expect(again.from).toBe("instrumented");
    expect(Buffer.from(again.bytes).equals(Buffer.from(good.bytes))).toBe(true);
    expect((await meteredEngineBytes(ENGINE, dir)).from).toBe("cache");
    await fs.writeFile(path, file.subarray(0, 16));
    expect((await meteredEngineBytes(ENGINE, dir)).from).toBe("instrumented");
  });

  it("still answers when the directory cannot be written", async () => {
    const blocked = join(dir, "file-not-dir");
    await fs.writeFile(blocked, "x");
    const result = await meteredEngineBytes(ENGINE, join(blocked, "cache"));
    expect(result.from).toBe("instrumented");
    expect(Buffer.from(result.bytes).equals(Buffer.from(instrument(ENGINE).bytes))).toBe(true);
  });
});
