/**
 * Metering overhead: every compute kernel (bench/kernels) runs as the original module, as
 * instrumented with the optimiser (the default), and as instrumented naively (a global update
 * per block), in one process, in alternating order, one call per sample; medians per variant.
 * A sample is the process's CPU time (user + system) during the call, not wall time: on a shared
 * machine a call that loses its core to another process would otherwise count the wait. Also
 * fuel per kernel call and instrumentation throughput (MB/s).
 */
import { instrument } from "../../src/metering/index.js";
import { buildKernels, buildLargeModule, type Kernel } from "../kernels/index.js";
import { median } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";

const VARIANTS = ["original", "optimized", "naive"] as const;
type Variant = (typeof VARIANTS)[number];
const WARMUP_CALLS = 5;
const MIN_SAMPLES = 15;
const LARGE_MODULE_FUNCTIONS = 2000;
const TARGETS = { geomeanOverheadPct: 5, worstOverheadPct: 10 };

interface KernelResult {
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
  return (exports.__tfaas_fuel as WebAssembly.Global).value as bigint;
}

function measureKernel(kernel: Kernel, budgetMs: number): KernelResult {
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

/** MB/s of `instrument` over `modules`: the median of repeated passes over all of them. */
function throughput(modules: Uint8Array[], optimize: boolean, budgetMs: number): { mbPerS: number; bytes: number; passes: number } {
  const bytes = modules.reduce((sum, module) => sum + module.length, 0);
  const passes: number[] = [];
  const started = performance.now();
  while (passes.length < 5 || performance.now() - started < budgetMs) {
    const before = performance.now();
    for (const module of modules) instrument(module, { optimize });
    passes.push(performance.now() - before);
  }
  return { mbPerS: bytes / 1e6 / (median(passes) / 1000), bytes, passes: passes.length };
}

const geomean = (ratios: number[]) => Math.exp(ratios.reduce((sum, ratio) => sum + Math.log(ratio), 0) / ratios.length);

async function run({ seconds, progress }: BenchOptions): Promise<SuiteResult> {
  const kernels = await buildKernels(progress);
  progress(`building a large module (${LARGE_MODULE_FUNCTIONS} generated C functions)…`);
  const large = await buildLargeModule(LARGE_MODULE_FUNCTIONS);

  const results: KernelResult[] = [];
  for (const kernel of kernels) {
    progress(`${kernel.lang} ${kernel.name}…`);
    results.push(measureKernel(kernel, seconds * 1000));
  }
  progress("instrumentation throughput…");
  const kernelBytes = kernels.map((kernel) => kernel.bytes);
  const speed = {
    kernels: throughput(kernelBytes, true, 1000),
    large: throughput([large], true, 2000),
    largeNaive: throughput([large], false, 2000),
  };

  const summarize = (variant: "optimized" | "naive") => {
    const ratios = results.map((r) => r.medianMs[variant] / r.medianMs.original);
    const worst = results.reduce((a, b) => (b.overheadPct[variant] > a.overheadPct[variant] ? b : a));
    return { geomeanOverheadPct: (geomean(ratios) - 1) * 100, worstOverheadPct: worst.overheadPct[variant], worstKernel: `${worst.lang}/${worst.kernel}` };
  };
  const summary = { optimized: summarize("optimized"), naive: summarize("naive") };
  const report = {
    benchmark: "metering-overhead",
    secondsPerKernel: seconds,
    kernels: results,
    summary,
    targets: TARGETS,
    met: summary.optimized.geomeanOverheadPct <= TARGETS.geomeanOverheadPct && summary.optimized.worstOverheadPct <= TARGETS.worstOverheadPct,
    instrumentation: {
      kernelsMbPerS: speed.kernels.mbPerS,
      kernelsBytes: speed.kernels.bytes,
      largeModuleBytes: large.length,
      largeMbPerS: speed.large.mbPerS,
      largeNaiveMbPerS: speed.largeNaive.mbPerS,
    },
  };

  const pct = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(1)}%`;
  const table = [
    `CPU time per call, medians of ${seconds}s of alternating samples per kernel (original / instrumented optimised / naive)`,
    `${"kernel".padEnd(20)} ${"n".padStart(7)} ${"orig ms".padStart(8)} ${"opt ms".padStart(8)} ${"opt".padStart(7)} ${"naive ms".padStart(8)} ${"naive".padStart(7)} ${"fuel".padStart(12)} ${"fuel/ms".padStart(9)}`,
    ...results.map(
      (r) =>
        `${`${r.lang === "c" ? "c" : "as"}/${r.kernel} (${r.kind})`.padEnd(20)} ${String(r.n).padStart(7)} ${r.medianMs.original.toFixed(2).padStart(8)} ${r.medianMs.optimized.toFixed(2).padStart(8)} ${pct(r.overheadPct.optimized).padStart(7)} ${r.medianMs.naive.toFixed(2).padStart(8)} ${pct(r.overheadPct.naive).padStart(7)} ${r.fuel.padStart(12)} ${r.fuelPerMs.toExponential(2).padStart(9)}`,
    ),
    `optimised: geomean ${pct(summary.optimized.geomeanOverheadPct)} (target ≤ ${TARGETS.geomeanOverheadPct}%), worst ${pct(summary.optimized.worstOverheadPct)} ${summary.optimized.worstKernel} (target ≤ ${TARGETS.worstOverheadPct}%)`,
    `naive:     geomean ${pct(summary.naive.geomeanOverheadPct)}, worst ${pct(summary.naive.worstOverheadPct)} ${summary.naive.worstKernel}`,
    `instrumentation: kernels ${(speed.kernels.bytes / 1024).toFixed(1)} KiB at ${speed.kernels.mbPerS.toFixed(1)} MB/s; ` +
      `large module ${(large.length / 1e6).toFixed(2)} MB at ${speed.large.mbPerS.toFixed(1)} MB/s (naive ${speed.largeNaive.mbPerS.toFixed(1)} MB/s)`,
  ];
  return { table, json: report };
}

export const meteringSuite: Suite = {
  name: "metering",
  description: "compute kernels original vs instrumented (optimised and naive); fuel; instrumentation MB/s",
  run,
};
