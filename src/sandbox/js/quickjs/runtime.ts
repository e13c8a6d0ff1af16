/**
 * Engine `quickjs`: JavaScript functions in QuickJS compiled to WebAssembly and metered like any
 * wasm function. Each call gets a fresh JSRuntime and context (nothing survives a call), the
 * function's memory limit on the runtime's allocator, and CPU bounded by fuel:
 * - soft limit: the interrupt handler QuickJS polls (every ~10k interpreter steps) stops the call
 *   once the fuel spent since the module began running passes the budget. Where it polls depends
 *   only on the code executed, so the stopping point is deterministic; the error is uncatchable.
 * - hard limit: the metering counter's own check traps if fuel passes budget + margin without a
 *   poll (a long native builtin). The engine instance is then discarded and replaced.
 * The interrupt handler also stops a call at its wall-clock deadline (a backstop; the gateway's
 * exec_timeout kills the worker beyond that).
 *
 * Guarantee limits: fuel counts the engine's WebAssembly work, including its allocator, whose
 * work depends slightly on the heap left by earlier calls in the same engine instance; host work
 * (crypto digests, random bytes, copying bodies) is not in fuel. `memoryPeakBytes` is the JS
 * heap in use when the call ends (QuickJS keeps no peak).
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core";
import type {
  InvocationContext,
  InvocationRequest,
  InvocationResult,
  InvocationUsage,
  PreparedFunction,
  PrepareOptions,
  Runtime,
} from "../../index.js";
import { MeteringExports, WEIGHTS_VERSION } from "../../../metering/index.js";
import { asTfaasError, TfaasError } from "../../../shared/errors.js";
import {
  DEFAULT_JS_MEMORY_BYTES,
  type DispatchOutput,
  exactBuffer,
  failureResult,
  fuelExhausted,
  FunctionLog,
  hostDecode,
  hostDigest,
  hostEncode,
  hostRandom,
  MODULE_NAME,
  outOfMemory,
  requestMeta,
  successResult,
  thrownByFunction,
  timedOut,
} from "../invocation.js";
import { PRELUDE_SOURCE } from "../prelude/source.js";
import { newEngineInstance, type EngineInstance } from "./engine.js";

const I64_MAX = (1n << 63n) - 1n;
/** Fuel the prelude and context setup may use before the function's own budget starts. */
const SETUP_FUEL = 200_000_000n;
/** Interpreter stack for JS frames; well inside the engine's shadow stack. */
const MAX_STACK_BYTES = 256 * 1024;

/** Why a call was stopped from the interrupt handler. */
type Stop = "fuel" | "deadline" | undefined;

class Engines {
  #current: Promise<EngineInstance> | undefined;

  get(): Promise<EngineInstance> {
    this.#current ??= newEngineInstance();
    this.#current.catch(() => (this.#current = undefined));
    return this.#current;
  }

  /** Drops an instance whose heap can no longer be trusted; the next call starts a new one. */
  discard(engine: EngineInstance): void {
    void this.#current?.then((current) => {
      if (current === engine) this.#current = undefined;
    });
  }
}

function fuelGlobal(engine: EngineInstance, name: string): WebAssembly.Global {
  return engine.exports[name] as WebAssembly.Global;
}

function fuelNow(engine: EngineInstance): bigint {
  return fuelGlobal(engine, MeteringExports.fuel).value as bigint;
}

function describeError(context: QuickJSContext, handle: QuickJSHandle): string {
  const value: unknown = context.dump(handle);
  if (value !== null && typeof value === "object" && "message" in value) {
    const error = value as { name?: unknown; message?: unknown; stack?: unknown };
    const head = `${String(error.name ?? "Error")}: ${String(error.message)}`;
    return typeof error.stack === "string" && error.stack !== "" ? `${head}\n${error.stack.trimEnd()}` : head;
  }
  return `${typeof value === "string" ? value : JSON.stringify(value)}`;
}

/** A QuickJS exception that stopped the call, classified. */
class GuestThrew {
  constructor(readonly description: string) {}
}

class QuickJsFunction implements PreparedFunction {
  constructor(
    private readonly engines: Engines,
    private readonly source: string,
    private readonly memoryLimitBytes: number,
  ) {}

  async invoke(request: InvocationRequest, context: InvocationContext): Promise<InvocationResult> {
    const engine = await this.engines.get();
    const log = new FunctionLog();
    const deadline = context.timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + context.timeoutMs;
    const budget = context.fuelLimit;
    let stop: Stop;
    let start = fuelNow(engine);
    const limitGlobal = fuelGlobal(engine, MeteringExports.fuelLimit);
    // The hard limit: far enough past the soft one that an ordinary call always meets a poll first.
    limitGlobal.value = budget === undefined ? I64_MAX : start + SETUP_FUEL + budget + budget / 4n;
    fuelGlobal(engine, MeteringExports.fuelExhausted).value = 0;

    let runtime: QuickJSRuntime | undefined;
    let heapBytes = 0;
    let counting = false;
    const usage = (): InvocationUsage => ({
      fuel: counting ? fuelNow(engine) - start : 0n,
      weightsVersion: WEIGHTS_VERSION,
      memoryPeakBytes: heapBytes,
      pageFuelIntegral: null,
      ioBytesIn: request.body.length,
      ioBytesOut: 0,
    });
    try {
      runtime = engine.quickjs.newRuntime();
      runtime.setMemoryLimit(this.memoryLimitBytes);
      runtime.setMaxStackSize(MAX_STACK_BYTES);
      runtime.setInterruptHandler(() => {
        if (counting && budget !== undefined && fuelNow(engine) - start > budget) stop = "fuel";
        else if (performance.now() > deadline) stop = "deadline";
        return stop !== undefined;
      });
      const output = this.run(runtime, request, context, log, () => {
        start = fuelNow(engine);
        counting = true;
      });
      heapBytes = heapInUse(runtime);
      return successResult(output, context, log, usage());
    } catch (error) {
      const failure = this.classify(error, engine, stop, context, log);
      return failureResult(failure, log, usage());
    } finally {
      try {
        runtime?.dispose();
      } catch {
        // A runtime left inconsistent (trap mid-call) cannot be freed: the instance goes with it.
        this.engines.discard(engine);
      }
    }
  }

  private classify(error: unknown, engine: EngineInstance, stop: Stop, context: InvocationContext, log: FunctionLog): TfaasError {
    if (stop === "fuel") return fuelExhausted(context.fuelLimit);
    if (stop === "deadline") return timedOut(context.timeoutMs ?? 0);
    if (error instanceof GuestThrew) {
      if (/^InternalError: out of memory/.test(error.description)) {
        log.line(error.description);
        return outOfMemory(this.memoryLimitBytes);
      }
      return thrownByFunction(log, error.description);
    }
    if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
      // The engine itself trapped: the hard fuel limit, or an engine abort. Its heap is suspect.
      this.engines.discard(engine);
      if (fuelGlobal(engine, MeteringExports.fuelExhausted).value === 1) return fuelExhausted(context.fuelLimit);
      log.line(`engine trap: ${error.message}`);
      return new TfaasError("function-failed", "Cannot complete the call: the JavaScript engine trapped (see the function's logs)", { cause: error });
    }
    return asTfaasError(error);
  }

  /** Runs prelude, module and dispatch in a fresh context; throws GuestThrew for guest exceptions. */
  private run(runtime: QuickJSRuntime, request: InvocationRequest, context: InvocationContext, log: FunctionLog, beginCounting: () => void): DispatchOutput {
    const vm = runtime.newContext();
    const handles: QuickJSHandle[] = [];
    const keep = (handle: QuickJSHandle) => (handles.push(handle), handle);
    const unwrap = (result: ReturnType<QuickJSContext["evalCode"]>): QuickJSHandle => {
      if (result.error) {
        keep(result.error);
        throw new GuestThrew(describeError(vm, result.error));
      }
      return keep(result.value);
    };
    try {
      installHost(vm, log, keep);
      const dispatch = unwrap(vm.evalCode(PRELUDE_SOURCE, "prelude.js", { type: "global", strict: true }));
      beginCounting();
      const namespace = settle(runtime, vm, unwrap(vm.evalCode(this.source, MODULE_NAME, { type: "module" })), keep);
      const meta = keep(vm.newString(requestMeta(request, context)));
      const body = keep(vm.newArrayBuffer(exactBuffer(request.body)));
      const promise = unwrap(vm.callFunction(dispatch, vm.undefined, namespace, meta, body));
      const settled = settle(runtime, vm, promise, keep);
      const status = vm.getNumber(keep(vm.getProp(settled, 0)));
      const headersJson = vm.getString(keep(vm.getProp(settled, 1)));
      const bytes = vm.getArrayBuffer(keep(vm.getProp(settled, 2)));
      const output = { status, headersJson, body: bytes.value.slice() };
      bytes.dispose();
      return output;
    } finally {
      for (const handle of handles.reverse()) if (handle.alive) handle.dispose();
      if (vm.alive) vm.dispose();
    }
  }
}

/** Runs pending jobs until `handle` (a promise or a plain value) settles; returns its value. */
function settle(runtime: QuickJSRuntime, vm: QuickJSContext, handle: QuickJSHandle, keep: (h: QuickJSHandle) => QuickJSHandle): QuickJSHandle {
  for (;;) {
    const state = vm.getPromiseState(handle);
    if (state.type === "fulfilled") return state.notAPromise ? handle : keep(state.value);
    if (state.type === "rejected") {
      keep(state.error);
      throw new GuestThrew(describeError(vm, state.error));
    }
    if (!runtime.hasPendingJob()) throw new GuestThrew("Error: the function returned a promise that can never settle (there are no timers or I/O to wait for)");
    const ran = runtime.executePendingJobs();
    if (ran.error) {
      keep(ran.error);
      throw new GuestThrew(describeError(vm, ran.error));
    }
  }
}

/** `__tfaas_host` for the prelude: log, random bytes, digests. */
function installHost(vm: QuickJSContext, log: FunctionLog, keep: (h: QuickJSHandle) => QuickJSHandle): void {
  const host = keep(vm.newObject());
  const fn = (name: string, impl: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => {
    const handle = vm.newFunction(name, impl);
    vm.setProp(host, name, handle);
    handle.dispose();
  };
  fn("log", (text) => {
    log.line(vm.getString(text!));
    return undefined;
  });
  fn("random", (length) => vm.newArrayBuffer(exactBuffer(hostRandom(vm.getNumber(length!)))));
  fn("digest", (algorithm, data) => {
    const bytes = vm.getArrayBuffer(data!);
    try {
      return vm.newArrayBuffer(exactBuffer(hostDigest(vm.getString(algorithm!), bytes.value)));
    } finally {
      bytes.dispose();
    }
  });
  fn("encode", (text) => vm.newArrayBuffer(exactBuffer(hostEncode(vm.getString(text!)))));
  fn("decode", (data, fatal) => {
    const bytes = vm.getArrayBuffer(data!);
    try {
      return vm.newString(hostDecode(bytes.value, vm.dump(fatal!) === true));
    } catch {
      throw new TypeError("The encoded data was not valid UTF-8");
    } finally {
      bytes.dispose();
    }
  });
  vm.setProp(vm.global, "__tfaas_host", host);
}

function heapInUse(runtime: QuickJSRuntime): number {
  const match = /malloc_size\s*[:=]?\s*(\d+)|memory allocated\s+\d+\s+(\d+)/.exec(runtime.dumpMemoryUsage());
  return match === null ? 0 : Number(match[1] ?? match[2]);
}

class QuickJsRuntime implements Runtime {
  readonly kind = "quickjs";
  readonly #engines = new Engines();

  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    const source = decodeSource(bytes);
    const engine = await this.#engines.get();
    // Compile only: syntax errors and unresolvable imports surface now, not at the first call.
    const runtime = engine.quickjs.newRuntime();
    try {
      const vm = runtime.newContext();
      const result = vm.evalCode(source, MODULE_NAME, { type: "module", compileOnly: true });
      if (result.error) {
        const description = describeError(vm, result.error);
        result.error.dispose();
        vm.dispose();
        throw new TfaasError("invalid-artifact", `Cannot prepare: the module does not compile: ${description.split("\n")[0]}`);
      }
      result.value.dispose();
      vm.dispose();
    } finally {
      runtime.dispose();
    }
    return new QuickJsFunction(this.#engines, source, options.memoryLimitBytes ?? DEFAULT_JS_MEMORY_BYTES);
  }
}

export function decodeSource(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new TfaasError("invalid-artifact", "Cannot prepare: JavaScript source is not valid UTF-8", { cause: error });
  }
}

export function createQuickJsRuntime(): Runtime {
  return new QuickJsRuntime();
}
