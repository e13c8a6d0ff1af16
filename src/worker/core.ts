/**
 * The worker core: what a worker does, whatever carries its messages. It verifies and prepares
 * function code, keeps prepared functions by key, runs one fresh sandbox instance per call and
 * issues the call's receipt. Embedded workers drive it over Node IPC (main.ts); distributed
 * workers over NATS (src/distributed). It never sees the store.
 */
import { digestOf } from "../artifacts/index.js";
import type { WireEvidence, WorkerIdentity } from "../attestation/index.js";
import { createJsRuntime } from "../sandbox/js/index.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import type { InvocationRequest, PreparedFunction, Runtime } from "../sandbox/index.js";
import { TfaasError } from "../shared/errors.js";
import type { FunctionSpec, WireResult } from "./protocol.js";

/** A JavaScript engine stops a call itself this long before the gateway would give up on it. */
const ENGINE_TIMEOUT_MARGIN = 0.9;

interface Loaded {
  spec: FunctionSpec;
  prepared: Promise<PreparedFunction>;
  secrets: Map<string, Uint8Array>;
}

export interface WorkerCore {
  /** Starts preparing `spec` under its key; settles when it is ready (or fails, and is forgotten). */
  load(spec: FunctionSpec): Promise<void>;
  unload(key: string): void;
  isLoaded(key: string): boolean;
  /** One call of a loaded function; `functionId` (`name.namespace`) goes into the receipt. Platform failures throw. */
  invoke(key: string, functionId: string, request: InvocationRequest): Promise<WireResult>;
  attest(nonce: Uint8Array): Promise<WireEvidence>;
}

export interface WorkerCoreOptions {
  identity: WorkerIdentity;
  /** How code becomes a prepared function; default `prepareSpec` (a distributed worker adds a cache per digest). */
  prepare?: (spec: FunctionSpec) => Promise<PreparedFunction>;
}

const runtimes: Record<"wasm" | "quickjs" | "v8", Runtime> = {
  wasm: createWasmRuntime(),
  quickjs: createJsRuntime("quickjs"),
  v8: createJsRuntime("v8"),
};

function runtimeFor(spec: FunctionSpec): Runtime {
  if ((spec.kind ?? "wasm") === "wasm") return runtimes.wasm;
  if (spec.engine === undefined) throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: a JavaScript function needs an engine`);
  return runtimes[spec.engine];
}

/** Checks the code against its digest (the worker does not trust the channel that brought it), then prepares it. */
export async function prepareSpec(spec: FunctionSpec): Promise<PreparedFunction> {
  if (digestOf(spec.bytes) !== spec.digest) {
    throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: code does not match digest ${spec.digest}`);
  }
  return runtimeFor(spec).prepare(spec.bytes, spec.options);
}

export function createWorkerCore({ identity, prepare = prepareSpec }: WorkerCoreOptions): WorkerCore {
  const functions = new Map<string, Loaded>();

  return {
    load(spec) {
      const prepared = prepare(spec);
      functions.set(spec.key, { spec, prepared, secrets: new Map(spec.secrets) });
      return prepared.then(
        () => undefined,
        (error: unknown) => {
          functions.delete(spec.key);
          throw error;
        },
      );
    },

    unload(key) {
      functions.delete(key);
    },

    isLoaded(key) {
      return functions.has(key);
    },

    async invoke(key, functionId, request) {
      const ticket = identity.receipts.begin();
      try {
        const loaded = functions.get(key);
        if (!loaded) throw new TfaasError("unavailable", `Cannot invoke: function revision ${key} is not loaded here`);
        const prepared = await loaded.prepared;
        const started = process.hrtime.bigint();
        const result = await prepared.invoke(request, {
          env: loaded.spec.env,
          secrets: loaded.secrets,
          maxOutputBytes: loaded.spec.maxOutputBytes,
          fuelLimit: loaded.spec.fuelLimit,
          ...(loaded.spec.execTimeoutMs === undefined ? {} : { timeoutMs: loaded.spec.execTimeoutMs * ENGINE_TIMEOUT_MARGIN }),
        });
        const wallNanos = Number(process.hrtime.bigint() - started);
        const receipt = await ticket.issue({
          callId: request.headers["x-call-id"] ?? "",
          function: functionId,
          artifactDigest: loaded.spec.digest,
          request: request.body,
          response: result.body,
          status: result.status,
          usage: result.usage,
          wallNanos,
        });
        const { error, ...rest } = result;
        const wire = receipt === undefined ? rest : { ...rest, receipt };
        return error ? { ...wire, error: error.toJSON() } : wire;
      } catch (error) {
        ticket.abandon();
        throw error;
      }
    },

    attest: (nonce) => identity.attest(nonce),
  };
}
