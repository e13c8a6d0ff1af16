import { describe, expect, it } from "vitest";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import { WARM_UP_CONTEXT, WARM_UP_REQUEST } from "../sandbox/js/invocation.js";
import { WARM_UP_WASM, warmUpCallPath } from "./warm-up.js";

const WARM_UP_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok")
  (data (i32.const 0) "\\10\\00\\00\\00\\02\\00\\00\\00")
  (func (export "_start") (drop (call 0 (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;

describe("worker warm-up", () => {
  it("assembles exactly the module its comment spells, which answers ok", async () => {
    expect(Buffer.from(WARM_UP_WASM).equals(Buffer.from(wat(WARM_UP_WAT)))).toBe(true);
    const prepared = await createWasmRuntime().prepare(WARM_UP_WASM, { abi: "stdio" });
    const result = await prepared.invoke(WARM_UP_REQUEST, WARM_UP_CONTEXT);
    expect(result.status).toBe(200);
    expect(new TextDecoder().decode(result.body)).toBe("ok");
  });

  it("runs its calls in wasm and in each engine it is given, with receipts on or off", async () => {
    await expect(warmUpCallPath(Promise.resolve(["quickjs"]), "batched")).resolves.toBeUndefined();
    await expect(warmUpCallPath(Promise.resolve([]), "off")).resolves.toBeUndefined();
  });
});
