/**
 * The worker process: the trusted side. It verifies and compiles function code, keeps prepared
 * functions by key, and runs one fresh sandbox instance per invocation. It never sees the store.
 */
import { digestOf } from "../artifacts/index.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import type { PreparedFunction } from "../sandbox/index.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import type { FromWorker, FunctionSpec, ToWorker } from "./protocol.js";

interface Loaded {
  spec: FunctionSpec;
  prepared: Promise<PreparedFunction>;
  secrets: Map<string, Uint8Array>;
}

const runtime = createWasmRuntime();
const functions = new Map<string, Loaded>();

function send(message: FromWorker): void {
  process.send?.(message);
}

async function prepare(spec: FunctionSpec): Promise<PreparedFunction> {
  // The worker does not trust the channel that brought the code: it checks the measurement itself.
  if (digestOf(spec.bytes) !== spec.digest) {
    throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: code does not match digest ${spec.digest}`);
  }
  return runtime.prepare(spec.bytes, spec.options);
}

function load(spec: FunctionSpec): void {
  const prepared = prepare(spec);
  functions.set(spec.key, { spec, prepared, secrets: new Map(spec.secrets) });
  prepared.then(
    () => send({ type: "loaded", key: spec.key }),
    (error: unknown) => {
      functions.delete(spec.key);
      send({ type: "loaded", key: spec.key, error: asTfaasError(error).toJSON() });
    },
  );
}

async function invoke(message: Extract<ToWorker, { type: "invoke" }>): Promise<void> {
  try {
    const loaded = functions.get(message.key);
    if (!loaded) throw new TfaasError("unavailable", `Cannot invoke: function revision ${message.key} is not loaded here`);
    const prepared = await loaded.prepared;
    const result = await prepared.invoke(message.request, {
      env: loaded.spec.env,
      secrets: loaded.secrets,
      maxOutputBytes: loaded.spec.maxOutputBytes,
      fuelLimit: loaded.spec.fuelLimit,
    });
    const { error, ...rest } = result;
    send({ type: "result", id: message.id, result: error ? { ...rest, error: error.toJSON() } : rest });
  } catch (error) {
    send({ type: "result", id: message.id, error: asTfaasError(error).toJSON() });
  }
}

process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "load":
      load(message.spec);
      break;
    case "unload":
      functions.delete(message.key);
      break;
    case "invoke":
      void invoke(message);
      break;
  }
});

// The gateway going away (even by SIGKILL) closes the channel: a worker never outlives it.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
