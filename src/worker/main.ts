/**
 * The worker process: the trusted side. It verifies and compiles function code, keeps prepared
 * functions by key, and runs one fresh sandbox instance per invocation. It never sees the store.
 */
import { digestOf } from "../artifacts/index.js";
import { createWorkerIdentity, workerSettingsFromEnv } from "../attestation/index.js";
import { createJsRuntime } from "../sandbox/js/index.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import type { PreparedFunction, Runtime } from "../sandbox/index.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import type { FromWorker, FunctionSpec, ToWorker } from "./protocol.js";

interface Loaded {
  spec: FunctionSpec;
  prepared: Promise<PreparedFunction>;
  secrets: Map<string, Uint8Array>;
}

const runtimes: Record<"wasm" | "quickjs" | "v8", Runtime> = {
  wasm: createWasmRuntime(),
  quickjs: createJsRuntime("quickjs"),
  v8: createJsRuntime("v8"),
};
/** A JavaScript engine stops a call itself this long before the gateway would kill the worker. */
const ENGINE_TIMEOUT_MARGIN = 0.9;

function runtimeFor(spec: FunctionSpec): Runtime {
  if ((spec.kind ?? "wasm") === "wasm") return runtimes.wasm;
  if (spec.engine === undefined) throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: a JavaScript function needs an engine`);
  return runtimes[spec.engine];
}
const functions = new Map<string, Loaded>();

function send(message: FromWorker): void {
  process.send?.(message);
}

// Keys, TEE backend and measurement, once per process (docs/attestation.md).
const identity = await createWorkerIdentity(workerSettingsFromEnv(process.env)).catch((error: unknown) => {
  log.error("cannot create the worker's attested identity", { error: asTfaasError(error).message });
  process.exit(1);
});

async function attest(message: Extract<ToWorker, { type: "attest" }>): Promise<void> {
  try {
    send({ type: "attested", id: message.id, evidence: await identity.attest(message.nonce) });
  } catch (error) {
    send({ type: "attested", id: message.id, error: asTfaasError(error).toJSON() });
  }
}

async function prepare(spec: FunctionSpec): Promise<PreparedFunction> {
  // The worker does not trust the channel that brought the code: it checks the measurement itself.
  if (digestOf(spec.bytes) !== spec.digest) {
    throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: code does not match digest ${spec.digest}`);
  }
  return runtimeFor(spec).prepare(spec.bytes, spec.options);
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
  const ticket = identity.receipts.begin();
  try {
    const loaded = functions.get(message.key);
    if (!loaded) throw new TfaasError("unavailable", `Cannot invoke: function revision ${message.key} is not loaded here`);
    const prepared = await loaded.prepared;
    const started = process.hrtime.bigint();
    const result = await prepared.invoke(message.request, {
      env: loaded.spec.env,
      secrets: loaded.secrets,
      maxOutputBytes: loaded.spec.maxOutputBytes,
      fuelLimit: loaded.spec.fuelLimit,
      ...(loaded.spec.execTimeoutMs === undefined ? {} : { timeoutMs: loaded.spec.execTimeoutMs * ENGINE_TIMEOUT_MARGIN }),
    });
    const wallNanos = Number(process.hrtime.bigint() - started);
    const receipt = await ticket.issue({
      callId: message.request.headers["x-call-id"] ?? "",
      function: message.function,
      artifactDigest: loaded.spec.digest,
      request: message.request.body,
      response: result.body,
      status: result.status,
      usage: result.usage,
      wallNanos,
    });
    const { error, ...rest } = result;
    const wire = receipt === undefined ? rest : { ...rest, receipt };
    send({ type: "result", id: message.id, result: error ? { ...wire, error: error.toJSON() } : wire });
  } catch (error) {
    ticket.abandon();
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
    case "attest":
      void attest(message);
      break;
  }
});

// The gateway going away (even by SIGKILL) closes the channel: a worker never outlives it.
process.on("disconnect", () => process.exit(0));
send({ type: "ready", identity: identity.info });
