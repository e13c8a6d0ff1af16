/**
 * Engine `v8`: JavaScript functions in V8 isolates (isolated-vm). A worker keeps warm isolates
 * in a pool per memory limit; each call runs in a fresh context of one of them (a spare context,
 * prelude already run, is prepared on the isolate's thread after every call so the next call
 * does not wait for it).
 *
 * The call itself uses isolated-vm's synchronous API on the worker's thread: compile (from the
 * function's V8 code cache), instantiate, evaluate, dispatch, collect — no cross-thread hop per
 * step. isolated-vm runs the isolate's microtasks before a synchronous call returns, and the
 * call's timeout covers them; the sandbox has no timers or I/O, so a promise still pending then
 * can never settle. While a call runs, the worker's thread waits for it (as for wasm functions).
 *
 * Limits: the isolate's heap limit (isolated-vm disposes an isolate that passes it; V8 may also
 * abort the whole process, which is why isolates live only in worker processes, which the gateway
 * replaces), and a wall-clock deadline, after which the isolate is disposed. Usage is V8's CPU
 * time and heap, not deterministic fuel: `fuel` is null for this engine.
 */
import { setFlagsFromString } from "node:v8";
import ivm from "isolated-vm";
import type {
  InvocationContext,
  InvocationRequest,
  InvocationResult,
  InvocationUsage,
  PreparedFunction,
  PrepareOptions,
  Runtime,
} from "../../index.js";
import { asTfaasError, TfaasError } from "../../../shared/errors.js";
import {
  decodeSource,
  DEFAULT_JS_MEMORY_BYTES,
  type DispatchOutput,
  exactBuffer,
  failureResult,
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

/**
 * Old-generation size an isolate starts with, in MiB (V8 reads the flag when an isolate is created,
 * so it applies to the isolates made here, not to the worker's own heap). A call leaves a whole
 * context (~200 KB) behind, and isolated-vm signals every disposed context to V8; under V8's
 * default sizing the process ran 48 mark-compacts in 2,350 calls, an isolate's freeing ~2 MB of ~12 MB,
 * as recently disposed contexts were still retained. From 24 MiB: 20, each freeing ~20 MB, and
 * back-to-back hello calls in-process took 1.57–1.63 ms of CPU instead of 2.40–2.51 (p99 5.6–6.3
 * ms instead of 11.5–12.6). Measured, not derived: 16 and 20 MiB gained little, 32–48 MiB lost
 * part of it (docs/javascript.md).
 */
const INITIAL_OLD_SPACE_MB = 24;
setFlagsFromString(`--initial-old-space-size=${INITIAL_OLD_SPACE_MB}`);

/** isolated-vm's smallest heap limit. */
const MIN_MEMORY_MB = 8;
/** Idle isolates kept per memory limit. */
const MAX_IDLE_ISOLATES = 6;
/**
 * Isolates kept warm per memory limit in use: while a call runs in one, the others prepare their
 * next contexts on their own threads (a context costs ~0.6–0.9 ms of CPU, more than a hello call;
 * an isolate is locked while a call runs in it). With two, back-to-back calls waited for a
 * context about half the time (p50 1.24–1.45 ms in-process); with four, each has three calls'
 * time to make one (p50 0.72–0.93 ms), for ~1.5 MiB per idle isolate.
 */
const WARM_ISOLATES = 4;

/**
 * Per context, after the prelude: `run(namespace, meta, body)` starts the dispatch and returns
 * `collect()`, which — called after the microtasks ran — returns the dispatch's value or throws
 * its error. Promise.prototype.then is captured before any function code runs.
 */
const CONTEXT_SOURCE = `(function (dispatch) {
  "use strict";
  var then = Function.prototype.call.bind(Promise.prototype.then);
  return function run(namespace, meta, body) {
    var settled = false, failed = false, outcome;
    then(dispatch(namespace, meta, body), function (value) { settled = true; outcome = value; }, function (error) { settled = failed = true; outcome = error; });
    return function collect() {
      if (!settled) throw new Error("the function returned a promise that can never settle (there are no timers or I/O to wait for)");
      if (failed) throw outcome;
      return outcome;
    };
  };
})(${PRELUDE_SOURCE})`;

const HOST_LOG = 0;
const HOST_RANDOM = 1;
const HOST_DIGEST = 2;
const HOST_ENCODE = 3;
const HOST_DECODE = 4;
/** The prelude's host object (see prelude/source.ts) over the one callback `$0`. */
const HOST_BINDING_SOURCE = `var host = $0;
globalThis.__tfaas_host = {
  log: function (text) { host(${HOST_LOG}, text); },
  random: function (length) { return host(${HOST_RANDOM}, length); },
  digest: function (algorithm, data) { return host(${HOST_DIGEST}, algorithm, data); },
  encode: function (text) { return host(${HOST_ENCODE}, text); },
  decode: function (data, fatal) { return host(${HOST_DECODE}, data, fatal); },
};`;

/** Where a context's host callbacks send their output: set per call. */
interface CallSink {
  log: FunctionLog | undefined;
}

interface WarmContext {
  context: ivm.Context;
  run: ivm.Reference;
  sink: CallSink;
}

class WarmIsolate {
  readonly isolate: ivm.Isolate;
  /** Set once the warm-up call ran in this isolate. */
  warmed = false;
  /** Whether the spare context is ready, so a call taking this isolate now does not wait. */
  spareReady = false;
  readonly #script: ivm.Script;
  #spare: Promise<WarmContext> | undefined;

  constructor(readonly memoryMb: number) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    this.#script = this.isolate.compileScriptSync(CONTEXT_SOURCE, { filename: "prelude.js" });
    this.prepareSpare();
  }

  /** A fresh context for one call: the spare (prepared or still being made), else a new one. */
  async take(): Promise<WarmContext> {
    const spare = this.#spare;
    this.#spare = undefined;
    this.spareReady = false;
    return spare ?? this.#newContext();
  }

  /**
   * Starts making the next call's context on the isolate's thread, unless one is there. Called
   * when a call ends, not when it starts: the running call holds the isolate's lock, and making a
   * context alongside it would only make the call wait.
   */
  prepareSpare(): void {
    if (this.#spare !== undefined || !this.usable) return;
    const spare = this.#newContext();
    this.#spare = spare;
    this.spareReady = false;
    spare.then(
      () => (this.spareReady = this.#spare === spare),
      () => (this.#spare = this.#spare === spare ? undefined : this.#spare),
    );
  }

  /**
   * Context, host functions and prelude: three tasks on the isolate's thread. The host functions
   * share one ivm.Callback (an operation number picks the function): five cost ~20% more CPU per context.
   */
  async #newContext(): Promise<WarmContext> {
    const context = await this.isolate.createContext();
    const sink: CallSink = { log: undefined };
    const host = new ivm.Callback((operation: number, a: unknown, b: unknown) => {
      switch (operation) {
        case HOST_LOG:
          return void sink.log?.line(String(a));
        case HOST_RANDOM:
          return new ivm.ExternalCopy(exactBuffer(hostRandom(Number(a)))).copyInto({ release: true });
        case HOST_DIGEST:
          return new ivm.ExternalCopy(exactBuffer(hostDigest(String(a), new Uint8Array(b as ArrayBuffer)))).copyInto({ release: true });
        case HOST_ENCODE:
          return new ivm.ExternalCopy(exactBuffer(hostEncode(String(a)))).copyInto({ release: true });
        case HOST_DECODE:
          try {
            return hostDecode(new Uint8Array(a as ArrayBuffer), b === true);
          } catch {
            throw new TypeError("The encoded data was not valid UTF-8");
          }
        default:
          throw new TypeError(`Unknown host operation ${String(operation)}`);
      }
    });
    await context.evalClosure(HOST_BINDING_SOURCE, [host]);
    const run = (await this.#script.run(context, { reference: true })) as ivm.Reference;
    return { context, run, sink };
  }

  get usable(): boolean {
    return !this.isolate.isDisposed;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

/** Runs the built-in warm-up call once in `warm`, so a function's first call there finds the call path compiled. */
async function warmUp(warm: WarmIsolate): Promise<void> {
  if (warm.warmed) return;
  const output = await runCall(warm, { source: WARM_UP_SOURCE, cachedData: undefined }, WARM_UP_REQUEST, WARM_UP_CONTEXT, new FunctionLog());
  if (output.status !== 201) throw new TfaasError("internal", `Cannot warm up V8: current status is ${output.status}`);
  warm.warmed = true;
}

/**
 * Warm isolates by memory limit, shared by every v8 function in the worker. A call takes the idle
 * isolate whose next context is ready (else the one idle longest); when that leaves none idle,
 * another is started in the background, up to WARM_ISOLATES, so consecutive calls alternate
 * between isolates and each finds its context prepared during the previous call.
 */
class IsolatePool {
  readonly #idle = new Map<number, WarmIsolate[]>();
  readonly #growing = new Set<number>();

  acquire(memoryMb: number): WarmIsolate {
    const idle = (this.#idle.get(memoryMb) ?? []).filter((warm) => warm.usable);
    this.#idle.set(memoryMb, idle);
    const ready = idle.findIndex((warm) => warm.spareReady);
    const [warm] = idle.splice(ready === -1 ? 0 : ready, 1);
    if (idle.length === 0) this.#grow(memoryMb);
    return warm ?? new WarmIsolate(memoryMb);
  }

  release(warm: WarmIsolate): void {
    if (!warm.usable) return;
    warm.prepareSpare();
    const idle = this.#idle.get(warm.memoryMb) ?? [];
    if (idle.length >= MAX_IDLE_ISOLATES) return warm.dispose();
    idle.push(warm);
    this.#idle.set(warm.memoryMb, idle);
  }

  /** Starts `count` warmed isolates for `memoryMb` now (worker start-up), before any call needs them. */
  async prewarm(memoryMb: number, count = WARM_ISOLATES): Promise<void> {
    const started = Array.from({ length: count }, async () => {
      const warm = new WarmIsolate(memoryMb);
      try {
        await warmUp(warm);
      } catch (error) {
        warm.dispose();
        throw error;
      }
      this.release(warm);
    });
    await Promise.all(started);
  }

  /** One more warmed isolate for `memoryMb` in the background, while fewer than WARM_ISOLATES are idle. */
  #grow(memoryMb: number): void {
    if (this.#growing.has(memoryMb)) return;
    this.#growing.add(memoryMb);
    setImmediate(() => {
      const idle = this.#idle.get(memoryMb) ?? [];
      const wanted = idle.length < WARM_ISOLATES - 1 ? this.prewarm(memoryMb, 1) : Promise.resolve();
      wanted.catch(() => undefined).finally(() => this.#growing.delete(memoryMb));
    });
  }
}

/** Every v8 function in the process shares one pool. */
const processPool = new IsolatePool();

/** Starts the warm isolates for functions with the default memory limit, so no call waits for one. */
export async function warmV8Isolates(): Promise<void> {
  await processPool.prewarm(memoryMbFor(DEFAULT_JS_MEMORY_BYTES));
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}`;
  return String(error);
}

const memoryMbFor = (bytes: number) => Math.max(MIN_MEMORY_MB, Math.ceil(bytes / (1024 * 1024)));

/** A module's source and V8 code cache (produced when it is prepared). */
interface ModuleCode {
  source: string;
  cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined;
}

/** Runs one call in a fresh context of `warm`; every step is a synchronous isolated-vm call. */
async function runCall(warm: WarmIsolate, code: ModuleCode, request: InvocationRequest, context: InvocationContext, log: FunctionLog): Promise<DispatchOutput> {
  const call = await warm.take();
  call.sink.log = log;
  const deadline = context.timeoutMs === undefined ? undefined : performance.now() + context.timeoutMs;
  const limit = () => (deadline === undefined ? {} : { timeout: Math.max(1, Math.ceil(deadline - performance.now())) });
  const held: Array<{ release(): void }> = [call.context, call.run];
  try {
    const module = warm.isolate.compileModuleSync(code.source, { filename: MODULE_NAME, ...(code.cachedData ? { cachedData: code.cachedData } : {}) });
    held.push(module);
    module.instantiateSync(call.context, (specifier) => {
      throw new Error(`Cannot import ${JSON.stringify(specifier)}: a function is a single module without imports`);
    });
    module.evaluateSync(limit());
    const body = new ivm.ExternalCopy(exactBuffer(request.body)).copyInto({ release: true });
    const collect = call.run.applySync(undefined, [module.namespace.derefInto(), requestMeta(request, context), body], {
      ...limit(),
      result: { reference: true },
    }) as ivm.Reference;
    held.push(collect);
    const [status, headersJson, bytes] = collect.applySync(undefined, [], { result: { copy: true } }) as [number, string, ArrayBuffer];
    return { status, headersJson, body: new Uint8Array(bytes) };
  } finally {
    call.sink.log = undefined;
    for (const reference of held) reference.release();
  }
}

class V8Function implements PreparedFunction {
  constructor(
    private readonly pool: IsolatePool,
    private readonly code: ModuleCode,
    private readonly memoryLimitBytes: number,
  ) {}

  async invoke(request: InvocationRequest, context: InvocationContext): Promise<InvocationResult> {
    const warm = this.pool.acquire(memoryMbFor(this.memoryLimitBytes));
    const log = new FunctionLog();
    const cpuStart = warm.isolate.cpuTime;
    const usage = (): InvocationUsage => {
      let heap = 0;
      let cpu = 0n;
      if (!warm.isolate.isDisposed) {
        heap = warm.isolate.getHeapStatisticsSync().used_heap_size;
        cpu = warm.isolate.cpuTime - cpuStart;
      }
      return { fuel: null, weightsVersion: null, memoryPeakBytes: heap, pageFuelIntegral: null, ioBytesIn: request.body.length, ioBytesOut: 0, cpuTimeNs: Number(cpu) };
    };
    try {
      return successResult(await runCall(warm, this.code, request, context, log), context, log, usage());
    } catch (error) {
      return failureResult(this.classify(error, warm, context.timeoutMs, log), log, usage());
    } finally {
      this.pool.release(warm);
    }
  }

  private classify(error: unknown, warm: WarmIsolate, timeoutMs: number | undefined, log: FunctionLog): TfaasError {
    const message = error instanceof Error ? error.message : String(error);
    if (/Script execution timed out/.test(message)) {
      // Terminated mid-call: the isolate goes rather than be reused in an unknown state.
      warm.dispose();
      return timedOut(timeoutMs ?? 0);
    }
    if (/memory limit/i.test(message) || (warm.isolate.isDisposed && /disposed/i.test(message))) {
      warm.dispose();
      log.line(`RangeError: ${message}`);
      return outOfMemory(this.memoryLimitBytes);
    }
    if (error instanceof TfaasError) return error;
    if (error instanceof Error || typeof error === "string") return thrownByFunction(log, describe(error));
    return asTfaasError(error);
  }
}

class V8Runtime implements Runtime {
  readonly kind = "v8";
  readonly #pool = processPool;

  /**
   * Compiles the module (syntax errors surface now) and keeps V8's code cache for its calls; a
   * new isolate also runs the warm-up call, so the function's first call finds it compiled.
   */
  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    const source = decodeSource(bytes);
    const memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_JS_MEMORY_BYTES;
    const warm = this.#pool.acquire(memoryMbFor(memoryLimitBytes));
    try {
      let cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined;
      try {
        const module = warm.isolate.compileModuleSync(source, { filename: MODULE_NAME, produceCachedData: true });
        cachedData = (module as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
        module.release();
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new TfaasError("invalid-artifact", `Cannot prepare: the module does not compile: ${detail}`, { cause: error });
      }
      await warmUp(warm);
      return new V8Function(this.#pool, { source, cachedData }, memoryLimitBytes);
    } finally {
      this.#pool.release(warm);
    }
  }
}

export function createV8Runtime(): Runtime {
  return new V8Runtime();
}
