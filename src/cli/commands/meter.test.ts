import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wat } from "../../../test/fixtures/wasm/wat.js";
import { runCaptured } from "../run-captured.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tfaas-meter-"));
  await writeFile(
    join(dir, "sum.wasm"),
    wat(`(module
      (import "env" "log" (func $log (param i32)))
      (func (export "sum") (param $n i32) (result i32) (local $acc i32)
        (block $done (loop $top
          (br_if $done (i32.eqz (local.get $n)))
          (local.set $acc (i32.add (local.get $acc) (local.get $n)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br $top)))
        (local.get $acc))
      (func (export "wide") (param i64 f64) (result i64 f64) (local.get 0) (local.get 1))
      (func (export "logs") (call $log (i32.const 1))))`),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCaptured(argv, dir);
}

describe("tfaas meter", () => {
  it("instruments a module to a file that exports the fuel counter", async () => {
    const result = await run(["meter", "instrument", "sum.wasm", "-o", "sum.metered.wasm", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ weightsVersion: "v1", functions: 3 });
    const module = new WebAssembly.Module(await readFile(join(dir, "sum.metered.wasm")));
    expect(WebAssembly.Module.exports(module).map((entry) => entry.name)).toContain("__tfaas_fuel");
  });

  it("runs an export with typed arguments and prints results and fuel, instrumented or not", async () => {
    const plain = await run(["meter", "run", "sum.wasm", "--invoke", "sum", "100", "--json"]);
    expect(plain.code).toBe(0);
    // 12 per iteration + 6 (see src/metering/instrument.test.ts).
    expect(JSON.parse(plain.stdout)).toMatchObject({ instrumentedHere: true, results: ["5050"], usage: { fuel: "1206" } });
    const metered = await run(["meter", "run", "sum.metered.wasm", "--invoke", "sum", "100"]);
    expect(metered.stdout).toMatch(/Results: +5050\n/);
    expect(metered.stdout).toMatch(/Fuel: +1206\n/);
    const wide = await run(["meter", "run", "sum.wasm", "--invoke", "wide", "9007199254740993", "1.5", "--json"]);
    expect(JSON.parse(wide.stdout).results).toEqual(["9007199254740993", "1.5"]);
  });

  it("fails with fuel exhausted beyond the limit, and when an import is called", async () => {
    const exhausted = await run(["meter", "run", "sum.wasm", "--invoke", "sum", "100", "--fuel-limit", "50"]);
    expect(exhausted.code).toBe(1);
    expect(exhausted.stdout).toMatch(/Trap: +fuel exhausted\n/);
    expect(exhausted.stdout).toMatch(/Fuel: +62\n/);
    const imported = await run(["meter", "run", "sum.wasm", "--invoke", "logs"]);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/import env\.log was called/);
    const wrong = await run(["meter", "run", "sum.wasm", "--invoke", "sum"]);
    expect(wrong.stderr).toMatch(/Cannot invoke sum: current value is 0 arguments, expected 1 \(i32\)/);
    const unknown = await run(["meter", "instrument", "sum.wasm", "-o", "x.wasm", "--weights", "v9"]);
    expect(unknown.stderr).toMatch(/Cannot use weight table: current value is "v9"/);
  });
});
