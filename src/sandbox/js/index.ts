/**
 * JavaScript functions: an ES module whose default export has `fetch(request, env)`, run by one of
 * two engines behind the Runtime interface — `quickjs` (QuickJS compiled to WebAssembly, metered
 * with fuel) and `v8` (isolated-vm isolates, fast, CPU time instead of fuel). Engines load lazily,
 * so importing this face costs nothing in processes that never run JavaScript (the gateway).
 */
import type { PreparedFunction, PrepareOptions, Runtime } from "../index.js";
import { TfaasError } from "../../shared/errors.js";

export const JS_ENGINES = ["quickjs", "v8"] as const;
export type JsEngine = (typeof JS_ENGINES)[number];

/**
 * Chosen by measurement (docs/javascript.md): with the engines started when a worker starts, a
 * function's first call costs ~1 ms in either; QuickJS then answers a small function faster (warm
 * p50, p99, calls/s) and meters it with deterministic, signed fuel like a wasm function. V8 runs
 * CPU-heavy code ~5x faster: such functions choose it by annotation.
 */
export const DEFAULT_JS_ENGINE: JsEngine = "quickjs";

/** The annotation that picks a function's engine. */
export const ENGINE_ANNOTATION = "com.tfaas.engine";

export function isJsEngine(value: string): value is JsEngine {
  return (JS_ENGINES as readonly string[]).includes(value);
}

/** The engine an annotation value names; fails with `invalid-request` on anything else. */
export function parseJsEngine(value: string | undefined, service: string): JsEngine {
  if (value === undefined) return DEFAULT_JS_ENGINE;
  if (!isJsEngine(value)) {
    throw new TfaasError(
      "invalid-request",
      `Cannot deploy ${service}: annotation ${ENGINE_ANNOTATION} must be ${JS_ENGINES.join(" or ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

class LazyRuntime implements Runtime {
  #runtime: Promise<Runtime> | undefined;

  constructor(
    readonly kind: JsEngine,
    private readonly load: () => Promise<Runtime>,
  ) {}

  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    this.#runtime ??= this.load();
    return (await this.#runtime).prepare(bytes, options);
  }
}

/** A runtime for `engine`; the v8 engine needs its process started with `--no-node-snapshot` (Node 20+). */
export function createJsRuntime(engine: JsEngine): Runtime {
  return engine === "quickjs"
    ? new LazyRuntime("quickjs", async () => (await import("./quickjs/runtime.js")).createQuickJsRuntime())
    : new LazyRuntime("v8", async () => (await import("./v8/runtime.js")).createV8Runtime());
}

export { checkJavaScriptModule } from "./syntax.js";
