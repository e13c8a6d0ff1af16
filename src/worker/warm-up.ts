/**
 * A new worker's call path, warmed before any caller needs it. V8 compiles a function's
 * JavaScript when it first runs and optimises it only after many runs, so the first calls a
 * worker serves used to run the platform's own code (runtime glue, receipts, encodings) cold: on
 * a fresh worker, a first call after deploy took several milliseconds more than the next ones
 * (docs/javascript.md). Here the same code runs WARM_UP_CALLS times per runtime, in the
 * background, on a built-in function per runtime: wasm always, each JavaScript engine only once
 * it has started (warming an engine nobody asked to start would start it).
 *
 * Receipts are issued by a throwaway `WorkerReceipts` with its own key: the worker's attested
 * chain never sees a warm-up call.
 */
import { digestOf } from "../artifacts/index.js";
import { WorkerReceipts, type ReceiptsSetting } from "../attestation/index.js";
import { generateSigningKeyPair } from "../crypto/index.js";
import type { JsEngine } from "../sandbox/js/index.js";
import { WARM_UP_CONTEXT, WARM_UP_REQUEST, WARM_UP_SOURCE } from "../sandbox/js/invocation.js";
import { startJsEngines } from "../sandbox/js/prewarm.js";
import { asTfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { prepareSpec } from "./core.js";
import type { FunctionSpec } from "./protocol.js";

/** Calls per runtime: V8 compiles the code they run, and 40 measured no better than 12 (docs/javascript.md). */
export const WARM_UP_CALLS = 12;

/**
 * A WASI command writing "ok" to stdout, assembled here (no compiler at run time):
 * (module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
 *   (memory (export "memory") 1) (data (i32.const 16) "ok") (data (i32.const 0) "\10\00\00\00\02\00\00\00")
 *   (func (export "_start") (drop (call 0 (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
 */
export const WARM_UP_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: (i32 i32 i32 i32) → i32, () → ()
  0x01, 0x0c, 0x02, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00,
  // import wasi_snapshot_preview1.fd_write
  0x02, 0x23, 0x01, 0x16, ...new TextEncoder().encode("wasi_snapshot_preview1"), 0x08, ...new TextEncoder().encode("fd_write"), 0x00, 0x00,
  // one function of type 1; one memory of one page
  0x03, 0x02, 0x01, 0x01,
  0x05, 0x03, 0x01, 0x00, 0x01,
  // exports: memory, _start
  0x07, 0x13, 0x02, 0x06, ...new TextEncoder().encode("memory"), 0x02, 0x00, 0x06, ...new TextEncoder().encode("_start"), 0x00, 0x01,
  // _start: fd_write(1, iovs 0, 1 iovec, nwritten at 8)
  0x0a, 0x0f, 0x01, 0x0d, 0x00, 0x41, 0x01, 0x41, 0x00, 0x41, 0x01, 0x41, 0x08, 0x10, 0x00, 0x1a, 0x0b,
  // data: "ok" at 16, the iovec { 16, 2 } at 0
  0x0b, 0x15, 0x02, 0x00, 0x41, 0x10, 0x0b, 0x02, 0x6f, 0x6b, 0x00, 0x41, 0x00, 0x0b, 0x08, 0x10, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
]);

function warmUpSpec(runtime: "wasm" | JsEngine): FunctionSpec {
  const bytes = runtime === "wasm" ? WARM_UP_WASM : new TextEncoder().encode(WARM_UP_SOURCE);
  return {
    key: `warm-up:${runtime}`,
    name: "warm-up",
    digest: digestOf(bytes),
    bytes,
    options: { abi: "stdio" },
    env: {},
    secrets: [],
    maxOutputBytes: WARM_UP_CONTEXT.maxOutputBytes,
    fuelLimit: undefined,
    ...(runtime === "wasm" ? {} : { kind: "javascript" as const, engine: runtime }),
  };
}

/**
 * Runs the warm-up calls: wasm at once, each engine in `engines` once that promise says it
 * started. Calls run one at a time, so a real call waits for at most one of them. Rejects
 * (with the first failure) when a warm-up call does not succeed; the caller logs it.
 */
export async function warmUpCallPath(engines: Promise<readonly JsEngine[]>, receiptsMode: ReceiptsSetting): Promise<void> {
  const receipts = new WorkerReceipts({ workerId: "warm-up", privateKey: generateSigningKeyPair().privateKey, mode: receiptsMode });
  const warm = async (runtime: "wasm" | JsEngine) => {
    const spec = warmUpSpec(runtime);
    const prepared = await prepareSpec(spec);
    for (let call = 0; call < WARM_UP_CALLS; call++) {
      const ticket = receipts.begin();
      const result = await prepared.invoke(WARM_UP_REQUEST, WARM_UP_CONTEXT);
      if (result.error) throw result.error;
      await ticket.issue({ callId: `warm-up-${call}`, function: spec.name, artifactDigest: spec.digest, request: WARM_UP_REQUEST.body, response: result.body, status: result.status, usage: result.usage, wallNanos: 0 });
    }
  };
  try {
    await warm("wasm");
    for (const engine of await engines) await warm(engine);
  } finally {
    receipts.close();
  }
}

/**
 * A worker's start, after it is ready: its JavaScript engines (prewarm.ts) and, beside them, the
 * warm-up calls. Both run in the background; a failure is logged and never stops the worker.
 */
export function startWarmUp(env: NodeJS.ProcessEnv, dataDir: string, receiptsMode: ReceiptsSetting): void {
  warmUpCallPath(startJsEngines(env, dataDir), receiptsMode).catch((error: unknown) => log.warn("cannot warm up the call path", { error: asTfaasError(error).message }));
}
