/** Trusted resource accounting in the platform: usage headers, the ledger, fuel limits and instrumentable code only. */
import { readdirSync, readFileSync, statSync, utimesSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/metering/index.js";
import { wat } from "./fixtures/wasm/wat.js";
import { deploy, startPlatform, watFixture, type Platform } from "./harness.js";

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({ workers: 1 });
  await deploy(platform, "echo", await watFixture("echo"));
});
afterAll(async () => platform?.dispose());

const invoke = (name: string, body = "") => fetch(`${platform.url}/function/${name}`, { method: "POST", body });

describe("usage of every call", () => {
  it("reports fuel, peak memory and I/O in headers, deterministically", async () => {
    const first = await invoke("echo", "twelve bytes");
    const second = await invoke("echo", "twelve bytes");
    const longer = await invoke("echo", "a much longer body than the others");
    for (const res of [first, second, longer]) expect(res.status).toBe(200);
    const fuel = (res: Response) => BigInt(res.headers.get("x-tfaas-fuel") ?? "-1");
    expect(fuel(first)).toBeGreaterThan(0n);
    expect(fuel(second)).toBe(fuel(first));
    expect(first.headers.get("x-tfaas-memory-peak-bytes")).toBe(String(2 * 65_536));
    // The echo reads 12 bytes and writes them back.
    expect(first.headers.get("x-tfaas-io-bytes")).toBe("24");
    expect(longer.headers.get("x-tfaas-io-bytes")).toBe(String(2 * 34));
  });

  it("totals usage per function in the ledger, exactly, over a time range", async () => {
    const before = new Date().toISOString();
    await deploy(platform, "ledger", await watFixture("echo"));
    const fuels: bigint[] = [];
    for (const body of ["a", "bb", "ccc"]) fuels.push(BigInt((await invoke("ledger", body)).headers.get("x-tfaas-fuel")!));
    const res = await platform.api(`/system/usage?name=ledger&since=${encodeURIComponent(before)}`);
    expect(res.status).toBe(200);
    const [totals] = (await res.json()) as Array<{ name: string; calls: number; fuel: string; ioBytesIn: number; ioBytesOut: number; memoryPeakBytes: number }>;
    expect(totals).toMatchObject({ name: "ledger", calls: 3, ioBytesIn: 6, ioBytesOut: 6, memoryPeakBytes: 2 * 65_536 });
    expect(BigInt(totals!.fuel)).toBe(fuels.reduce((a, b) => a + b, 0n));
    const empty = await platform.api(`/system/usage?name=ledger&until=${encodeURIComponent(before)}`);
    expect(await empty.json()).toEqual([]);
    expect((await platform.api("/system/usage?since=yesterday")).status).toBe(400);
    expect((await fetch(`${platform.url}/system/usage`)).status).toBe(401);
    const metrics = await (await fetch(`${platform.url}/metrics`)).text();
    expect(metrics).toMatch(/tfaas_function_fuel_total\{function_name="ledger\.openfaas-fn"\} [1-9]/);
    expect(metrics).toMatch(/tfaas_function_io_bytes_total\{function_name="ledger\.openfaas-fn",direction="in"\} 6/);
  });
});

describe("instrumentation", () => {
  it("runs once per code and machine: workers keep instrumented modules in the data directory's cache", async () => {
    const dir = path.join(platform.dataDir, "cache");
    /** The cache files holding `code` as this instrumenter instruments it. */
    const filesOf = (code: Uint8Array) => {
      const expected = Buffer.from(instrument(code).bytes);
      return readdirSync(dir).filter((name) => name.startsWith("wasm-metered-") && readFileSync(path.join(dir, name)).subarray(32).equals(expected));
    };
    const echo = await watFixture("echo");
    expect((await invoke("echo")).status).toBe(200); // loaded by a worker for its first call
    const [file] = filesOf(echo);
    expect(filesOf(echo)).toHaveLength(1);
    // The same code under another name is read from that file (a hit refreshes its time)...
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(dir, file!), old, old);
    await deploy(platform, "echo-again", echo);
    expect(filesOf(echo)).toEqual([file]);
    expect((await invoke("echo-again", "twelve bytes")).headers.get("x-tfaas-fuel")).toBe((await invoke("echo", "twelve bytes")).headers.get("x-tfaas-fuel"));
    expect(statSync(path.join(dir, file!)).mtimeMs).toBeGreaterThan(old.getTime() + 60_000);
    // ...and other code gets its own file when a worker first loads it (for its first call).
    const hello = wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 16) "hello")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 5))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
    expect(filesOf(hello)).toHaveLength(0);
    await deploy(platform, "hello-cached", Uint8Array.from(hello));
    expect(await (await invoke("hello-cached")).text()).toBe("hello");
    expect(filesOf(hello)).toHaveLength(1);
  });
});

describe("fuel limits", () => {
  it("stops an infinite loop by fuel, deterministically, without restarting the worker", async () => {
    await deploy(platform, "spin", await watFixture("loop"), { annotations: { "com.tfaas.limits.fuel": "5000000" } });
    const workers = platform.workerPids();
    const started = Date.now();
    const first = await invoke("spin");
    const elapsed = Date.now() - started;
    const second = await invoke("spin");
    for (const res of [first, second]) {
      expect(res.status).toBe(402);
      expect(res.headers.get("x-tfaas-error")).toBe("fuel-exhausted");
      expect(await res.text()).toMatch(/fuel budget of 5000000/);
    }
    expect(first.headers.get("x-tfaas-fuel")).toBe(second.headers.get("x-tfaas-fuel"));
    expect(BigInt(first.headers.get("x-tfaas-fuel")!)).toBeGreaterThan(5_000_000n);
    expect(elapsed).toBeLessThan(5000);
    expect(platform.workerPids()).toEqual(workers);
    expect((await invoke("echo", "ok")).status).toBe(200);
    expect(await (await platform.api("/system/logs?name=spin")).text()).toMatch(/fuel exhausted/);
  });

  it("rejects a malformed fuel annotation", async () => {
    const upload = (await (
      await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: await watFixture("echo") })
    ).json()) as { digest: string };
    for (const value of ["lots", "0", "-5", "99999999999999999999"]) {
      const res = await platform.api("/system/functions", {
        method: "POST",
        body: JSON.stringify({ service: "badfuel", image: upload.digest, annotations: { "com.tfaas.limits.fuel": value } }),
      });
      expect(res.status, value).toBe(400);
      expect(await res.text()).toMatch(/com\.tfaas\.limits\.fuel/);
    }
  });
});

describe("only code the platform can meter is accepted", () => {
  it("refuses a start section and a module that names the metering exports", async () => {
    const upload = (body: Uint8Array<ArrayBuffer>) =>
      platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body });
    const start = await upload(await watFixture("start"));
    expect(start.status).toBe(400);
    expect(await start.text()).toMatch(/start section/);
    const wabt = await (await import("wabt")).default();
    const parsed = wabt.parseWat("spoof.wat", '(module (memory (export "memory") 1) (global (export "__tfaas_fuel") (mut i64) (i64.const 0)) (func (export "_start")))');
    const spoof = await upload(new Uint8Array(parsed.toBinary({}).buffer) as Uint8Array<ArrayBuffer>);
    expect(spoof.status).toBe(400);
    expect(await spoof.text()).toMatch(/__tfaas_fuel/);
  });
});
