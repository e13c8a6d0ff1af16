/**
 * JavaScript engines, in-process in one worker-like runtime: cold start (prepare + first call on
 * a fresh runtime), warm latency (p50/p99) and sequential throughput of a hello function in
 * quickjs and v8 against an equivalent wasm echo (the baseline, same run), and a CPU-bound script
 * in QuickJS metered (the engine TFaaS runs) against the same script in unmetered QuickJS.
 * The v8 engine needs `--no-node-snapshot` on Node 20+ (workers get it; `npm run bench` works
 * without it on the versions tested, but add it via NODE_OPTIONS if isolates fail to start).
 */
import * as releaseSyncModule from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, type QuickJSSyncVariant } from "quickjs-emscripten-core";
import { watFixture } from "../../test/harness.js";
import type { InvocationContext, InvocationRequest, PreparedFunction, Runtime } from "../../src/sandbox/index.js";
import { createJsRuntime } from "../../src/sandbox/js/index.js";
import { newEngineInstance } from "../../src/sandbox/js/quickjs/engine.js";
import { createWasmRuntime } from "../../src/sandbox/wasm/index.js";
import { median, percentile } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const releaseSync = (releaseSyncModule as unknown as { default: QuickJSSyncVariant }).default;
const HELLO = `export default { async fetch(request) { return new Response("hello " + (await request.text())); } };`;
const CPU_SCRIPT = `let s = 0; for (let i = 0; i < 300000; i++) { s = (s + i * i) % 1000003; } const o = {}; for (let i = 0; i < 30000; i++) { o["k" + (i % 100)] = i; } s`;
const TARGETS = { warmP50Ms: 1, coldStartMs: 10, meteredCpuRatio: 1.3 };

const request: InvocationRequest = { method: "POST", path: "/", query: "", headers: {}, body: new TextEncoder().encode("bench") };
const context: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1 << 20, fuelLimit: 10_000_000_000n, timeoutMs: 10_000 };

interface EngineResult {
  engine: string;
  /** Runtime.prepare: what the worker does when the function is deployed (first one: engine start). */
  prepareMs: number;
  /** The first call after prepare: what a caller waits for after a deploy. */
  coldStartMs: number;
  warmP50Ms: number;
  warmP99Ms: number;
  callsPerSecond: number;
  warmP50VsWasm: number;
}

async function measureEngine(name: string, runtime: () => Runtime, code: Uint8Array, seconds: number): Promise<Omit<EngineResult, "warmP50VsWasm">> {
  const prepareStarted = performance.now();
  const fn: PreparedFunction = await runtime().prepare(code, { abi: "stdio" });
  const coldStarted = performance.now();
  const first = await fn.invoke(request, context);
  const coldStartMs = performance.now() - coldStarted;
  const prepareMs = coldStarted - prepareStarted;
  if (first.status !== 200) throw new Error(`${name}: hello answered ${first.status}: ${new TextDecoder().decode(first.body)}`);
  for (let i = 0; i < 50; i++) await fn.invoke(request, context);
  const samples: number[] = [];
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const t = performance.now();
    await fn.invoke(request, context);
    samples.push(performance.now() - t);
  }
  const elapsed = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  return { engine: name, prepareMs, coldStartMs, warmP50Ms: percentile(samples, 50), warmP99Ms: percentile(samples, 99), callsPerSecond: samples.length / elapsed };
}

/** CPU script: metered QuickJS (TFaaS's engine) vs the stock unmetered module, alternating. */
async function measureCpu(rounds: number): Promise<{ unmeteredMs: number; meteredMs: number; ratio: number; fuel: string }> {
  const stock = await newQuickJSWASMModuleFromVariant(releaseSync);
  const metered = await newEngineInstance();
  const fuel = metered.exports["__tfaas_fuel"] as WebAssembly.Global;
  const times = { unmetered: [] as number[], metered: [] as number[] };
  let used = 0n;
  for (let round = 0; round < rounds + 2; round++) {
    for (const [variant, module] of [["unmetered", stock], ["metered", metered.quickjs]] as const) {
      const before = fuel.value as bigint;
      const vm = module.newContext();
      const t = performance.now();
      vm.unwrapResult(vm.evalCode(CPU_SCRIPT)).dispose();
      const dt = performance.now() - t;
      vm.dispose();
      if (variant === "metered") used = (fuel.value as bigint) - before;
      if (round >= 2) times[variant].push(dt);
    }
  }
  const unmeteredMs = median(times.unmetered);
  const meteredMs = median(times.metered);
  return { unmeteredMs, meteredMs, ratio: meteredMs / unmeteredMs, fuel: used.toString() };
}

export const jsSuite: Suite = {
  name: "js",
  description: "JavaScript engines: cold start, warm latency and throughput (quickjs, v8, wasm baseline); metered vs unmetered QuickJS on CPU-bound code",
  async run(options: BenchOptions): Promise<SuiteResult> {
    const hello = new TextEncoder().encode(HELLO);
    options.progress("js: wasm baseline");
    const wasm = await measureEngine("wasm (echo)", createWasmRuntime, await watFixture("echo"), options.seconds);
    const results: EngineResult[] = [{ ...wasm, warmP50VsWasm: 1 }];
    for (const engine of ["quickjs", "v8"] as const) {
      options.progress(`js: ${engine}`);
      const measured = await measureEngine(engine, () => createJsRuntime(engine), hello, options.seconds);
      results.push({ ...measured, warmP50VsWasm: measured.warmP50Ms / wasm.warmP50Ms });
    }
    options.progress("js: CPU-bound script, metered vs unmetered QuickJS");
    const cpu = await measureCpu(7);
    const table = [
      "engine          prepare ms   first call ms   warm p50 ms   warm p99 ms   calls/s   p50 vs wasm",
      ...results.map(
        (r) =>
          `${r.engine.padEnd(15)} ${r.prepareMs.toFixed(1).padStart(10)}   ${r.coldStartMs.toFixed(2).padStart(13)}   ${r.warmP50Ms.toFixed(3).padStart(11)}   ${r.warmP99Ms.toFixed(3).padStart(11)}   ${r.callsPerSecond.toFixed(0).padStart(7)}   ${r.warmP50VsWasm.toFixed(1).padStart(10)}x`,
      ),
      `CPU-bound script: unmetered QuickJS ${cpu.unmeteredMs.toFixed(1)} ms, metered ${cpu.meteredMs.toFixed(1)} ms, ratio ${cpu.ratio.toFixed(2)}x (target ≤ ${TARGETS.meteredCpuRatio}x), fuel ${cpu.fuel}`,
      `targets: warm p50 ≤ ${TARGETS.warmP50Ms} ms, cold start (first call after prepare) ≤ ${TARGETS.coldStartMs} ms (in-process; through HTTP add the gateway's IPC and HTTP cost)`,
    ];
    return { table, json: { engines: results, cpu, targets: TARGETS } };
  },
};
