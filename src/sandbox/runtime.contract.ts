/**
 * The Runtime contract: one suite that every sandbox (wasm, quickjs, v8) passes. Each subject
 * supplies one "contract program" in its own language that answers these paths:
 *
 *   /echo      200, body = request body; x-method, x-path, x-query, x-echo (= request x-echo) headers
 *   /status    status = the query (e.g. "201"), body "status <n>"
 *   /redirect  302 to /elsewhere
 *   /env       body = env "greeting" + "|" + secret "api-key"
 *   /log       writes "log line from function" to its log; body "logged"
 *   /throw     fails with "boom-from-function" (JS: throws; wasm: stderr + exit 1)
 *   /state     increments a module-level counter; body = the counter
 *   /pollute   changes shared built-ins / globals as much as the language allows; body "polluted"
 *   /clean     body "clean" when none of /pollute's changes is visible
 *   /escape    tries to reach the host (process, require, constructor chains, imports, files);
 *              body "contained" when every attempt failed, else what leaked
 *   /loop      never returns
 *   /bomb      allocates memory without bound
 *   /big       returns 2 MiB of "x"
 */
import { describe, expect, it } from "vitest";
import type { InvocationContext, InvocationRequest, PreparedFunction, PrepareOptions, Runtime } from "./index.js";

export interface ContractSubject {
  runtime: Runtime;
  program: Uint8Array;
  options: PrepareOptions;
  /** How the subject stops a call that never returns: deterministic fuel, or its wall-clock deadline. */
  cpuLimit: "fuel" | "timeout";
}

const text = new TextEncoder();
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function request(path: string, init: Partial<InvocationRequest> = {}): InvocationRequest {
  return { method: "POST", path, query: "", headers: {}, body: new Uint8Array(0), ...init };
}

const baseContext: InvocationContext = {
  env: { greeting: "hello" },
  secrets: new Map([["api-key", text.encode("s3cret-value")]]),
  maxOutputBytes: 1024 * 1024,
  fuelLimit: 500_000_000n,
  timeoutMs: 2_000,
};

export function runtimeContract(name: string, subject: () => Promise<ContractSubject>): void {
  describe(`Runtime contract: ${name}`, () => {
    let fn: PreparedFunction;
    let spec: ContractSubject;
    const call = (path: string, init: Partial<InvocationRequest> = {}, context: Partial<InvocationContext> = {}) =>
      fn.invoke(request(path, init), { ...baseContext, ...context });

    it("prepares the contract program", async () => {
      spec = await subject();
      fn = await spec.runtime.prepare(spec.program, spec.options);
      expect(typeof fn.invoke).toBe("function");
    });

    it("echoes binary bodies, method, path, query and headers", async () => {
      const body = Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256);
      const result = await call("/echo", { method: "PUT", query: "a=1&b=two%20words", headers: { "x-echo": "héllo-ascii-only".replace("é", "e") }, body });
      expect(result.error).toBeUndefined();
      expect(result.status).toBe(200);
      expect([...result.body]).toEqual([...body]);
      expect(result.headers["x-method"]).toBe("PUT");
      expect(result.headers["x-path"]).toBe("/echo");
      expect(result.headers["x-query"]).toBe("a=1&b=two%20words");
      expect(result.headers["x-echo"]).toBe("hello-ascii-only");
      expect(result.usage.ioBytesIn).toBeGreaterThanOrEqual(body.length);
    });

    it("receives exactly the body bytes even when they are a window on a larger buffer", async () => {
      // A Node Buffer, whose slice() is a view: the pool's other bytes must not leak into the sandbox.
      const pool = new Uint8Array(8192).fill(0x41);
      const body = Buffer.from(pool.buffer, 100, 7).fill(0x62);
      const result = await call("/echo", { body });
      expect(decode(result.body)).toBe("bbbbbbb");
    });

    it("returns the status codes and redirects the function chooses", async () => {
      for (const status of [201, 404, 503]) {
        const result = await call("/status", { query: String(status) });
        expect(result.status).toBe(status);
        expect(decode(result.body)).toBe(`status ${status}`);
      }
      const redirect = await call("/redirect");
      expect(redirect.status).toBe(302);
      expect(redirect.headers["location"]).toMatch(/\/elsewhere$/);
    });

    it("sees envVars and secrets", async () => {
      const result = await call("/env");
      expect(decode(result.body)).toBe("hello|s3cret-value");
    });

    it("sends what the function logs to stderr", async () => {
      const result = await call("/log");
      expect(decode(result.body)).toBe("logged");
      expect(result.stderr).toContain("log line from function");
    });

    it("turns a failure into a 500 with the message in the log", async () => {
      const result = await call("/throw");
      expect(result.status).toBe(500);
      expect(result.error?.code).toBe("function-failed");
      expect(result.stderr).toContain("boom-from-function");
      expect(decode(result.body)).not.toContain("boom-from-function");
    });

    it("keeps no state between invocations", async () => {
      for (let i = 0; i < 3; i++) expect(decode((await call("/state")).body)).toBe("1");
    });

    it("does not let one call's pollution of shared objects reach the next", async () => {
      expect(decode((await call("/pollute")).body)).toBe("polluted");
      expect(decode((await call("/clean")).body)).toBe("clean");
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect(JSON.stringify([1])).toBe("[1]");
    });

    it("contains escape attempts", async () => {
      const result = await call("/escape");
      expect(decode(result.body)).toBe("contained");
    });

    it("caps the output", async () => {
      const result = await call("/big");
      expect(result.status).toBe(500);
      expect(result.error?.code).toBe("output-too-large");
    });

    it("stops a call that never returns, and serves the next one", async () => {
      const started = performance.now();
      const result = await call("/loop", {}, { fuelLimit: 50_000_000n, timeoutMs: 500 });
      expect(performance.now() - started).toBeLessThan(15_000);
      expect(result.error?.code).toBe(spec.cpuLimit === "fuel" ? "fuel-exhausted" : "timeout");
      expect(result.status).toBe(spec.cpuLimit === "fuel" ? 402 : 504);
      expect(decode((await call("/env")).body)).toBe("hello|s3cret-value");
    });

    it("contains a memory bomb, and serves the next call", async () => {
      const result = await call("/bomb", {}, { fuelLimit: 5_000_000_000n, timeoutMs: 10_000 });
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.error).toBeDefined();
      expect(decode((await call("/env")).body)).toBe("hello|s3cret-value");
    });

    it("reports usage", async () => {
      const result = await call("/echo", { body: text.encode("usage") });
      expect(result.usage.ioBytesIn).toBeGreaterThanOrEqual(5);
      if (spec.cpuLimit === "fuel") expect(result.usage.fuel).toBeGreaterThan(0n);
      else expect(result.usage.fuel).toBeNull();
    });
  });
}
