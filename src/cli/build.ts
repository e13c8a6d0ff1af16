/**
 * The build step: turns a function's handler (a folder of sources named in stack.yml) into a
 * WASI preview 1 command module at `<stackDir>/build/<name>/<name>.wasm`.
 *
 * Toolchains: AssemblyScript comes with tfaas itself (its compiler and the WASI shim are
 * tfaas dependencies, resolved from tfaas's own node_modules), so users need nothing else;
 * C uses the system's clang with wasi-libc. JavaScript and TypeScript (`js`, `ts`) are bundled by
 * esbuild (a tfaas dependency) into one self-contained ES module at `build/<name>/<name>.js`.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { APIOptions } from "assemblyscript/asc";
import { TfaasError } from "../shared/errors.js";
import { nameSchema } from "../shared/function.js";

export type FunctionLang = "assemblyscript" | "c" | "js" | "ts";

const FUNCTION_LANGS: readonly string[] = ["assemblyscript", "c", "js", "ts"] satisfies FunctionLang[];

export interface BuildRequest {
  name: string;
  lang: FunctionLang;
  /** Path relative to stackDir: a folder of sources, or a single source file. */
  handler: string;
  stackDir: string;
  onProgress?: (line: string) => void;
}

export function isFunctionLang(value: string): value is FunctionLang {
  return FUNCTION_LANGS.includes(value);
}

export function wasmOutputPath(stackDir: string, name: string): string {
  return path.join(stackDir, "build", name, `${name}.wasm`);
}

function isJavaScriptLang(lang: FunctionLang): lang is "js" | "ts" {
  return lang === "js" || lang === "ts";
}

/** Where a build of `lang` lands, and the media type it is uploaded with. */
export function buildOutput(stackDir: string, name: string, lang: FunctionLang): { path: string; contentType: "application/wasm" | "application/javascript" } {
  return isJavaScriptLang(lang)
    ? { path: path.join(stackDir, "build", name, `${name}.js`), contentType: "application/javascript" }
    : { path: wasmOutputPath(stackDir, name), contentType: "application/wasm" };
}

export async function buildFunction(
  request: BuildRequest,
): Promise<{ outputPath: string; bytes: number; contentType: "application/wasm" | "application/javascript" }> {
  const { name, lang, stackDir } = request;
  // The name becomes a path segment, so it must be a plain label before it touches the disk.
  if (!nameSchema.safeParse(name).success) {
    throw new TfaasError("invalid-name", `Cannot build function: name must be a DNS-1123 label, current value is ${JSON.stringify(name)}`);
  }
  if (!isFunctionLang(lang)) {
    throw new TfaasError("invalid-request", `Cannot build ${name}: lang must be one of ${FUNCTION_LANGS.join(", ")}, current value is ${JSON.stringify(lang)}`);
  }
  const progress = request.onProgress ?? (() => {});
  const handlerPath = path.resolve(stackDir, request.handler);
  const output = buildOutput(stackDir, name, lang);
  const outputPath = output.path;

  progress(`Building ${name} (${lang})…`);
  const started = performance.now();
  await mkdir(path.dirname(outputPath), { recursive: true });
  // A failed build must not leave an older module behind that could be deployed by mistake.
  await rm(outputPath, { force: true });

  const context: BuildContext = { name, stackDir, handlerPath, outputPath, progress };
  if (lang === "assemblyscript") await buildAssemblyScript(context);
  else if (isJavaScriptLang(lang)) await buildJavaScript(context, lang);
  else await buildC(context);

  const bytes = await outputSize(context);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  progress(`Built ${name}: ${bytes} bytes in ${seconds}s`);
  return { outputPath, bytes, contentType: output.contentType };
}

interface BuildContext {
  name: string;
  stackDir: string;
  handlerPath: string;
  outputPath: string;
  progress: (line: string) => void;
}

async function outputSize(context: BuildContext): Promise<number> {
  try {
    return (await stat(context.outputPath)).size;
  } catch (error) {
    throw new TfaasError("build-failed", `Cannot build ${context.name}: the compiler reported success but wrote no module at ${context.outputPath}`, { cause: error });
  }
}

/** The handler's source files: the handler itself if it is a file, else the folder's files that `pick` selects. */
async function sourceFiles(context: BuildContext, pick: (fileNames: string[]) => string[], expected: string): Promise<[string, ...string[]]> {
  const info = await stat(context.handlerPath).catch(() => undefined);
  if (info === undefined) {
    throw new TfaasError("build-failed", `Cannot build ${context.name}: handler not found, current value is ${context.handlerPath}`);
  }
  if (info.isFile()) return [context.handlerPath];
  const [first, ...rest] = pick((await readdir(context.handlerPath)).sort()).map((fileName) => path.join(context.handlerPath, fileName));
  if (first === undefined) {
    throw new TfaasError("build-failed", `Cannot build ${context.name}: handler folder ${context.handlerPath} has no ${expected}`);
  }
  return [first, ...rest];
}

function forwardLines(text: string, progress: (line: string) => void): void {
  for (const line of text.split("\n")) if (line.trim() !== "") progress(line);
}

// --- JavaScript and TypeScript ----------------------------------------------------------------

/**
 * Bundles the handler's index.js / index.ts (and whatever it imports from the folder or from
 * node_modules) into one ES module: functions may import nothing at run time. TypeScript is only
 * stripped of its types, as esbuild does; run tsc yourself for type errors.
 */
async function buildJavaScript(context: BuildContext, lang: "js" | "ts"): Promise<void> {
  const entryName = lang === "ts" ? "index.ts" : "index.js";
  const [entry] = await sourceFiles(context, (names) => names.filter((fileName) => fileName === entryName || fileName === "index.mjs"), entryName);
  const esbuild = await import("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      outfile: context.outputPath,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      logLevel: "silent",
      absWorkingDir: context.stackDir,
    });
    for (const warning of result.warnings) context.progress(`warning: ${warning.text}`);
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location: { file: string; line: number; column: number } | null }> }).errors ?? [];
    const lines = errors.map((e) => (e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text));
    throw new TfaasError("build-failed", `Cannot build ${context.name}: esbuild reported errors\n${lines.join("\n")}`, { cause: error });
  }
}

// --- AssemblyScript -------------------------------------------------------------------------

const requireFromTfaas = createRequire(import.meta.url);
let ascModule: Promise<typeof import("assemblyscript/asc")> | undefined;
/**
 * The compiler keeps module-level state (it adds library files such as the shim's to a shared
 * map), so concurrent builds in one process run one after another.
 */
let ascQueue: Promise<unknown> = Promise.resolve();

function buildAssemblyScript(context: BuildContext): Promise<void> {
  const build = ascQueue.then(() => compileAssemblyScript(context));
  ascQueue = build.catch(() => {});
  return build;
}

async function compileAssemblyScript(context: BuildContext): Promise<void> {
  const [entry] = await sourceFiles(context, (names) => names.filter((fileName) => fileName === "index.ts"), "index.ts");
  // Loading the compiler (and Binaryen) takes a moment, so it happens once per process.
  ascModule ??= import("assemblyscript/asc");
  const asc = await ascModule;
  const shimConfig = requireFromTfaas.resolve("@assemblyscript/wasi-shim/asconfig.json");
  const diagnostics = asc.createMemoryStream();
  const result = await asc.main(
    [
      // Relative to baseDir, so diagnostics name files as the user sees them in the stack folder.
      path.relative(context.stackDir, entry),
      "--baseDir", context.stackDir,
      // The shim's config swaps the Web-flavoured globals for WASI imports and exports `_start`.
      "--config", shimConfig,
      "--outFile", context.outputPath,
      "--optimizeLevel", "3",
      // One instance serves one request and is then dropped, so a bump allocator without a
      // collector is both the smallest and the fastest runtime.
      "--runtime", "stub",
      "--noColors",
    ],
    { stdout: diagnostics, stderr: diagnostics, listFiles: listSourceFiles },
  );
  if (result.error !== null) {
    throw new TfaasError("build-failed", `Cannot build ${context.name}: the AssemblyScript compiler reported errors\n${diagnostics.toString().trim()}`, {
      cause: result.error,
    });
  }
  forwardLines(diagnostics.toString(), context.progress);
}

/**
 * The compiler's default lister joins `dirname` onto `baseDir` even when `dirname` is absolute,
 * which breaks library folders (such as the shim's) outside the user's folder; resolve instead.
 */
const listSourceFiles: NonNullable<APIOptions["listFiles"]> = async (dirname, baseDir) => {
  try {
    const fileNames = await readdir(path.resolve(baseDir, dirname));
    return fileNames.filter((fileName) => fileName.endsWith(".ts") && !fileName.endsWith(".d.ts"));
  } catch {
    return null;
  }
};

// --- C --------------------------------------------------------------------------------------

const C_PACKAGES = "clang lld wasi-libc libclang-rt-14-dev-wasm32";

/**
 * Where wasi-libc lives: an explicit WASI_SYSROOT, the wasi-sdk layout, or Debian's wasi-libc
 * package, which installs into the multiarch folders under /usr (so /usr is the sysroot).
 */
function findWasiSysroot(name: string): string {
  const marker = path.join("lib", "wasm32-wasi", "libc.a");
  const explicit = process.env.WASI_SYSROOT;
  if (explicit !== undefined && explicit !== "") {
    if (existsSync(path.join(explicit, marker))) return explicit;
    throw new TfaasError("build-failed", `Cannot build ${name}: WASI_SYSROOT has no ${marker}, current value is ${explicit}`);
  }
  const candidates = ["/usr/share/wasi-sysroot", "/opt/wasi-sdk/share/wasi-sysroot", "/usr"];
  const found = candidates.find((root) => existsSync(path.join(root, marker)));
  if (found !== undefined) return found;
  throw new TfaasError(
    "build-failed",
    `Cannot build ${name}: wasi-libc is not installed, no ${marker} under ${candidates.join(", ")}; ` +
      `on Debian or Ubuntu install the packages ${C_PACKAGES}, or set WASI_SYSROOT`,
  );
}

async function buildC(context: BuildContext): Promise<void> {
  const sources = await sourceFiles(context, (names) => names.filter((fileName) => fileName.endsWith(".c")), ".c files");
  const sysroot = findWasiSysroot(context.name);
  const args = [
    "--target=wasm32-wasi",
    `--sysroot=${sysroot}`,
    "-O2",
    "-Wall",
    // DWARF is large and unused by the platform; the name section stays so traps show function names.
    "-Wl,--strip-debug",
    "-o", context.outputPath,
    ...sources.map((source) => path.relative(context.stackDir, source)),
  ];
  const warnings = await run("clang", args, context.stackDir).catch((error: unknown) => {
    throw cBuildError(context.name, error);
  });
  forwardLines(warnings, context.progress);
}

function cBuildError(name: string, error: unknown): TfaasError {
  const failure = error as NodeJS.ErrnoException & { stderr?: string };
  if (failure.code === "ENOENT") {
    return new TfaasError("build-failed", `Cannot build ${name}: clang is not installed; on Debian or Ubuntu install the packages ${C_PACKAGES}`, { cause: error });
  }
  const output = (failure.stderr ?? "").trim();
  // The linker and the wasm32 builtins come in separate packages, so their absence shows up only here.
  const missingPiece = /wasm-ld|libclang_rt|crt1/.test(output) ? `\n(is the toolchain complete? on Debian or Ubuntu install the packages ${C_PACKAGES})` : "";
  return new TfaasError("build-failed", `Cannot build ${name}: clang reported errors\n${output}${missingPiece}`, { cause: error });
}

/** Runs a command to completion; resolves with its stderr (warnings), rejects with stderr attached. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error !== null) reject(Object.assign(error, { stderr }));
      else resolve(stderr);
    });
  });
}
