/**
 * Metering overhead: every compute kernel (bench/kernels) as the original module, as instrumented
 * with the optimiser (the default) and as instrumented naively (a global update per block), all
 * three measured side by side in each of PROCESSES fresh processes (metering-kernel.ts); a
 * kernel's overhead is the median of its processes' overheads. Also fuel per kernel call (which
 * every process must agree on) and instrumentation throughput (MB/s).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { instrument } from "../../src/metering/index.js";
import { buildKernels, buildLargeModule, type Kernel } from "../kernels/index.js";
import { median } from "../load.js";
import type { BenchOptions, Suite, SuiteResult } from "../suite.js";
import { type KernelResult, type Variant, VARIANTS } from "./metering-kernel.js";

const LARGE_MODULE_FUNCTIONS = 2000;
const TARGETS = { geomeanOverheadPct: 5, worstOverheadPct: 10 };
/** Fresh processes per kernel; a kernel's figures are the median over them (metering-kernel.ts says why). */
const PROCESSES = 5;
const CHILD = fileURLToPath(new URL("./metering-kernel.ts", import.meta.url));

interface KernelSummary extends KernelResult {
  processes: number;
  /** Lowest and highest optimised overhead among the processes. */
  optimizedRangePct: [number, number];
}

/** Measures `kernel` in PROCESSES fresh processes, one after another, each with its share of the budget. */
function measureInFreshProcesses(kernel: Kernel, budgetMs: number, dir: string): KernelSummary {
  const file = path.join(dir, `${kernel.lang}-${kernel.name}.json`);
  writeFileSync(file, JSON.stringify({ ...kernel, bytes: Buffer.from(kernel.bytes).toString("base64") }));
  const runs = Array.from({ length: PROCESSES }, () => {
    const output = execFileSync(process.execPath, [...process.execArgv, CHILD, file, String(Math.ceil(budgetMs / PROCESSES))], { encoding: "utf8" });
    return JSON.parse(output) as KernelResult;
  });
  // Results and fuel are deterministic: every process must agree on them.
  for (const [what, values] of [["checksum", runs.map((r) => String(r.checksum))], ["fuel", runs.map((r) => r.fuel)]] as const) {
    if (new Set(values).size !== 1) throw new Error(`${kernel.name}: ${what} differs between processes: ${values.join(", ")}`);
  }
  const medianMs = Object.fromEntries(VARIANTS.map((variant) => [variant, median(runs.map((r) => r.medianMs[variant]))])) as Record<Variant, number>;
  const optimized = runs.map((r) => r.overheadPct.optimized);
  return {
    ...runs[0]!,
    medianMs,
    overheadPct: { optimized: median(optimized), naive: median(runs.map((r) => r.overheadPct.naive)) },
    fuelPerMs: Number(runs[0]!.fuel) / medianMs.original,
    samples: runs.reduce((sum, r) => sum + r.samples, 0),
    processes: PROCESSES,
    optimizedRangePct: [Math.min(...optimized), Math.max(...optimized)],
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

  const results: KernelSummary[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "tfaas-metering-"));
  try {
    for (const kernel of kernels) {
      progress(`${kernel.lang} ${kernel.name} (${PROCESSES} processes)…`);
      results.push(measureInFreshProcesses(kernel, seconds * 1000, dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  progress("instrumentation throughput…");
  const kernelBytes = kernels.map((kernel) => kernel.bytes);
  const speed = {
    kernels: throughput(kernelBytes, true, 1000),
    large: throughput([large], true, 2000),
    largeNaive: throughput([large], false, 2000),
  };

  const summarize = (variant: "optimized" | "naive") => {
    const ratios = results.map((r) => 1 + r.overheadPct[variant] / 100);
    const worst = results.reduce((a, b) => (b.overheadPct[variant] > a.overheadPct[variant] ? b : a));
    return { geomeanOverheadPct: (geomean(ratios) - 1) * 100, worstOverheadPct: worst.overheadPct[variant], worstKernel: `${worst.lang}/${worst.kernel}` };
  };
  const summary = { optimized: summarize("optimized"), naive: summarize("naive") };
  const report = {
    benchmark: "metering-overhead",
    secondsPerKernel: seconds,
    processesPerKernel: PROCESSES,
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
    `CPU time per call; each kernel in ${PROCESSES} fresh processes, each with ${(seconds / PROCESSES).toFixed(2)}s of alternating samples (original / instrumented optimised / naive); ` +
      "ms are medians over the processes, overheads the median of the processes' overheads, range their lowest–highest",
    `${"kernel".padEnd(20)} ${"n".padStart(7)} ${"orig ms".padStart(8)} ${"opt ms".padStart(8)} ${"opt".padStart(7)} ${"opt range".padStart(15)} ${"naive ms".padStart(8)} ${"naive".padStart(7)} ${"fuel".padStart(12)} ${"fuel/ms".padStart(9)}`,
    ...results.map(
      (r) =>
        `${`${r.lang === "c" ? "c" : "as"}/${r.kernel} (${r.kind})`.padEnd(20)} ${String(r.n).padStart(7)} ${r.medianMs.original.toFixed(2).padStart(8)} ${r.medianMs.optimized.toFixed(2).padStart(8)} ${pct(r.overheadPct.optimized).padStart(7)} ${`${pct(r.optimizedRangePct[0])}…${pct(r.optimizedRangePct[1])}`.padStart(15)} ${r.medianMs.naive.toFixed(2).padStart(8)} ${pct(r.overheadPct.naive).padStart(7)} ${r.fuel.padStart(12)} ${r.fuelPerMs.toExponential(2).padStart(9)}`,
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
