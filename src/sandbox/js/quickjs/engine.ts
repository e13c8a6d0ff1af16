/**
 * The QuickJS engine as a metered WebAssembly module. The release-sync build's .wasm is
 * instrumented by the metering pass once per machine (instrumented-cache.ts; once per process without
 * a cache directory) and compiled once per process; each engine instance is
 * that compiled module instantiated through the emscripten loader (we instantiate it ourselves,
 * so we hold the instance and can read and set its metering globals).
 *
 * One engine instance serves many calls, each in its own JSRuntime (own heap, atoms, memory
 * limit) and context. An instance is discarded whenever a call ends inside the engine's own
 * code by a trap (hard fuel limit, engine abort): its heap is then in an unknown state.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import * as releaseSyncModule from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from "quickjs-emscripten-core";
import { TfaasError } from "../../../shared/errors.js";
import { log } from "../../../shared/log.js";
import { instrumentedModule, type ModuleCache } from "../../instrumented-cache.js";

// The package is CommonJS with a `default` export: under NodeNext its default import is the module object.
const releaseSync = (releaseSyncModule as unknown as { default: QuickJSSyncVariant }).default;

export interface EngineInstance {
  readonly quickjs: QuickJSWASMModule;
  readonly exports: WebAssembly.Exports;
  /** The instance's linear memory (we create it, so we can capture and restore it). */
  readonly memory: WebAssembly.Memory;
}

/** The build's own defaults: 16 MiB to start, 2 GiB at most. */
const INITIAL_PAGES = 256;
const MAXIMUM_PAGES = 32768;

let compiled: Promise<WebAssembly.Module> | undefined;
let cacheDir: string | undefined;

/**
 * Keeps the instrumented engine in `directory` (instrumented-cache.ts), so the metering pass runs once
 * per machine; without it every process instruments the engine itself. Set before the first use.
 */
export function useEngineCache(directory: string | undefined): void {
  cacheDir = directory;
}

/** The engine's files in a cache directory. */
export const engineCacheIn = (dir: string): ModuleCache => ({ dir, name: "quickjs-metered" });

/** The instrumented QuickJS module, compiled once per process. */
export function meteredQuickJsModule(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    const started = performance.now();
    const path = createRequire(import.meta.url).resolve("@jitl/quickjs-wasmfile-release-sync/wasm");
    const metered = await instrumentedModule(await readFile(path), cacheDir === undefined ? undefined : engineCacheIn(cacheDir));
    const loaded = performance.now();
    const module = await WebAssembly.compile(metered.bytes);
    log.debug("QuickJS engine compiled", { from: metered.from, loadMs: Math.round(loaded - started), compileMs: Math.round(performance.now() - loaded) });
    return module;
  })();
  compiled.catch(() => (compiled = undefined));
  return compiled;
}

/** A new engine instance (its own linear memory) from the compiled module. */
export async function newEngineInstance(): Promise<EngineInstance> {
  const module = await meteredQuickJsModule();
  let instance: WebAssembly.Instance | undefined;
  const quiet = () => {};
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES });
  const variant = newVariant(releaseSync, {
    wasmMemory: memory,
    emscriptenModule: {
      // emscripten would print engine diagnostics to the worker's stdout; functions log through console.
      print: quiet,
      printErr: quiet,
      instantiateWasm(imports: WebAssembly.Imports, onSuccess: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
        instance = new WebAssembly.Instance(module, imports);
        onSuccess(instance, module);
        return {};
      },
    } as never,
  });
  const quickjs = await newQuickJSWASMModuleFromVariant(variant);
  if (instance === undefined) throw new TfaasError("internal", "Cannot start QuickJS: the loader did not use the metered module");
  return { quickjs, exports: instance.exports, memory };
}
