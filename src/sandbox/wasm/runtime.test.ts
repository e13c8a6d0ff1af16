import { describe, expect, it } from "vitest";
import { probeResults, PREVIEW1_SIGNATURES, syscallProbe, uniformCall, writer } from "../../../test/fixtures/wasm/wasi-probe.js";
import { wat } from "../../../test/fixtures/wasm/wat.js";
import { TfaasError } from "../../shared/errors.js";
import type { InvocationContext, InvocationRequest, InvocationResult, PrepareOptions } from "../index.js";
import { createWasmRuntime, STDERR_LIMIT_BYTES } from "./index.js";
import { PREVIEW1_FUNCTIONS } from "./wasi/index.js";

const text = new TextEncoder();
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const runtime = createWasmRuntime();

const baseRequest: InvocationRequest = { method: "GET", path: "/", query: "", headers: {}, body: new Uint8Array() };
const baseContext: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1024 * 1024, fuelLimit: undefined };

async function run(
  bytes: Uint8Array,
  request: Partial<InvocationRequest> = {},
  context: Partial<InvocationContext> = {},
  options: Partial<PrepareOptions> = {},
): Promise<InvocationResult> {
  const prepared = await runtime.prepare(bytes, { abi: "stdio", ...options });
  return prepared.invoke({ ...baseRequest, ...request }, { ...baseContext, ...context });
}

async function prepareError(bytes: Uint8Array, options: Partial<PrepareOptions> = {}): Promise<TfaasError> {
  try {
    await runtime.prepare(bytes, { abi: "stdio", ...options });
  } catch (error) {
    if (error instanceof TfaasError) return error;
    throw error;
  }
  throw new Error("prepare succeeded");
}

const echo = wat(`(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (loop $more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 7))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
      (local.set $n (i32.load (i32.const 16)))
      (if (local.get $n) (then
        (i32.store (i32.const 4) (local.get $n))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
        (br $more))))))`);

describe("wasm runtime: request and response", () => {
  it("echoes stdin to stdout in small reads", async () => {
    const body = "The quick brown fox jumps over the lazy dog";
    const result = await run(echo, { body: text.encode(body) });
    expect(result).toMatchObject({ status: 200, headers: {}, stderr: "" });
    expect(result.error).toBeUndefined();
    expect(decode(result.body)).toBe(body);
  });

  it("hands out exactly the CGI, watchdog and envVars environment", async () => {
    const dumpEnviron = wat(`(module
      (import "wasi_snapshot_preview1" "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "environ_get" (func $get (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (drop (call $sizes (i32.const 0) (i32.const 4)))
        (drop (call $get (i32.const 64) (i32.const 4096)))
        (i32.store (i32.const 16) (i32.const 4096))
        (i32.store (i32.const 20) (i32.load (i32.const 4)))
        (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`);
    const result = await run(
      dumpEnviron,
      {
        method: "POST",
        path: "/orders/7",
        query: "a=1&b=2",
        headers: { "content-type": "application/json", "x-call-id": "c-1", "user-agent": "test" },
        body: text.encode("{}"),
      },
      { env: { mode: "fast", REQUEST_METHOD: "spoofed" } },
    );
    const entries = decode(result.body).split("\0").filter(Boolean);
    expect(entries).toEqual([
      "mode=fast",
      "REQUEST_METHOD=POST",
      "PATH_INFO=/orders/7",
      "QUERY_STRING=a=1&b=2",
      "CONTENT_TYPE=application/json",
      "CONTENT_LENGTH=2",
      "SERVER_PROTOCOL=HTTP/1.1",
      "HTTP_X_CALL_ID=c-1",
      "HTTP_USER_AGENT=test",
      "Http_Method=POST",
      "Http_Path=/orders/7",
      "Http_Query=a=1&b=2",
      "Http_Content_Type=application/json",
      "Http_X_Call_Id=c-1",
      "Http_User_Agent=test",
      "Http_Content_Length=2",
    ]);
    for (const hostName of ["PATH", "HOME", "USER"]) expect(entries.some((entry) => entry.startsWith(`${hostName}=`))).toBe(false);
  });

  it("passes args [\"function\"]", async () => {
    const result = await run(
      syscallProbe(["(call $args_sizes_get (i32.const 0) (i32.const 4))", "(i32.load (i32.const 0))", "(i32.load (i32.const 4))"]),
    );
    expect(probeResults(result.body)).toEqual([0, 1, "function\0".length]);
  });

  it("maps proc_exit(0) to success and a non-zero code to function-failed", async () => {
    expect((await run(writer([{ fd: 1, text: "fine" }], 0))).status).toBe(200);
    const failed = await run(writer([{ fd: 1, text: "partial" }], 3));
    expect(failed.status).toBe(500);
    expect(failed.error?.code).toBe("function-failed");
    expect(failed.error?.message).toBe("function exited with code 3");
    expect(decode(failed.body)).toBe("function exited with code 3");
  });

  it("turns a trap into function-failed and logs it after what the function wrote", async () => {
    const trapping = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "before")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 6))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        unreachable))`);
    const result = await run(trapping);
    expect(result.status).toBe(500);
    expect(result.error?.code).toBe("function-failed");
    expect(result.error?.message).toBe("function trapped: unreachable");
    expect(result.stderr).toBe("before\nwasm trap: unreachable\n");
  });

  it("turns unbounded recursion into function-failed", async () => {
    const recursive = wat(`(module
      (memory (export "memory") 1)
      (func $down (call $down))
      (func (export "_start") (call $down)))`);
    const result = await run(recursive);
    expect(result.error?.code).toBe("function-failed");
    expect(result.error?.message).toMatch(/^function trapped: .*stack/i);
  });

  it("collects stderr and cuts it at the log limit, marking the cut", async () => {
    const small = await run(writer([{ fd: 2, text: "line one\n" }, { fd: 1, text: "ok" }, { fd: 2, text: "line two\n" }]));
    expect(small.stderr).toBe("line one\nline two\n");
    expect(decode(small.body)).toBe("ok");

    const big = await run(writer([{ fd: 2, text: "e".repeat(STDERR_LIMIT_BYTES + 10) }, { fd: 1, text: "still ok" }]));
    expect(big.status).toBe(200);
    expect(decode(big.body)).toBe("still ok");
    expect(big.stderr).toBe(`${"e".repeat(STDERR_LIMIT_BYTES)}\n[stderr truncated at ${STDERR_LIMIT_BYTES} bytes]`);
  });

  it("stops at the output cap with output-too-large, and allows exactly the cap", async () => {
    const module = writer([{ fd: 1, text: "0123456789" }, { fd: 1, text: "abc" }]);
    expect(decode((await run(module, {}, { maxOutputBytes: 13 })).body)).toBe("0123456789abc");
    const result = await run(module, {}, { maxOutputBytes: 12 });
    expect(result.status).toBe(500);
    expect(result.error?.code).toBe("output-too-large");
    expect(result.error?.message).toContain("12 bytes");
    expect(decode(result.body)).not.toContain("0123456789");
  });

  it("gives every invocation a fresh instance", async () => {
    const counter = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $calls (mut i32) (i32.const 0))
      (func (export "_start")
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (i32.store8 (i32.const 100) (i32.add (i32.const 48) (global.get $calls)))
        (i32.store8 (i32.const 101) (i32.add (i32.const 48) (i32.load8_u (i32.const 200))))
        (i32.store8 (i32.const 200) (i32.const 9))
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 2))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
    const prepared = await runtime.prepare(counter, { abi: "stdio" });
    for (let call = 0; call < 3; call++) {
      // "1" = the global restarted; "0" = memory written by the previous call is gone.
      expect(decode((await prepared.invoke(baseRequest, baseContext)).body)).toBe("10");
    }
  });
});

describe("wasm runtime: memories reused between calls", () => {
  // Writes the byte at 300 (a data segment's), the byte at 200 and memory.size, then dirties both bytes (and grows, if asked).
  const reporter = (grow: boolean) =>
    wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1 2)
      (data (i32.const 300) "D")
      (func (export "_start")
        (i32.store8 (i32.const 100) (i32.load8_u (i32.const 300)))
        (i32.store8 (i32.const 101) (i32.add (i32.const 48) (i32.load8_u (i32.const 200))))
        (i32.store8 (i32.const 102) (i32.add (i32.const 48) (memory.size)))
        (i32.store8 (i32.const 300) (i32.const 88))
        (i32.store8 (i32.const 200) (i32.const 7))
        ${grow ? "(drop (memory.grow (i32.const 1))) (i32.store8 (i32.const 65600) (i32.const 5))" : ""}
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 3))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);

  it("starts every call from zeros and the module's data, whatever the last call wrote", async () => {
    const prepared = await runtime.prepare(reporter(false), { abi: "stdio" });
    for (let call = 0; call < 3; call++) expect(decode((await prepared.invoke(baseRequest, baseContext)).body)).toBe("D01");
  });

  it("starts every call from the initial size after a call that grew its memory", async () => {
    const prepared = await runtime.prepare(reporter(true), { abi: "stdio" });
    for (let call = 0; call < 3; call++) expect(decode((await prepared.invoke(baseRequest, baseContext)).body)).toBe("D01");
  });

  it("starts from zeros after a call that trapped with its memory dirty", async () => {
    const trapper = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i32.store8 (i32.const 100) (i32.add (i32.const 48) (i32.load8_u (i32.const 200))))
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 1))
        (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
        (i32.store8 (i32.const 200) (i32.const 9))
        unreachable))`);
    const prepared = await runtime.prepare(trapper, { abi: "stdio" });
    for (let call = 0; call < 3; call++) {
      const result = await prepared.invoke(baseRequest, baseContext);
      expect(result.error?.code).toBe("function-failed");
      expect(result.stderr).toBe("0\nwasm trap: unreachable\n");
    }
  });
});

describe("wasm runtime: wagi responses", () => {
  const wagi = (output: string) => run(writer([{ fd: 1, text: output }]), {}, {}, { abi: "wagi" });

  it("takes status and headers from the CGI header block (CRLF)", async () => {
    const result = await wagi("Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-Custom: one\r\nx-custom: two\r\n\r\nnot here");
    expect(result.status).toBe(404);
    expect(result.headers).toEqual({ "content-type": "text/plain", "x-custom": "one, two" });
    expect(decode(result.body)).toBe("not here");
  });

  it("defaults to 200 and accepts LF line ends", async () => {
    const result = await wagi("Content-Type: application/json\n\n{\"ok\":true}\n");
    expect(result.status).toBe(200);
    expect(result.headers).toEqual({ "content-type": "application/json" });
    expect(decode(result.body)).toBe('{"ok":true}\n');
  });

  it("redirects with 302 when Location comes without Status", async () => {
    const result = await wagi("Location: https://example.com/next\n\n");
    expect(result.status).toBe(302);
    expect(result.headers["location"]).toBe("https://example.com/next");
    expect(result.body.length).toBe(0);
  });

  it.each([
    ["plain body without headers", "just a body"],
    ["a header block that never ends", "Content-Type: text/plain\nX: y\n"],
    ["a line that is not a header", "Content-Type: text/plain\nnot a header\n\nbody"],
    ["a bad status", "Status: teapot\n\nbody"],
    ["a blank first line", "\nbody"],
  ])("fails with function-failed on %s", async (_, output) => {
    const result = await wagi(output);
    expect(result.status).toBe(500);
    expect(result.error?.code).toBe("function-failed");
    expect(result.error?.message).toMatch(/^Cannot parse the function's wagi response: /);
    expect(result.error?.message).not.toContain("body");
  });
});

describe("wasm runtime: memory cap", () => {
  const grower = (memory: string) =>
    wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") ${memory})
      (func (export "_start")
        (i32.store (i32.const 100) (memory.grow (i32.const 1)))
        (i32.store (i32.const 104) (memory.grow (i32.const 1)))
        (i32.store (i32.const 108) (memory.size))
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 12))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);

  it("makes memory.grow fail beyond the limit", async () => {
    const result = await run(grower("1"), {}, {}, { memoryLimitBytes: 2 * 65536 });
    expect(probeResults(result.body)).toEqual([1, -1, 2]);
  });

  it("keeps a declared maximum below the limit", async () => {
    const result = await run(grower("1 2"), {}, {}, { memoryLimitBytes: 100 * 65536 });
    expect(probeResults(result.body)).toEqual([1, -1, 2]);
  });

  it("leaves memory alone without a limit", async () => {
    const result = await run(grower("1"));
    expect(probeResults(result.body)).toEqual([1, 2, 3]);
  });

  it("rejects a module whose initial memory exceeds the limit", async () => {
    const error = await prepareError(grower("3"), { memoryLimitBytes: 2 * 65536 + 100 });
    expect(error.code).toBe("invalid-artifact");
    expect(error.message).toBe("Cannot prepare: module needs 3 pages of memory, limit is 2");
  });
});

describe("wasm runtime: what a module may be", () => {
  const start = `(memory (export "memory") 1) (func (export "_start"))`;

  it("rejects imports outside wasi_snapshot_preview1, naming them", async () => {
    const error = await prepareError(wat(`(module (import "env" "now" (func)) ${start})`));
    expect(error.code).toBe("invalid-artifact");
    expect(error.message).toContain(`"env"."now"`);
  });

  it("rejects unknown wasi names and non-function wasi imports", async () => {
    expect((await prepareError(wat(`(module (import "wasi_snapshot_preview1" "open_everything" (func)) ${start})`))).message).toContain(
      "open_everything",
    );
    const importedMemory = wat(`(module (import "wasi_snapshot_preview1" "memory" (memory 1)) (func (export "_start")) (export "memory" (memory 0)))`);
    expect((await prepareError(importedMemory)).message).toContain(`memory "wasi_snapshot_preview1"."memory"`);
  });

  it("rejects a module importing the memory the runtime hands its own rewrites", async () => {
    const poolName = wat(`(module (import "tfaas" "memory" (memory 1)) (func (export "_start")) (export "memory" (memory 0)))`);
    expect((await prepareError(poolName)).message).toContain(`memory "tfaas"."memory"`);
  });

  it("requires exported memory and _start", async () => {
    expect((await prepareError(wat(`(module (func (export "_start")))`))).message).toContain(`export memory "memory"`);
    expect((await prepareError(wat(`(module (memory (export "memory") 1))`))).message).toContain(`export function "_start"`);
    expect((await prepareError(wat(`(module (memory (export "memory") 1) (global (export "_start") i32 (i32.const 0)))`))).message).toContain(
      "current export is global",
    );
  });

  it("rejects bytes that are not WebAssembly", async () => {
    const error = await prepareError(text.encode("#!/bin/sh\necho hi\n"));
    expect(error.code).toBe("invalid-artifact");
    const truncated = await prepareError(echo.subarray(0, echo.length - 3), { memoryLimitBytes: 65536 });
    expect(truncated.code).toBe("invalid-artifact");
  });
});

describe("wasm runtime: WASI preview 1 surface", () => {
  it("provides all 46 preview 1 functions", () => {
    expect([...PREVIEW1_FUNCTIONS].sort()).toEqual(Object.keys(PREVIEW1_SIGNATURES).sort());
    expect(PREVIEW1_FUNCTIONS.length).toBe(46);
  });

  const sweepable = Object.keys(PREVIEW1_SIGNATURES).filter((name) => name !== "proc_exit");

  it("answers every call with an errno for out-of-range pointers and bad descriptors", async () => {
    const result = await run(syscallProbe(sweepable.map((name) => uniformCall(name, -16, -1n))));
    expect(result.error).toBeUndefined();
    const errnos = new Map(sweepable.map((name, index) => [name, probeResults(result.body)[index]]));
    for (const [name, errno] of errnos) expect({ name, valid: errno !== undefined && errno >= 0 && errno <= 76 }).toEqual({ name, valid: true });
    expect(errnos.get("args_get")).toBe(21);
    expect(errnos.get("random_get")).toBe(21);
    expect(errnos.get("clock_time_get")).toBe(28);
    expect(errnos.get("fd_close")).toBe(8);
    expect(errnos.get("sched_yield")).toBe(0);
  });

  it("answers every call with an errno when aimed at the preopened directory", async () => {
    const calls = sweepable.filter((name) => name !== "poll_oneoff").map((name) => uniformCall(name, 3, 0n));
    const result = await run(syscallProbe(calls), {}, { secrets: new Map([["k", text.encode("v")]]) });
    expect(result.error).toBeUndefined();
    const errnos = probeResults(result.body);
    expect(errnos.length).toBe(calls.length);
    for (const errno of errnos) expect(errno >= 0 && errno <= 76).toBe(true);
  });

  it("refuses sockets, writes, signals and escapes with the fitting errno", async () => {
    const path = (offset: number, length: number) => `(i32.const ${offset}) (i32.const ${length})`;
    const open = (pathArgs: string, oflags: number, rights: bigint) =>
      `(call $path_open (i32.const 3) (i32.const 0) ${pathArgs} (i32.const ${oflags}) (i64.const ${rights}) (i64.const 0) (i32.const 0) (i32.const 1000))`;
    const calls = [
      "(call $sock_accept (i32.const 1) (i32.const 0) (i32.const 1000))",
      "(call $sock_send (i32.const 42) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000))",
      `(call $path_unlink_file (i32.const 3) ${path(500, 22)})`,
      `(call $path_create_directory (i32.const 3) ${path(600, 3)})`,
      "(call $proc_raise (i32.const 9))",
      open(path(700, 10), 0, 2n), // etc/passwd
      open(path(500, 22), 1, 2n), // creat on a secret
      open(path(500, 22), 0, 64n), // FD_WRITE on a secret
      open(path(800, 9), 0, 2n), // ../../etc
      "(call $fd_read (i32.const 0) (i32.const -16) (i32.const 1) (i32.const 1000))",
      "(call $fd_write (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000))",
      "(call $fd_seek (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 1000))",
    ];
    const result = await run(
      syscallProbe(calls, { 500: "var/openfaas/secrets/k", 600: "tmp", 700: "etc/passwd", 800: "../../etc" }),
      {},
      { secrets: new Map([["k", text.encode("v")]]) },
    );
    expect(probeResults(result.body)).toEqual([57, 8, 69, 69, 52, 44, 69, 69, 76, 21, 8, 70]);
  });

  it("opens, seeks, tells and reads a secret; writes to it fail", async () => {
    const fd = "(i32.load (i32.const 1000))";
    const calls = [
      `(call $path_open (i32.const 3) (i32.const 0) (i32.const 500) (i32.const 22) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 1000))`,
      `(call $fd_seek ${fd} (i64.const -4) (i32.const 2) (i32.const 1008))`,
      "(i32.load (i32.const 1008))",
      // iovec at 1100 → 4 bytes at 1200
      "(i32.store (i32.const 1100) (i32.const 1200)) (i32.store (i32.const 1104) (i32.const 4)) (i32.const 0)",
      `(call $fd_read ${fd} (i32.const 1100) (i32.const 1) (i32.const 1016))`,
      "(i32.load (i32.const 1016))",
      "(i32.load (i32.const 1200))",
      `(call $fd_tell ${fd} (i32.const 1008))`,
      "(i32.load (i32.const 1008))",
      `(call $fd_write ${fd} (i32.const 1100) (i32.const 1) (i32.const 1016))`,
      `(call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 500) (i32.const 22) (i32.const 1300))`,
      "(i32.load8_u (i32.const 1316))",
      "(i32.load (i32.const 1332))",
      `(call $fd_close ${fd})`,
      `(call $fd_close ${fd})`,
    ];
    const result = await run(syscallProbe(calls, { 500: "var/openfaas/secrets/k" }), {}, { secrets: new Map([["k", text.encode("secret:1234")]]) });
    const bytes1234 = new DataView(text.encode("1234").buffer).getInt32(0, true);
    expect(probeResults(result.body)).toEqual([0, 0, 7, 0, 0, 4, bytes1234, 0, 11, 8, 0, 4, 11, 0, 8]);
  });

  it("reports the preopen as \"/\"", async () => {
    const calls = [
      "(call $fd_prestat_get (i32.const 3) (i32.const 1000))",
      "(i32.load8_u (i32.const 1000))",
      "(i32.load (i32.const 1004))",
      "(call $fd_prestat_dir_name (i32.const 3) (i32.const 1010) (i32.const 1))",
      "(i32.load8_u (i32.const 1010))",
      "(call $fd_prestat_get (i32.const 4) (i32.const 1000))",
    ];
    expect(probeResults((await run(syscallProbe(calls))).body)).toEqual([0, 0, 1, 0, "/".charCodeAt(0), 8]);
  });

  it("sleeps in poll_oneoff on a relative monotonic clock", async () => {
    // subscription at 2000: userdata 42, clock tag, monotonic clock, timeout 30 ms; event at 3000
    const calls = [
      "(i64.store (i32.const 2000) (i64.const 42)) (i32.store8 (i32.const 2008) (i32.const 0)) (i32.const 0)",
      "(i32.store (i32.const 2016) (i32.const 1)) (i64.store (i32.const 2024) (i64.const 30000000)) (i32.const 0)",
      "(call $poll_oneoff (i32.const 2000) (i32.const 3000) (i32.const 1) (i32.const 1000))",
      "(i32.load (i32.const 1000))",
      "(i32.wrap_i64 (i64.load (i32.const 3000)))",
      "(i32.load16_u (i32.const 3008))",
      "(i32.load8_u (i32.const 3010))",
    ];
    const started = performance.now();
    const result = await run(syscallProbe(calls));
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(probeResults(result.body)).toEqual([0, 0, 0, 1, 42, 0, 0]);
  });

  it("reads clocks and randomness", async () => {
    const calls = [
      "(call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 1000))",
      "(call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 1008))",
      "(i64.ge_u (i64.load (i32.const 1008)) (i64.load (i32.const 1000)))",
      "(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 1000))",
      // realtime after 2020-01-01 in ns
      "(i64.gt_u (i64.load (i32.const 1000)) (i64.const 1577836800000000000))",
      "(call $clock_time_get (i32.const 9) (i64.const 0) (i32.const 1000))",
      "(call $random_get (i32.const 1100) (i32.const 64))",
      "(i64.ne (i64.or (i64.load (i32.const 1100)) (i64.load (i32.const 1108))) (i64.const 0))",
    ];
    expect(probeResults((await run(syscallProbe(calls))).body)).toEqual([0, 0, 1, 0, 1, 28, 0, 1]);
  });
});
