/** The QuickJS engine's captured memory: every call starts from the same state. */
import { describe, expect, it } from "vitest";
import type { InvocationContext, InvocationRequest } from "../../index.js";
import { createQuickJsRuntime } from "./runtime.js";

const FUNCTION = `
let calls = 0;
export default { async fetch(request) {
  const path = new URL(request.url).pathname;
  calls++;
  if (path === "/random") return new Response(String(Math.random()));
  if (path === "/vandal") {
    // Drops every global the prelude installed (the host functions stay reachable only from it).
    const Kept = Response;
    for (const name of ["console", "crypto", "TextEncoder", "TextDecoder", "URL", "URLSearchParams", "Headers", "Request", "Response", "atob", "btoa"]) delete globalThis[name];
    return new Kept("gone");
  }
  if (path === "/hoard") { const hoard = []; for (let i = 0; i < 64; i++) hoard.push(new Uint8Array(256 * 1024).fill(7)); return new Response(String(hoard.length)); }
  if (path === "/deep") { const f = (n) => (n === 0 ? 0 : 1 + f(n - 1)); try { f(1e6); } catch { return new Response("overflow"); } }
  console.log("log line", calls);
  return new Response("calls " + calls + " " + JSON.stringify([1, 2, 3].map((x) => x * 2)));
} };`;

const request = (path: string): InvocationRequest => ({ method: "GET", path, query: "", headers: {}, body: new Uint8Array(0) });
const context: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1 << 20, fuelLimit: 1_000_000_000n, timeoutMs: 5_000 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("quickjs engine: calls start from the captured memory", () => {
  const prepared = createQuickJsRuntime().prepare(new TextEncoder().encode(FUNCTION), { abi: "stdio", memoryLimitBytes: 64 << 20 });

  it("uses identical fuel for identical calls, before and after calls that disturb the engine", async () => {
    const fn = await prepared;
    const first = await fn.invoke(request("/"), context);
    expect(text(first.body)).toBe("calls 1 [2,4,6]");
    expect(first.stderr).toBe("log line 1\n");
    for (const path of ["/hoard", "/deep", "/vandal", "/random"]) expect([path, (await fn.invoke(request(path), context)).status]).toEqual([path, 200]);
    const again = await fn.invoke(request("/"), context);
    expect(text(again.body)).toBe("calls 1 [2,4,6]");
    expect(again.stderr).toBe("log line 1\n");
    expect(again.usage.fuel).toBe(first.usage.fuel);
    expect(again.usage.memoryPeakBytes).toBe(first.usage.memoryPeakBytes);
  });

  it("draws different Math.random numbers in every call", async () => {
    const fn = await prepared;
    const values = new Set<string>();
    for (let i = 0; i < 5; i++) values.add(text((await fn.invoke(request("/random"), context)).body));
    expect(values.size).toBe(5);
    for (const value of values) expect(Number(value)).toBeGreaterThanOrEqual(0);
    for (const value of values) expect(Number(value)).toBeLessThan(1);
  });
});

describe("quickjs engine: prepare checks that the module compiles without running it", () => {
  const runtime = createQuickJsRuntime();
  const prepare = (source: string) => runtime.prepare(new TextEncoder().encode(source), { abi: "stdio" });

  // A compile-only module eval in quickjs-emscripten 0.32 read an uninitialised pointer: these
  // valid modules were refused ("nests too deeply") or answered an empty error, depending on the heap.
  it.each([
    `export default { fetch() { return new Response("hi"); } }`,
    `function g() { return new Response("hi"); }\nexport default { fetch: g };`,
    `#!/usr/bin/env tfaas\nexport default { fetch() { return new Response("hi"); } }`,
  ])("accepts and runs %j", async (source) => {
    const result = await (await prepare(source)).invoke(request("/"), context);
    expect([result.status, text(result.body)]).toEqual([200, "hi"]);
  });

  it("refuses a syntax error and an import with invalid-artifact", async () => {
    await expect(prepare(`export default { fetch() { return 1; }`)).rejects.toMatchObject({ code: "invalid-artifact", message: /SyntaxError/ });
    await expect(prepare(`import x from "y"; export default { fetch() { return x; } };`)).rejects.toMatchObject({ code: "invalid-artifact", message: /could not load module/ });
  });

  it("does not run the module's top level at prepare", async () => {
    const fn = await prepare(`throw new Error("top level ran");\nexport default {};`);
    const result = await fn.invoke(request("/"), context);
    expect(result.status).toBe(500);
    expect(result.stderr).toContain("top level ran");
  });
});
