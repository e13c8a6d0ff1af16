/**
 * Engine `quickjs`: JavaScript functions in QuickJS compiled to WebAssembly and metered like any
 * wasm function.
 *
 * Start-up cost is paid once per engine instance, not per call: the instance sets up one JSRuntime
 * and context with the host functions and the prelude, then its linear memory is captured
 * (memory-image.ts). A call evaluates the function's module and dispatches the request in that
 * context; afterwards the memory is written back, so the next call finds the same bytes again —
 * a fresh context as far as anything inside can tell (globals, built-ins, module state, heap).
 * Math.random is reseeded per call from the host (QuickJS keeps its seed in the captured context).
 *
 * CPU is bounded by fuel:
 * - soft limit: the interrupt handler QuickJS polls (every ~10k interpreter steps) stops the call
 *   once the fuel spent since the module began evaluating passes the budget. Where it polls
 *   depends only on the code executed, so the stopping point is deterministic; the error is
 *   uncatchable. Every call starts from the same memory, so identical calls use identical fuel.
 * - hard limit: the metering counter's own check traps if fuel passes budget + margin without a
 *   poll (a long native builtin). The engine instance is then discarded and replaced.
 * The interrupt handler also stops a call at its wall-clock deadline (a backstop; the gateway's
 * exec_timeout kills the worker beyond that).
 *
 * Guarantee limits: fuel counts the engine's WebAssembly work; host work (UTF-8 conversion,
 * digests, random bytes, copying bodies, writing memory back) is not in fuel. `memoryPeakBytes`
 * is the heap break at the end of the call (this build's allocator never lowers it): the engine's
 * linear memory in use, including its static data and its 5 MiB C stack reserve.
 */
import { randomFillSync } from "node:crypto";
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
import { MeteringExports, readFuel, setFuelLimit, WEIGHTS_VERSION } from "../../../metering/index.js";
import { asTfaasError, TfaasError } from "../../../shared/errors.js";
import {
  decodeSource,
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
  WARM_UP_CONTEXT,
  WARM_UP_REQUEST,
  WARM_UP_SOURCE,
} from "../invocation.js";
import { PRELUDE_SOURCE } from "../prelude/source.js";
import { newEngineInstance, type EngineInstance } from "./engine.js";
import { findBreakWord, MemoryImage } from "./memory-image.js";

/** Fuel the per-call setup (reseeding) may use before the function's own budget starts. */
const SETUP_FUEL = 10_000_000n;
/** Interpreter stack for JS frames; well inside the engine's shadow stack and the image's reserve. */
const MAX_STACK_BYTES = 256 * 1024;
/** A block large enough that allocating it must move the heap break (to find the break word). */
const PROBE_BYTES = 1024 * 1024;

/**
 * Math.random for QuickJS: xoshiro128** seeded by the host before every call (the native one's
 * seed is part of the captured memory, so every call would draw the same numbers). Not for
 * cryptography, like the native one; crypto.getRandomValues is. Evaluates to the reseed function.
 */
const RANDOM_SOURCE = `(function () {
  "use strict";
  var a = 1, b = 2, c = 3, d = 4, imul = Math.imul;
  function next() {
    var r = imul(b, 5), x = imul((r << 7) | (r >>> 25), 9), t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = (d << 11) | (d >>> 21);
    return x >>> 0;
  }
  Object.defineProperty(Math, "random", { value: function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  }, writable: true, configurable: true, enumerable: false });
  return function reseed(s0, s1, s2, s3) { a = s0 | 0; b = s1 | 0; c = s2 | 0; d = s3 | 1; };
})()`;

/** Why a call was stopped from the interrupt handler. */
type Stop = "fuel" | "deadline" | undefined;

/** The state of the call an engine is running; host callbacks and the interrupt handler read it. */
class Call {
  stop: Stop;
  counting = false;
  start: bigint;

  constructor(
    private readonly engine: QuickJsEngine,
    readonly log: FunctionLog,
    private readonly budget: bigint | undefined,
    private readonly deadline: number,
  ) {
    this.start = engine.fuel();
  }

  beginCounting(): void {
    this.start = this.engine.fuel();
    this.counting = true;
  }

  fuelUsed(): bigint {
    return this.counting ? this.engine.fuel() - this.start : 0n;
  }

  interrupt(): boolean {
    if (this.budget !== undefined && this.fuelUsed() > this.budget) this.stop = "fuel";
    else if (performance.now() > this.deadline) this.stop = "deadline";
    return this.stop !== undefined;
  }
}

/** One engine instance with its runtime, context and prelude set up and its memory captured. */
class QuickJsEngine {
  current: Call | undefined;
  /** Set when a call ended inside the engine by a trap: its memory and stack pointer are suspect. */
  broken = false;
  readonly image: MemoryImage;
  readonly runtime: QuickJSRuntime;
  readonly vm: QuickJSContext;
  readonly dispatch: QuickJSHandle;
  readonly reseed: QuickJSHandle;

  private constructor(readonly instance: EngineInstance) {
    this.runtime = instance.quickjs.newRuntime();
    this.runtime.setMaxStackSize(MAX_STACK_BYTES);
    this.runtime.setInterruptHandler(() => this.current?.interrupt() ?? false);
    const vm = (this.vm = this.runtime.newContext());
    let probe: QuickJSHandle | undefined;
    const breakWord = findBreakWord(instance.memory, PROBE_BYTES, () => {
      probe = vm.unwrapResult(vm.evalCode(`new ArrayBuffer(${PROBE_BYTES})`, "probe.js", { type: "global" }));
    });
    probe?.dispose();
    // Handles created now live in the captured memory; the context's lazily created ones must be too.
    void vm.global;
    this.installHost();
    this.dispatch = vm.unwrapResult(vm.evalCode(PRELUDE_SOURCE, "prelude.js", { type: "global", strict: true }));
    this.reseed = vm.unwrapResult(vm.evalCode(RANDOM_SOURCE, "random.js", { type: "global", strict: true }));
    this.image = new MemoryImage(instance.memory, breakWord);
  }

  static async create(): Promise<QuickJsEngine> {
    const engine = new QuickJsEngine(await newEngineInstance());
    // Set-up and warm-up each hold the worker's thread for ~0.1 s: let waiting calls in between.
    await new Promise((resolve) => setImmediate(resolve));
    // The engine's WebAssembly is compiled lazily, function by function: without this run the
    // first real call would pay for compiling the request/response paths (tens of ms).
    engine.current = new Call(engine, new FunctionLog(), undefined, Number.POSITIVE_INFINITY);
    try {
      const output = runModule(engine, engine.current, WARM_UP_SOURCE, WARM_UP_REQUEST, WARM_UP_CONTEXT);
      if (output.status !== 201) throw new TfaasError("internal", `Cannot warm up QuickJS: current status is ${output.status}`);
    } catch (error) {
      if (error instanceof GuestThrew) throw new TfaasError("internal", `Cannot warm up QuickJS: ${error.description}`);
      throw error;
    } finally {
      engine.current = undefined;
      engine.reset();
    }
    return engine;
  }

  /** Fuel consumed since the module was instantiated. */
  fuel(): bigint {
    return readFuel(this.instance.exports);
  }

  global(name: string): WebAssembly.Global {
    return this.instance.exports[name] as WebAssembly.Global;
  }

  /** Writes the captured memory back; the next call starts from it. */
  reset(): void {
    if (!this.broken) this.image.restore();
  }

  /**
   * `__tfaas_host` for the prelude: log, random bytes, digests, UTF-8. The host function objects
   * stay referenced by these handles (never disposed), so no call can get them collected: their
   * host-side entries must outlive every call, since the memory that refers to them is restored.
   */
  private installHost(): void {
    const vm = this.vm;
    const host = vm.newObject();
    const fn = (name: string, impl: (...args: QuickJSHandle[]) => QuickJSHandle | undefined) => vm.setProp(host, name, vm.newFunction(name, impl));
    fn("log", (text) => {
      this.current?.log.line(vm.getString(text!));
      return undefined;
    });
    fn("random", (length) => vm.newArrayBuffer(exactBuffer(hostRandom(vm.getNumber(length!)))));
    fn("digest", (algorithm, data) => vm.newArrayBuffer(exactBuffer(hostDigest(vm.getString(algorithm!), vm.getArrayBuffer(data!).value))));
    fn("encode", (text) => vm.newArrayBuffer(exactBuffer(hostEncode(vm.getString(text!)))));
    fn("decode", (data, fatal) => {
      try {
        return vm.newString(hostDecode(vm.getArrayBuffer(data!).value, vm.dump(fatal!) === true));
      } catch {
        throw new TypeError("The encoded data was not valid UTF-8");
      }
    });
    vm.setProp(vm.global, "__tfaas_host", host);
  }
}

class Engines {
  #current: Promise<QuickJsEngine> | undefined;

  get(): Promise<QuickJsEngine> {
    this.#current ??= QuickJsEngine.create();
    this.#current.catch(() => (this.#current = undefined));
    return this.#current;
  }

  /** Drops an instance whose memory can no longer be trusted; the next call starts a new one. */
  discard(engine: QuickJsEngine): void {
    engine.broken = true;
    void this.#current?.then((current) => {
      if (current === engine) this.#current = undefined;
    });
  }
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
    const call = new Call(engine, log, budget, deadline);
    // The hard limit: far enough past the soft one that an ordinary call always meets a poll first.
    setFuelLimit(engine.instance.exports, budget === undefined ? undefined : call.start + SETUP_FUEL + budget + budget / 4n);
    const usage = (): InvocationUsage => ({
      fuel: call.fuelUsed(),
      weightsVersion: WEIGHTS_VERSION,
      memoryPeakBytes: engine.image.heapBreak(),
      pageFuelIntegral: null,
      ioBytesIn: request.body.length,
      ioBytesOut: 0,
    });
    engine.current = call;
    try {
      engine.runtime.setMemoryLimit(this.memoryLimitBytes);
      const output = runModule(engine, call, this.source, request, context);
      return successResult(output, context, log, usage());
    } catch (error) {
      return failureResult(this.classify(error, engine, call.stop, context, log), log, usage());
    } finally {
      engine.current = undefined;
      engine.reset();
    }
  }

  private classify(error: unknown, engine: QuickJsEngine, stop: Stop, context: InvocationContext, log: FunctionLog): TfaasError {
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
      // The engine itself trapped: the hard fuel limit, an engine abort, or the host's native
      // stack. Its C stack pointer was not unwound: the instance goes.
      this.engines.discard(engine);
      if (engine.global(MeteringExports.fuelExhausted).value === 1) return fuelExhausted(context.fuelLimit);
      log.line(`engine trap: ${error.message}`);
      return new TfaasError("function-failed", "Cannot complete the call: the JavaScript engine trapped (see the function's logs)", { cause: error });
    }
    return asTfaasError(error);
  }
}

/**
 * Evaluates the module and dispatches the request; throws GuestThrew for guest exceptions.
 * Handles are never disposed: writing the memory back frees everything the call allocated.
 */
function runModule(engine: QuickJsEngine, call: Call, source: string, request: InvocationRequest, context: InvocationContext): DispatchOutput {
  const { vm, runtime } = engine;
  const unwrap = (result: ReturnType<QuickJSContext["evalCode"]>): QuickJSHandle => {
    if (result.error) throw new GuestThrew(describeError(vm, result.error));
    return result.value;
  };
  const seed = randomFillSync(new Int32Array(4));
  unwrap(vm.callFunction(engine.reseed, vm.undefined, ...Array.from(seed, (word) => vm.newNumber(word))));
  call.beginCounting();
  const namespace = settle(runtime, vm, unwrap(vm.evalCode(source, MODULE_NAME, { type: "module" })));
  const meta = vm.newString(requestMeta(request, context));
  const body = vm.newArrayBuffer(exactBuffer(request.body));
  const settled = settle(runtime, vm, unwrap(vm.callFunction(engine.dispatch, vm.undefined, namespace, meta, body)));
  return {
    status: vm.getNumber(vm.getProp(settled, 0)),
    headersJson: vm.getString(vm.getProp(settled, 1)),
    body: vm.getArrayBuffer(vm.getProp(settled, 2)).value.slice(),
  };
}

/** Runs pending jobs until `handle` (a promise or a plain value) settles; returns its value. */
function settle(runtime: QuickJSRuntime, vm: QuickJSContext, handle: QuickJSHandle): QuickJSHandle {
  for (;;) {
    const state = vm.getPromiseState(handle);
    if (state.type === "fulfilled") return state.notAPromise ? handle : state.value;
    if (state.type === "rejected") throw new GuestThrew(describeError(vm, state.error));
    if (!runtime.hasPendingJob()) throw new GuestThrew("Error: the function returned a promise that can never settle (there are no timers or I/O to wait for)");
    const ran = runtime.executePendingJobs();
    if (ran.error) throw new GuestThrew(describeError(vm, ran.error));
  }
}

/** Thrown by a module's first statement when prepare only checks that it compiles and links. */
const COMPILED_SENTINEL = "__tfaas_compiled__";

/** `source` with a first statement that throws the sentinel (after a hashbang line, which must stay first). */
function stoppedAtStart(source: string): string {
  const stop = `throw ${JSON.stringify(COMPILED_SENTINEL)};`;
  if (!source.startsWith("#!")) return stop + source;
  const lineEnd = source.indexOf("\n");
  return lineEnd === -1 ? source : `${source.slice(0, lineEnd + 1)}${stop}${source.slice(lineEnd + 1)}`;
}

/** One engine instance per process, shared by every quickjs function (and started early by `warmQuickJsEngine`). */
const processEngines = new Engines();

/** Starts the process's engine instance now (compile, set-up, warm-up call), so no call waits for it. */
export async function warmQuickJsEngine(): Promise<void> {
  await processEngines.get();
}

class QuickJsRuntime implements Runtime {
  readonly kind = "quickjs";
  readonly #engines = processEngines;

  /** Compiles the module in the engine (syntax errors surface now), which also warms the engine for the first call. */
  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    const source = decodeSource(bytes);
    const engine = await this.#engines.get();
    let description: string | undefined;
    try {
      // Not `compileOnly`: quickjs-emscripten 0.32 reads an uninitialised module pointer after a
      // compile-only module eval (QTS_Eval), which fails valid modules at random or traps. The
      // module is compiled and linked for real, and its body stops at the sentinel it starts with.
      const result = engine.vm.evalCode(stoppedAtStart(source), MODULE_NAME, { type: "module" });
      if (result.error) {
        const thrown = engine.vm.dump(result.error) as unknown;
        if (thrown !== COMPILED_SENTINEL) description = describeError(engine.vm, result.error);
      }
    } catch (error) {
      // The parser ran out of the host's native stack (deeply nested source): the instance goes.
      this.#engines.discard(engine);
      throw new TfaasError("invalid-artifact", "Cannot prepare: the module does not compile: it nests too deeply", { cause: error });
    } finally {
      engine.reset();
    }
    if (description !== undefined) {
      throw new TfaasError("invalid-artifact", `Cannot prepare: the module does not compile: ${description.split("\n")[0]}`);
    }
    return new QuickJsFunction(this.#engines, source, options.memoryLimitBytes ?? DEFAULT_JS_MEMORY_BYTES);
  }
}

export function createQuickJsRuntime(): Runtime {
  return new QuickJsRuntime();
}
