/**
 * JavaScript engines. In-process, in one worker-like runtime:
 * - engine start-up: the QuickJS metering pass (what a machine without the engine cache pays),
 *   reading the cached engine, and each engine's start as a worker does it before any deploy;
 * - a hello function in quickjs and v8 against an equivalent wasm echo (the baseline, same run):
 *   prepare (deploy), first call, warm p50/p99 in a closed loop, p50 with 1 ms between calls
 *   (traffic with gaps: the next V8 context is made in them), calls/s at 1 and 4 concurrent clients;
 * - a CPU-heavy function (the same loop) in wasm, quickjs and v8;
 * - a CPU-bound script in metered QuickJS (the engine TFaaS runs) against unmetered QuickJS.
 * Through HTTP (js-http.ts): cold start after deploy on a running platform, with and without
 * engines started early, and what that costs every worker in memory.
 * The v8 engine needs `--no-node-snapshot` on Node 20+ (workers get it; `npm run bench` works
 * without it on the versions tested, but add it via NODE_OPTIONS if isolates fail to start).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as releaseSyncModule from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, type QuickJSSyncVariant } from "quickjs-emscripten-core";
import { wat } from "../../test/fixtures/wasm/wat.js";
import { watFixture } from "../../test/harness.js";
import { instrument, readFuel } from "../../src/metering/index.js";
import type { InvocationContext, InvocationRequest, PreparedFunction, Runtime } from "../../src/sandbox/index.js";
import { createJsRuntime } from "../../src/sandbox/js/index.js";
import { instrumentedModule } from "../../src/sandbox/instrumented-cache.js";
import { prewarmJsEngines } from "../../src/sandbox/js/prewarm.js";
import { engineCacheIn, newEngineInstance } from "../../src/sandbox/js/quickjs/engine.js";
import { createWasmRuntime } from "../../src/sandbox/wasm/index.js";
import { median, percentile } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";
import { measureHttp, type HttpRun } from "./js-http.js";

const releaseSync = (releaseSyncModule as unknown as { default: QuickJSSyncVariant }).default;
const HELLO = `export default { async fetch(request) { return new Response("hello " + (await request.text())); } };`;
const CPU_SCRIPT = `let s = 0; for (let i = 0; i < 300000; i++) { s = (s + i * i) % 1000003; } const o = {}; for (let i = 0; i < 30000; i++) { o["k" + (i % 100)] = i; } s`;
/** The CPU-heavy function: the same loop in JavaScript and in WebAssembly (i64), answering its result. */
const HEAVY_ITERATIONS = 500_000;
const HEAVY_JS = `export default { fetch() { let s = 0; for (let i = 0; i < ${HEAVY_ITERATIONS}; i++) { s = (s + i * i) % 1000003; } return new Response(String(s)); } };`;
const HEAVY_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i64) (local $s i64)
    (loop $next
      (local.set $s (i64.rem_u (i64.add (local.get $s) (i64.mul (local.get $i) (local.get $i))) (i64.const 1000003)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (i64.const ${HEAVY_ITERATIONS}))))
    (i64.store (i32.const 64) (local.get $s))
    (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
const HEAVY_ROUNDS = 7;
/** Functions deployed per engine for the prepare / first-call medians. */
const COLD_SAMPLES = 5;
const TARGETS = { warmP50Ms: 1, coldStartMs: 10, meteredCpuRatio: 1.3 };

const request: InvocationRequest = { method: "POST", path: "/", query: "", headers: {}, body: new TextEncoder().encode("bench") };
const context: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1 << 20, fuelLimit: 10_000_000_000n, timeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface EngineResult {
  engine: string;
  /** Runtime.prepare: what the worker does when the function is deployed. */
  prepareMs: number;
  /** The first call after prepare: what a caller waits for after a deploy. */
  coldStartMs: number;
  warmP50Ms: number;
  warmP99Ms: number;
  /** p50 with 1 ms between calls (the closed loop leaves no gap for preparing the next call). */
  gapP50Ms: number;
  callsPerSecond: number;
  /** Calls/s with 4 clients calling at once. */
  callsPerSecond4: number;
  warmP50VsWasm: number;
}

async function closedLoop(fn: PreparedFunction, seconds: number, clients: number, gapMs = 0): Promise<{ samples: number[]; perSecond: number }> {
  const samples: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1000;
  const client = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      await fn.invoke(request, context);
      samples.push(performance.now() - t);
      if (gapMs > 0) await sleep(gapMs);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  samples.sort((a, b) => a - b);
  return { samples, perSecond: samples.length / ((performance.now() - started) / 1000) };
}

/** Prepare and first call of COLD_SAMPLES functions (medians); returns the last one prepared. */
async function coldStarts(name: string, runtime: () => Runtime, variants: Uint8Array[]): Promise<{ fn: PreparedFunction; prepareMs: number; coldStartMs: number }> {
  const prepares: number[] = [];
  const firsts: number[] = [];
  let fn: PreparedFunction | undefined;
  for (const code of variants) {
    const prepareStarted = performance.now();
    fn = await runtime().prepare(code, { abi: "stdio" });
    const coldStarted = performance.now();
    const first = await fn.invoke(request, context);
    firsts.push(performance.now() - coldStarted);
    prepares.push(coldStarted - prepareStarted);
    if (first.status !== 200) throw new Error(`${name}: hello answered ${first.status}: ${new TextDecoder().decode(first.body)}`);
  }
  return { fn: fn!, prepareMs: median(prepares), coldStartMs: median(firsts) };
}

async function measureEngine(name: string, runtime: () => Runtime, variants: Uint8Array[], seconds: number): Promise<Omit<EngineResult, "warmP50VsWasm">> {
  const { fn, prepareMs, coldStartMs } = await coldStarts(name, runtime, variants);
  for (let i = 0; i < 50; i++) await fn.invoke(request, context);
  const one = await closedLoop(fn, seconds, 1);
  const gap = await closedLoop(fn, seconds / 2, 1, 1);
  const four = await closedLoop(fn, seconds / 2, 4);
  return {
    engine: name,
    prepareMs,
    coldStartMs,
    warmP50Ms: percentile(one.samples, 50),
    warmP99Ms: percentile(one.samples, 99),
    gapP50Ms: percentile(gap.samples, 50),
    callsPerSecond: one.perSecond,
    callsPerSecond4: four.perSecond,
  };
}

/** Engine start-up pieces, as a worker meets them (each engine's start is the first in this process). */
async function measureStartup(cacheDir: string): Promise<{ meteringPassMs: number; cacheReadMs: number; quickjsStartMs: number; v8StartMs: number }> {
  const engine = readFileSync(createRequire(import.meta.url).resolve("@jitl/quickjs-wasmfile-release-sync/wasm"));
  let t = performance.now();
  instrument(engine);
  const meteringPassMs = performance.now() - t;
  await instrumentedModule(engine, engineCacheIn(cacheDir)); // writes the cache file
  t = performance.now();
  const cached = await instrumentedModule(engine, engineCacheIn(cacheDir));
  const cacheReadMs = performance.now() - t;
  if (cached.from !== "cache") throw new Error("the engine cache was not used");
  const timings = await prewarmJsEngines(["quickjs", "v8"], cacheDir);
  const startMs = (engine: string) => timings.find((timing) => timing.engine === engine)!.ms;
  return { meteringPassMs, cacheReadMs, quickjsStartMs: startMs("quickjs"), v8StartMs: startMs("v8") };
}

/** The CPU-heavy function in each runtime: median of HEAVY_ROUNDS calls after one warm-up call. */
async function measureHeavy(): Promise<Array<{ engine: string; medianMs: number; answer: string }>> {
  const rows = [];
  for (const [engine, runtime, code] of [
    ["wasm", createWasmRuntime(), wat(HEAVY_WAT)],
    ["quickjs", createJsRuntime("quickjs"), new TextEncoder().encode(HEAVY_JS)],
    ["v8", createJsRuntime("v8"), new TextEncoder().encode(HEAVY_JS)],
  ] as const) {
    const fn = await runtime.prepare(code, { abi: "stdio" });
    const times: number[] = [];
    let answer = "";
    for (let round = 0; round <= HEAVY_ROUNDS; round++) {
      const t = performance.now();
      const result = await fn.invoke(request, context);
      if (round > 0) times.push(performance.now() - t);
      if (result.status !== 200) throw new Error(`${engine}: heavy answered ${result.status}: ${new TextDecoder().decode(result.body)}`);
      answer = engine === "wasm" ? String(Buffer.from(result.body).readBigUInt64LE(0)) : new TextDecoder().decode(result.body);
    }
    rows.push({ engine, medianMs: median(times), answer });
  }
  if (new Set(rows.map((row) => row.answer)).size !== 1) throw new Error(`the heavy function's answers differ: ${rows.map((row) => `${row.engine}=${row.answer}`).join(", ")}`);
  return rows;
}

/** CPU script: metered QuickJS (TFaaS's engine) vs the stock unmetered module, alternating. */
async function measureCpu(rounds: number): Promise<{ unmeteredMs: number; meteredMs: number; ratio: number; fuel: string }> {
  const stock = await newQuickJSWASMModuleFromVariant(releaseSync);
  const metered = await newEngineInstance();
  const times = { unmetered: [] as number[], metered: [] as number[] };
  let used = 0n;
  for (let round = 0; round < rounds + 2; round++) {
    for (const [variant, module] of [["unmetered", stock], ["metered", metered.quickjs]] as const) {
      const before = readFuel(metered.exports);
      const vm = module.newContext();
      const t = performance.now();
      vm.unwrapResult(vm.evalCode(CPU_SCRIPT)).dispose();
      const dt = performance.now() - t;
      vm.dispose();
      if (variant === "metered") used = readFuel(metered.exports) - before;
      if (round >= 2) times[variant].push(dt);
    }
  }
  const unmeteredMs = median(times.unmetered);
  const meteredMs = median(times.metered);
  return { unmeteredMs, meteredMs, ratio: meteredMs / unmeteredMs, fuel: used.toString() };
}

const ms = (value: number, digits = 1) => value.toFixed(digits);

function httpTable(runs: HttpRun[]): string[] {
  return [
    "through HTTP (tfaas up, 2 workers); first call = deploy answered → first response:",
    "TFAAS_JS_PREWARM       at start (fresh data dir): quickjs deploy / first call, v8 first call ms   after 3 s idle: first function ms (wasm / quickjs / v8)   further functions ms   warm p50 ms   idle workers' RSS MiB",
    ...runs.map((run) => {
      const triple = (pick: (row: HttpRun["engines"][number]) => number, digits = 1) => run.engines.map((row) => ms(pick(row), digits)).join(" / ");
      const atStart = `${ms(run.atStart.quickjsDeployMs)} / ${ms(run.atStart.quickjsFirstCallMs)}, ${ms(run.atStart.v8FirstCallMs)}`;
      return `${run.prewarm.padEnd(21)}  ${atStart.padStart(69)}   ${triple((row) => row.firstFunctionMs).padStart(52)}   ${triple((row) => row.furtherFunctionMs).padStart(20)}   ${triple((row) => row.warmP50Ms, 2).padStart(18)}   ${ms(run.idleWorkersRssMb, 0).padStart(5)} (${run.workers} workers)`;
    }),
  ];
}

export const jsSuite: Suite = {
  name: "js",
  description: "JavaScript engines: start-up, cold start, warm latency and throughput (quickjs, v8, wasm baseline), a CPU-heavy function, metered vs unmetered QuickJS, and cold start through HTTP",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const cacheDir = mkdtempSync(join(tmpdir(), "tfaas-bench-js-"));
    try {
      options.progress("js: engine start-up");
      const startup = await measureStartup(cacheDir);
      // Each cold start is a different module (a comment differs), as a new deploy would be.
      const hello = Array.from({ length: COLD_SAMPLES }, (_, i) => new TextEncoder().encode(`${HELLO}\n// ${i}`));
      options.progress("js: wasm baseline");
      const echo = await watFixture("echo");
      const wasm = await measureEngine("wasm (echo)", createWasmRuntime, Array.from({ length: COLD_SAMPLES }, () => echo), options.seconds);
      const results: EngineResult[] = [{ ...wasm, warmP50VsWasm: 1 }];
      for (const engine of ["quickjs", "v8"] as const) {
        options.progress(`js: ${engine}`);
        const measured = await measureEngine(engine, () => createJsRuntime(engine), hello, options.seconds);
        results.push({ ...measured, warmP50VsWasm: measured.warmP50Ms / wasm.warmP50Ms });
      }
      options.progress("js: CPU-heavy function in wasm, quickjs and v8");
      const heavy = await measureHeavy();
      options.progress("js: CPU-bound script, metered vs unmetered QuickJS");
      const cpu = await measureCpu(7);
      const http = await measureHttp(Math.max(1, options.seconds / 2), options.progress);
      const table = [
        `engine start-up (in-process): QuickJS metering pass ${ms(startup.meteringPassMs)} ms (once per machine: cached), cached engine read+verify ${ms(startup.cacheReadMs)} ms; worker start: quickjs ${startup.quickjsStartMs} ms, v8 ${startup.v8StartMs} ms (in the background, before any deploy)`,
        `in-process, medians of ${COLD_SAMPLES} new functions for prepare and first call (engines already started, as in a worker):`,
        "engine          prepare ms   first call ms   warm p50 ms   warm p99 ms   p50 1ms-gap   calls/s   calls/s x4   p50 vs wasm",
        ...results.map(
          (r) =>
            `${r.engine.padEnd(15)} ${ms(r.prepareMs).padStart(10)}   ${ms(r.coldStartMs, 2).padStart(13)}   ${ms(r.warmP50Ms, 3).padStart(11)}   ${ms(r.warmP99Ms, 3).padStart(11)}   ${ms(r.gapP50Ms, 3).padStart(11)}   ${r.callsPerSecond.toFixed(0).padStart(7)}   ${r.callsPerSecond4.toFixed(0).padStart(10)}   ${r.warmP50VsWasm.toFixed(1).padStart(10)}x`,
        ),
        `CPU-heavy function (${HEAVY_ITERATIONS} iterations of s = (s + i*i) % 1000003, median of ${HEAVY_ROUNDS} calls): ${heavy.map((row) => `${row.engine} ${ms(row.medianMs)} ms`).join(", ")}`,
        `CPU-bound script: unmetered QuickJS ${ms(cpu.unmeteredMs)} ms, metered ${ms(cpu.meteredMs)} ms, ratio ${cpu.ratio.toFixed(2)}x (target ≤ ${TARGETS.meteredCpuRatio}x), fuel ${cpu.fuel}`,
        ...httpTable(http),
        `targets: warm p50 ≤ ${TARGETS.warmP50Ms} ms, cold start (first call after deploy) ≤ ${TARGETS.coldStartMs} ms`,
      ];
      return { table, json: { startup, engines: results, heavy, cpu, http, targets: TARGETS } };
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  },
};
