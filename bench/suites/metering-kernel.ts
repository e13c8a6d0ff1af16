/**
 * One kernel's measurement for the metering suite (metering.ts): the original module, instrumented
 * with the optimiser and instrumented naively, in one process, in alternating order, one call per
 * sample; medians per variant. A sample is the process's CPU time (user + system) during the call,
 * not wall time: on a shared machine a call that loses its core to another process would otherwise
 * count the wait.
 *
 * Run as a script (`<kernel.json> <budgetMs>`, the JSON holding the Kernel with its bytes in
 * base64), it measures in this fresh process and prints the KernelResult as JSON: the suite runs
 * each kernel in several fresh processes, because a kernel's overhead moved by up to ±13 points
 * with the kernels that ran before it in the same process.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { instrument, readFuel } from "../../src/metering/index.js";
import type { Kernel } from "../kernels/index.js";
import { median } from "../load.js";

export const VARIANTS = ["original", "optimized", "naive"] as const;
export type Variant = (typeof VARIANTS)[number];
const WARMUP_CALLS = 5;
const MIN_SAMPLES = 15;

export interface KernelResult {
  kernel: string;
  lang: string;
  kind: string;
  n: number;
  checksum: number;
  medianMs: Record<Variant, number>;
  overheadPct: { optimized: number; naive: number };
  fuel: string;
  fuelPerMs: number;
  samples: number;
  moduleBytes: number;
  instrumentedBytes: number;
  blocks: number;
  checks: number;
}

type RunFunction = (n: number) => number;

function instantiate(bytes: Uint8Array<ArrayBuffer>): { run: RunFunction; exports: WebAssembly.Exports } {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  return { run: exports.run as RunFunction, exports };
}

function fuelOf(exports: WebAssembly.Exports): bigint {
  return readFuel(exports);
}

export function measureKernel(kernel: Kernel, budgetMs: number): KernelResult {
  const optimized = instrument(kernel.bytes);
  const naive = instrument(kernel.bytes, { optimize: false });
  const bytes: Record<Variant, Uint8Array<ArrayBuffer>> = { original: kernel.bytes, optimized: optimized.bytes, naive: naive.bytes };

  // Fuel of exactly one call, on fresh instances; both instrumentations must agree on it.
  const fresh = { optimized: instantiate(optimized.bytes), naive: instantiate(naive.bytes) };
  fresh.optimized.run(kernel.n);
  fresh.naive.run(kernel.n);
  const fuel = fuelOf(fresh.optimized.exports);
  if (fuel !== fuelOf(fresh.naive.exports)) throw new Error(`${kernel.name}: optimized fuel ${fuel} ≠ naive fuel ${fuelOf(fresh.naive.exports)}`);

  const runs = Object.fromEntries(VARIANTS.map((variant) => [variant, instantiate(bytes[variant]).run])) as Record<Variant, RunFunction>;
  const checksums = VARIANTS.map((variant) => {
    let checksum = 0;
    // Warm-up also lets V8 tier the hot functions up to optimised code (there is no on-stack replacement for wasm).
    for (let call = 0; call < WARMUP_CALLS; call++) checksum = runs[variant](kernel.n) >>> 0;
    return checksum;
  });
  if (new Set(checksums).size !== 1) throw new Error(`${kernel.name}: checksums differ between variants: ${checksums.join(", ")}`);

  const samples: Record<Variant, number[]> = { original: [], optimized: [], naive: [] };
  const started = performance.now();
  for (let round = 0; round < MIN_SAMPLES || performance.now() - started < budgetMs; round++) {
    // Rotate the order so no variant always runs right after the same neighbour.
    for (let offset = 0; offset < VARIANTS.length; offset++) {
      const variant = VARIANTS[(round + offset) % VARIANTS.length]!;
      const before = process.cpuUsage();
      runs[variant](kernel.n);
      const used = process.cpuUsage(before);
      samples[variant].push((used.user + used.system) / 1000);
    }
  }
  const medianMs = Object.fromEntries(VARIANTS.map((variant) => [variant, median(samples[variant])])) as Record<Variant, number>;
  const overhead = (variant: Variant) => (medianMs[variant] / medianMs.original - 1) * 100;
  return {
    kernel: kernel.name,
    lang: kernel.lang,
    kind: kernel.kind,
    n: kernel.n,
    checksum: checksums[0]!,
    medianMs,
    overheadPct: { optimized: overhead("optimized"), naive: overhead("naive") },
    fuel: fuel.toString(),
    fuelPerMs: Number(fuel) / medianMs.original,
    samples: samples.original.length,
    moduleBytes: kernel.bytes.length,
    instrumentedBytes: optimized.report.outputBytes,
    blocks: optimized.report.blocks,
    checks: optimized.report.checks,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, budget] = process.argv.slice(2);
  const stored = JSON.parse(readFileSync(file!, "utf8")) as Omit<Kernel, "bytes"> & { bytes: string };
  const kernel: Kernel = { ...stored, bytes: Uint8Array.from(Buffer.from(stored.bytes, "base64")) };
  process.stdout.write(JSON.stringify(measureKernel(kernel, Number(budget))));
}
