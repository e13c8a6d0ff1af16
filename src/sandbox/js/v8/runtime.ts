/**
 * Engine `v8`: JavaScript functions in V8 isolates (isolated-vm). A worker keeps warm isolates
 * in a pool per memory limit; each call runs in a fresh context of one of them (a spare context,
 * prelude already run, is prepared after every call so the next call does not wait for it).
 *
 * Limits: the isolate's heap limit (isolated-vm disposes an isolate that passes it; V8 may also
 * abort the whole process, which is why isolates live only in worker processes, which the gateway
 * replaces), and a wall-clock deadline, after which the isolate is disposed. Usage is V8's CPU
 * time and heap, not deterministic fuel: `fuel` is null for this engine.
 */
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
} from "../invocation.js";
import { PRELUDE_SOURCE } from "../prelude/source.js";

/** isolated-vm's smallest heap limit. */
const MIN_MEMORY_MB = 8;
/** Idle isolates kept per memory limit. */
const MAX_IDLE_ISOLATES = 4;

/** Where a context's host callbacks send their output: set per call. */
interface CallSink {
  log: FunctionLog | undefined;
}

interface WarmContext {
  context: ivm.Context;
  dispatch: ivm.Reference;
  sink: CallSink;
}

class WarmIsolate {
  readonly isolate: ivm.Isolate;
  readonly #prelude: ivm.Script;
  #spare: Promise<WarmContext> | undefined;

  constructor(readonly memoryMb: number) {
    this.isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    this.#prelude = this.isolate.compileScriptSync(PRELUDE_SOURCE, { filename: "prelude.js" });
    this.#spare = this.#newContext();
  }

  /** A fresh context for one call; the next one starts being prepared at once. */
  async take(): Promise<WarmContext> {
    const warm = await (this.#spare ?? this.#newContext());
    this.#spare = this.#newContext();
    this.#spare.catch(() => (this.#spare = undefined));
    return warm;
  }

  async #newContext(): Promise<WarmContext> {
    const context = await this.isolate.createContext();
    const sink: CallSink = { log: undefined };
    const host = {
      log: new ivm.Callback((text: string) => sink.log?.line(String(text))),
      random: new ivm.Callback((length: number) => new ivm.ExternalCopy(exactBuffer(hostRandom(length))).copyInto({ release: true })),
      digest: new ivm.Callback((algorithm: string, data: ArrayBuffer) =>
        new ivm.ExternalCopy(exactBuffer(hostDigest(String(algorithm), new Uint8Array(data)))).copyInto({ release: true }),
      ),
      encode: new ivm.Callback((text: string) => new ivm.ExternalCopy(exactBuffer(hostEncode(String(text)))).copyInto({ release: true })),
      decode: new ivm.Callback((data: ArrayBuffer, fatal: boolean) => {
        try {
          return hostDecode(new Uint8Array(data), fatal === true);
        } catch {
          throw new TypeError("The encoded data was not valid UTF-8");
        }
      }),
    };
    await context.global.set("__tfaas_host", new ivm.ExternalCopy({}).copyInto({ release: true }));
    const hostObject = (await context.global.get("__tfaas_host", { reference: true })) as ivm.Reference;
    for (const [name, callback] of Object.entries(host)) await hostObject.set(name, callback);
    hostObject.release();
    const dispatch = (await this.#prelude.run(context, { reference: true })) as ivm.Reference;
    return { context, dispatch, sink };
  }

  get usable(): boolean {
    return !this.isolate.isDisposed;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}

/** Warm isolates by memory limit, shared by every v8 function in the worker. */
class IsolatePool {
  readonly #idle = new Map<number, WarmIsolate[]>();

  acquire(memoryMb: number): WarmIsolate {
    const idle = this.#idle.get(memoryMb);
    while (idle !== undefined && idle.length > 0) {
      const warm = idle.pop()!;
      if (warm.usable) return warm;
    }
    return new WarmIsolate(memoryMb);
  }

  release(warm: WarmIsolate): void {
    if (!warm.usable) return;
    const idle = this.#idle.get(warm.memoryMb) ?? [];
    if (idle.length >= MAX_IDLE_ISOLATES) return warm.dispose();
    idle.push(warm);
    this.#idle.set(warm.memoryMb, idle);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.stack && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}`;
  return String(error);
}

class V8Function implements PreparedFunction {
  #cachedData: ivm.ExternalCopy<ArrayBuffer> | undefined;

  constructor(
    private readonly pool: IsolatePool,
    private readonly source: string,
    private readonly memoryLimitBytes: number,
  ) {}

  async invoke(request: InvocationRequest, context: InvocationContext): Promise<InvocationResult> {
    const memoryMb = Math.max(MIN_MEMORY_MB, Math.ceil(this.memoryLimitBytes / (1024 * 1024)));
    const warm = this.pool.acquire(memoryMb);
    const log = new FunctionLog();
    const cpuStart = warm.isolate.cpuTime;
    let deadlineHit = false;
    const usage = (): InvocationUsage => {
      let heap = 0;
      let cpu = 0n;
      if (!warm.isolate.isDisposed) {
        heap = warm.isolate.getHeapStatisticsSync().used_heap_size;
        cpu = warm.isolate.cpuTime - cpuStart;
      }
      return { fuel: null, weightsVersion: null, memoryPeakBytes: heap, pageFuelIntegral: null, ioBytesIn: request.body.length, ioBytesOut: 0, cpuTimeNs: Number(cpu) };
    };
    const timeoutMs = context.timeoutMs;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            // Async continuations are outside isolated-vm's per-run timeout: disposing stops everything.
            deadlineHit = true;
            warm.dispose();
          }, timeoutMs);
    let call: WarmContext | undefined;
    try {
      call = await warm.take();
      call.sink.log = log;
      const runOptions = timeoutMs === undefined ? {} : { timeout: Math.max(1, Math.ceil(timeoutMs)) };
      const module = await warm.isolate.compileModule(this.source, {
        filename: MODULE_NAME,
        ...(this.#cachedData ? { cachedData: this.#cachedData } : { produceCachedData: true }),
      });
      const produced = (module as unknown as { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
      if (produced !== undefined && this.#cachedData === undefined) this.#cachedData = produced;
      await module.instantiate(call.context, (specifier) => {
        throw new Error(`Cannot import ${JSON.stringify(specifier)}: a function is a single module without imports`);
      });
      await module.evaluate(runOptions);
      const output = (await call.dispatch.apply(
        undefined,
        [module.namespace.derefInto(), requestMeta(request, context), new ivm.ExternalCopy(exactBuffer(request.body)).copyInto({ release: true })],
        { ...runOptions, result: { promise: true, copy: true } },
      )) as [number, string, ArrayBuffer];
      module.release();
      return successResult({ status: output[0], headersJson: output[1], body: new Uint8Array(output[2]) }, context, log, usage());
    } catch (error) {
      return failureResult(this.classify(error, warm, deadlineHit, timeoutMs, log), log, usage());
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (call !== undefined) {
        call.sink.log = undefined;
        call.dispatch.release();
        call.context.release();
      }
      this.pool.release(warm);
    }
  }

  private classify(error: unknown, warm: WarmIsolate, deadlineHit: boolean, timeoutMs: number | undefined, log: FunctionLog): TfaasError {
    const message = error instanceof Error ? error.message : String(error);
    if (deadlineHit || /Script execution timed out/.test(message)) {
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
  readonly #pool = new IsolatePool();

  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    const source = decodeSource(bytes);
    const memoryLimitBytes = options.memoryLimitBytes ?? DEFAULT_JS_MEMORY_BYTES;
    const warm = this.#pool.acquire(Math.max(MIN_MEMORY_MB, Math.ceil(memoryLimitBytes / (1024 * 1024))));
    try {
      // Compile only: syntax errors surface now, not at the first call.
      (await warm.isolate.compileModule(source, { filename: MODULE_NAME })).release();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new TfaasError("invalid-artifact", `Cannot prepare: the module does not compile: ${detail}`, { cause: error });
    } finally {
      this.#pool.release(warm);
    }
    return new V8Function(this.#pool, source, memoryLimitBytes);
  }
}

export function createV8Runtime(): Runtime {
  return new V8Runtime();
}
