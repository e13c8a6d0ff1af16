/**
 * Compute kernels for the metering benchmark, built from source at bench time into a temporary
 * folder (binaries are never committed): C with clang (wasm32, no WASI imports: only wasi-libc's
 * memcpy/memset get linked) and AssemblyScript with its compiler API. Each module exports
 * `run(n)`, returning a checksum, and imports nothing.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Kernel {
  name: string;
  lang: "c" | "assemblyscript";
  /** What the kernel stands for: matrix, hashing, sorting, recursion, parsing, float. */
  kind: string;
  /** Argument of `run`, chosen so one call takes roughly 10 ms on a current x86 core. */
  n: number;
  bytes: Uint8Array<ArrayBuffer>;
}

interface KernelSource {
  name: string;
  lang: Kernel["lang"];
  kind: string;
  n: number;
}

const SOURCES: readonly KernelSource[] = [
  { name: "matmul", lang: "c", kind: "matrix", n: 256 },
  { name: "sha256", lang: "c", kind: "hashing", n: 60 },
  { name: "quicksort", lang: "c", kind: "sorting", n: 100_000 },
  { name: "recursion", lang: "c", kind: "recursion", n: 30 },
  { name: "tokenizer", lang: "c", kind: "parsing", n: 20_000 },
  { name: "nbody", lang: "c", kind: "float", n: 100_000 },
  { name: "fnv", lang: "assemblyscript", kind: "hashing", n: 100 },
  { name: "mandelbrot", lang: "assemblyscript", kind: "float", n: 200 },
  { name: "heapsort", lang: "assemblyscript", kind: "sorting", n: 100_000 },
  { name: "tak", lang: "assemblyscript", kind: "recursion", n: 24 },
];

const here = path.dirname(fileURLToPath(import.meta.url));
const sysroot = () => process.env.WASI_SYSROOT ?? "/usr";

async function clang(source: string, output: string, extra: string[] = []): Promise<void> {
  const args = ["--target=wasm32-wasi", `--sysroot=${sysroot()}`, "-O2", "-Wall", "-nostartfiles", "-Wl,--no-entry", "-Wl,--export=run", "-Wl,--strip-debug", ...extra, "-o", output, source];
  try {
    await run("clang", args);
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`Cannot build kernel ${path.basename(source)} with clang (needs clang, lld and wasi-libc; WASI_SYSROOT=${sysroot()}):\n${detail}`);
  }
}

async function assemblyScript(source: string, output: string): Promise<void> {
  const asc = await import("assemblyscript/asc");
  const diagnostics = asc.createMemoryStream();
  // No runtime to speak of (stub: bump allocation, no collector) and no `abort` import.
  const result = await asc.main(
    [path.basename(source), "--baseDir", path.dirname(source), "--outFile", output, "--optimizeLevel", "3", "--runtime", "stub", "--noAssert", "--use", "abort=", "--noColors"],
    { stdout: diagnostics, stderr: diagnostics },
  );
  if (result.error !== null) throw new Error(`Cannot build kernel ${path.basename(source)}: ${diagnostics.toString()}`);
}

/** Builds every kernel (C in parallel, then AssemblyScript, whose compiler runs one at a time). */
export async function buildKernels(progress: (line: string) => void): Promise<Kernel[]> {
  const folder = await mkdtemp(path.join(tmpdir(), "tfaas-kernels-"));
  try {
    const output = (source: KernelSource) => path.join(folder, `${source.lang}-${source.name}.wasm`);
    progress(`building ${SOURCES.length} kernels in ${folder}…`);
    await Promise.all(SOURCES.filter((s) => s.lang === "c").map((s) => clang(path.join(here, "c", `${s.name}.c`), output(s))));
    for (const source of SOURCES.filter((s) => s.lang === "assemblyscript")) {
      await assemblyScript(path.join(here, "as", `${source.name}.ts`), output(source));
    }
    return await Promise.all(SOURCES.map(async (source) => ({ ...source, bytes: Uint8Array.from(await readFile(output(source))) })));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * A large module for instrumentation throughput: generated C with `functions` distinct
 * functions (loops, switches, arithmetic, calls through a table), compiled at -O1. Synthetic, so
 * its instruction mix is not a real program's, but its size is.
 */
export async function buildLargeModule(functions: number): Promise<Uint8Array<ArrayBuffer>> {
  const folder = await mkdtemp(path.join(tmpdir(), "tfaas-large-"));
  try {
    const lines = ["typedef unsigned (*fn)(unsigned);"];
    for (let index = 0; index < functions; index++) {
      const k = (index * 2654435761) >>> 0;
      lines.push(
        `static unsigned f${index}(unsigned x) {`,
        `  unsigned acc = x * ${k}u + ${index}u; double d = (double)(x & 255) * ${(index % 97) + 1}.5;`,
        `  for (unsigned j = 0; j < (x & 15); j++) {`,
        `    switch ((acc + j) & 7) {`,
        `      case 0: acc += j * ${(k >>> 3) | 1}u; break;`,
        `      case 1: acc ^= acc >> ${(index % 13) + 1}; break;`,
        `      case 2: d = d * 1.0001 + j; acc += (unsigned)d; break;`,
        `      case 3: acc = (acc << 3) | (acc >> 29); break;`,
        `      case 4: acc -= ${index % 1000}u * j; break;`,
        `      case 5: if (acc % ${(index % 7) + 2}u == 0) acc /= 3u; else acc += 7u; break;`,
        `      default: acc = acc * 31u + j;`,
        `    }`,
        `  }`,
        `  return acc ^ (unsigned)d;`,
        `}`,
      );
    }
    lines.push(`static const fn table[${functions}] = {${Array.from({ length: functions }, (_, i) => `f${i}`).join(",")}};`);
    lines.push(`unsigned run(int n) { unsigned sum = 0; for (int i = 0; i < ${functions}; i++) sum += table[i]((unsigned)(n + i)); return sum; }`);
    const source = path.join(folder, "large.c");
    const output = path.join(folder, "large.wasm");
    await writeFile(source, lines.join("\n"));
    await clang(source, output, ["-O1"]);
    return Uint8Array.from(await readFile(output));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
