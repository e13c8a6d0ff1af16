import { describe, expect, it } from "vitest";
import { wat } from "../../../test/fixtures/wasm/wat.js";
import { WASM_PAGE_BYTES } from "../../shared/constants.js";
import { importMemory, MAX_POOLED_MEMORY_BYTES, MemoryPool, POOLED_MEMORY_IMPORT } from "./memory-pool.js";

const compile = (bytes: Uint8Array) => new WebAssembly.Module(bytes.slice());
const withPool = (memory: WebAssembly.Memory) => ({ [POOLED_MEMORY_IMPORT.module]: { [POOLED_MEMORY_IMPORT.name]: memory } });

describe("importMemory", () => {
  it("turns the module's own memory into an import with the same limits, after its other imports", () => {
    const rewritten = importMemory(
      wat(`(module
        (import "env" "f" (func $f))
        (memory (export "memory") 2 5)
        (data (i32.const 300) "seg")
        (func (export "_start") (call $f)))`),
    );
    expect(rewritten?.limits).toEqual({ initial: 2, maximum: 5 });
    const module = compile(rewritten!.bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([
      { module: "env", name: "f", kind: "function" },
      { module: POOLED_MEMORY_IMPORT.module, name: POOLED_MEMORY_IMPORT.name, kind: "memory" },
    ]);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 5 });
    const instance = new WebAssembly.Instance(module, { env: { f: () => undefined }, ...withPool(memory) });
    expect(instance.exports["memory"]).toBe(memory);
    expect(new TextDecoder().decode(new Uint8Array(memory.buffer, 300, 3))).toBe("seg");
    // The limits are the module's: a memory that could grow past its maximum does not link.
    expect(() => new WebAssembly.Instance(module, { env: { f: () => undefined }, ...withPool(new WebAssembly.Memory({ initial: 2 })) })).toThrow(WebAssembly.LinkError);
  });

  it("adds an import section where the module has none, and keeps a memory without maximum unbounded", () => {
    const rewritten = importMemory(wat(`(module (type (func)) (memory (export "memory") 1) (func (export "_start") (type 0)))`));
    expect(rewritten?.limits).toEqual({ initial: 1 });
    const module = compile(rewritten!.bytes);
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: POOLED_MEMORY_IMPORT.module, name: POOLED_MEMORY_IMPORT.name, kind: "memory" }]);
    expect(() => new WebAssembly.Instance(module, withPool(new WebAssembly.Memory({ initial: 1 })))).not.toThrow();
  });

  it("leaves modules alone whose memory is missing or shared", () => {
    expect(importMemory(wat(`(module (func (export "_start")))`))).toBeUndefined();
    expect(importMemory(wat(`(module (memory (export "memory") 1 1 shared) (func (export "_start")))`, { threads: true }))).toBeUndefined();
  });
});

describe("MemoryPool", () => {
  it("hands back a memory zeroed, and drops one that grew", () => {
    const pool = new MemoryPool({ initial: 1, maximum: 3 });
    const first = pool.take();
    new Uint8Array(first.buffer).fill(7);
    pool.give(first);
    const again = pool.take();
    expect(again).toBe(first);
    expect(new Uint8Array(again.buffer).every((byte) => byte === 0)).toBe(true);

    again.grow(1);
    pool.give(again);
    const fresh = pool.take();
    expect(fresh).not.toBe(again);
    expect(fresh.buffer.byteLength).toBe(WASM_PAGE_BYTES);
  });

  it("does not keep memories too large to zero cheaply", () => {
    const pages = MAX_POOLED_MEMORY_BYTES / WASM_PAGE_BYTES + 1;
    const pool = new MemoryPool({ initial: pages });
    const memory = pool.take();
    pool.give(memory);
    expect(pool.take()).not.toBe(memory);
  });
});
