/**
 * The WebAssembly runtime: `prepare` checks, caps and compiles a WASI command module once;
 * `invoke` runs one fresh instance per call (no state survives between calls; its memory may be
 * a zeroed one from an earlier call, see memory-pool.ts) and turns what it did into an
 * InvocationResult. The call runs synchronously to completion; the gateway's
 * exec_timeout is what bounds a function that never returns.
 */
import type {
  InvocationContext,
  InvocationRequest,
  InvocationResult,
  InvocationUsage,
  PreparedFunction,
  PrepareOptions,
  ResponseAbi,
  Runtime,
} from "../index.js";
import { isFuelExhausted, readMeteringUsage, setFuelLimit, WEIGHTS_VERSION } from "../../metering/index.js";
import { WASM_PAGE_BYTES } from "../../shared/constants.js";
import { asTfaasError, TfaasError } from "../../shared/errors.js";
import { instrumentedModule, type ModuleCache } from "../instrumented-cache.js";
import { buildEnvironment } from "./cgi.js";
import { checkCommandModule } from "./command-module.js";
import { limitMemory } from "./memory-limit.js";
import { importMemory, MemoryPool, POOLED_MEMORY_IMPORT } from "./memory-pool.js";
import { OutputBuffer } from "./output.js";
import { buildResponse } from "./response.js";
import { Preview1, ProcExit, WASI_MODULE } from "./wasi/index.js";

/** stderr becomes log lines; beyond this it is cut and marked. */
export const STDERR_LIMIT_BYTES = 64 * 1024;
/** argv of every function; the runtime does not know the function's name. */
const ARGS = ["function"] as const;

/** Instrumented function code kept on disk: the most recently used, up to this many bytes. */
const MODULE_CACHE_BYTES = 256 * 1024 * 1024;
let moduleCache: ModuleCache | undefined;

/**
 * Keeps functions' instrumented code in `directory` (instrumented-cache.ts), so a function is
 * instrumented once per machine, not once per worker process; without it, every process
 * instruments what it loads. Set at process start, before the first load.
 */
export function useModuleCache(directory: string | undefined): void {
  moduleCache = directory === undefined ? undefined : { dir: directory, name: "wasm-metered", maxBytes: MODULE_CACHE_BYTES };
}

/** Thrown by the stdout sink to stop the instance once the output cap is passed. */
class OutputLimitExceeded {}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

class WasmFunction implements PreparedFunction {
  readonly #module: WebAssembly.Module;
  readonly #abi: ResponseAbi;
  /** Where each instance's memory comes from, when the module was rewritten to import it. */
  readonly #memories: MemoryPool | undefined;

  constructor(module: WebAssembly.Module, abi: ResponseAbi, memories: MemoryPool | undefined) {
    this.#module = module;
    this.#abi = abi;
    this.#memories = memories;
  }

  async invoke(request: InvocationRequest, context: InvocationContext): Promise<InvocationResult> {
    const stdout = new OutputBuffer(context.maxOutputBytes);
    const stderr = new OutputBuffer(STDERR_LIMIT_BYTES);
    const wasi = new Preview1({
      args: ARGS,
      env: buildEnvironment(request, context.env),
      stdin: request.body,
      stdout: (chunk) => {
        if (!stdout.write(chunk)) throw new OutputLimitExceeded();
      },
      stderr: (chunk) => {
        stderr.write(chunk);
      },
      secrets: context.secrets,
    });

    let exitCode = 0;
    let failure: TfaasError | undefined;
    let trap: string | undefined;
    let instance: WebAssembly.Instance | undefined;
    let memory: WebAssembly.Memory | undefined;
    try {
      try {
        memory = this.#memories?.take();
        const pooled = memory === undefined ? {} : { [POOLED_MEMORY_IMPORT.module]: { [POOLED_MEMORY_IMPORT.name]: memory } };
        instance = new WebAssembly.Instance(this.#module, { [WASI_MODULE]: wasi.imports, ...pooled });
      } catch (error) {
        // The engine could not reserve memory for one more instance: the worker is exhausted,
        // not the function at fault. (Traps in a start function are RuntimeErrors and pass on.)
        if (error instanceof RangeError) {
          throw new TfaasError("unavailable", "Cannot start the function: the worker has no memory for a new instance", { cause: error });
        }
        throw error;
      }
      setFuelLimit(instance.exports, context.fuelLimit);
      wasi.memory.bind(instance.exports["memory"] as WebAssembly.Memory);
      (instance.exports["_start"] as () => void)();
    } catch (error) {
      if (error instanceof ProcExit) {
        exitCode = error.code;
      } else if (error instanceof OutputLimitExceeded) {
        failure = new TfaasError(
          "output-too-large",
          `Cannot return the function's output: it exceeds the limit of ${context.maxOutputBytes} bytes`,
        );
      } else if (instance !== undefined && isFuelExhausted(instance.exports, error)) {
        failure = new TfaasError("fuel-exhausted", `Cannot complete the call: it exhausted its fuel budget of ${context.fuelLimit} (deterministic; retrying does not help)`);
        trap = "fuel exhausted";
      } else if (error instanceof WebAssembly.RuntimeError || error instanceof RangeError) {
        // RangeError here is the engine's "Maximum call stack size exceeded" from guest recursion:
        // syscalls never let one escape.
        trap = error.message;
        failure = new TfaasError("function-failed", `function trapped: ${error.message}`, { cause: error });
      } else {
        failure = asTfaasError(error);
      }
    }
    // Output was copied out as it was written: nothing reads the memory after this.
    if (memory !== undefined) this.#memories?.give(memory);

    if (failure === undefined && exitCode !== 0) {
      failure = new TfaasError("function-failed", `function exited with code ${exitCode}`);
    }
    const log = stderrText(stderr, trap);
    const usage = usageOf(instance, wasi);
    if (failure === undefined) {
      try {
        return { ...buildResponse(this.#abi, stdout.bytes()), stderr: log, usage };
      } catch (error) {
        failure = asTfaasError(error);
      }
    }
    return {
      status: failure.status,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: utf8Encoder.encode(failure.message),
      stderr: log,
      usage,
      error: failure,
    };
  }
}

function usageOf(instance: WebAssembly.Instance | undefined, wasi: Preview1): InvocationUsage {
  const io = { ioBytesIn: wasi.io.bytesIn, ioBytesOut: wasi.io.bytesOut };
  if (instance === undefined) return { fuel: 0n, weightsVersion: WEIGHTS_VERSION, memoryPeakBytes: 0, pageFuelIntegral: 0n, ...io };
  const metered = readMeteringUsage(instance.exports);
  return {
    fuel: metered.fuel,
    weightsVersion: WEIGHTS_VERSION,
    memoryPeakBytes: metered.memoryPeakPages * WASM_PAGE_BYTES,
    pageFuelIntegral: metered.pageFuelIntegral,
    ...io,
  };
}

function stderrText(stderr: OutputBuffer, trap: string | undefined): string {
  let text = stderr.size === 0 ? "" : utf8Decoder.decode(stderr.bytes());
  if (stderr.overflowed) text += `\n[stderr truncated at ${stderr.limit} bytes]`;
  if (trap !== undefined) text += `${text === "" || text.endsWith("\n") ? "" : "\n"}wasm trap: ${trap}\n`;
  return text;
}

/** Fails with the engine's reason why the module does not compile. */
async function compileOrExplain(bytes: Uint8Array): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice());
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TfaasError("invalid-artifact", `Cannot prepare: module does not compile: ${detail}`, { cause: error });
  }
}

class WasmRuntime implements Runtime {
  readonly kind = "wasm";

  async prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction> {
    const capped = options.memoryLimitBytes === undefined ? bytes : limitMemory(bytes, options.memoryLimitBytes);
    // The original must be valid on its own: an out-of-range global or local index would
    // otherwise name the counters instrumentation appends, letting the guest reset its own fuel.
    if (!WebAssembly.validate(capped as Uint8Array<ArrayBuffer>)) await compileOrExplain(capped); // throws, saying why
    // Instrumented here, on the trusted side: the worker never runs metering code it did not make
    // (or that another worker process of this machine did not make and leave in its cache).
    // Sealed code stays in memory: its plaintext must never reach the disk.
    const code = (await instrumentedModule(capped, options.sealed === true ? undefined : moduleCache)).bytes;
    const pooled = importMemory(code);
    const module = await compileOrExplain(pooled?.bytes ?? code);
    checkCommandModule(module, capped, pooled !== undefined);
    return new WasmFunction(module, options.abi, pooled && new MemoryPool(pooled.limits));
  }
}

export function createWasmRuntime(): Runtime {
  return new WasmRuntime();
}
