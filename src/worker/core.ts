/**
 * The worker core: what a worker does, whatever carries its messages. It verifies and prepares
 * function code, keeps prepared functions by key, runs one fresh sandbox instance per call and
 * issues the call's receipt. Embedded workers drive it over Node IPC (main.ts); distributed
 * workers over NATS (src/distributed). It never sees the store.
 */
import { digestOf, isSealedUpload } from "../artifacts/index.js";
import type { WireEvidence, WorkerIdentity } from "../attestation/index.js";
import { OhttpKeyring } from "../confidential/index.js";
import { createJsRuntime } from "../sandbox/js/index.js";
import { createWasmRuntime } from "../sandbox/wasm/index.js";
import type { InvocationRequest, PreparedFunction, Runtime } from "../sandbox/index.js";
import { TfaasError } from "../shared/errors.js";
import { openConfidentialCall } from "./confidential-call.js";
import { openSealedCode } from "./key-release.js";
import type { FunctionSpec, WireResult } from "./protocol.js";

/** A JavaScript engine stops a call itself this long before the gateway would give up on it. */
const ENGINE_TIMEOUT_MARGIN = 0.9;

interface Loaded {
  spec: FunctionSpec;
  /** The code's measurement for receipts: the plaintext digest of sealed code, else the spec's digest. */
  measurement: Promise<string>;
  prepared: Promise<PreparedFunction>;
  secrets: Map<string, Uint8Array>;
}

export interface WorkerCore {
  /** Starts preparing `spec` under its key; settles when it is ready (or fails, and is forgotten). */
  load(spec: FunctionSpec): Promise<void>;
  unload(key: string): void;
  isLoaded(key: string): boolean;
  /**
   * One call of a loaded function; `functionId` (`name.namespace`) goes into the receipt. Platform
   * failures throw. `confidential`: the body is a `message/ohttp-req` for this worker's key.
   */
  invoke(key: string, functionId: string, request: InvocationRequest, options?: { confidential?: boolean }): Promise<WireResult>;
  attest(nonce: Uint8Array): Promise<WireEvidence>;
}

export interface WorkerCoreOptions {
  identity: WorkerIdentity;
  /** How code becomes a prepared function; default `prepareSpec` (a distributed worker adds a cache per digest). */
  prepare?: (spec: FunctionSpec) => Promise<PreparedFunction>;
  /** The OHTTP key id this worker's attested HPKE key is published under; without it, confidential calls are refused. */
  ohttpKeyId?: number;
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

/**
 * Sealed code is opened here, inside the worker, with a key the owner's broker releases to this
 * worker's evidence (key-release.ts); then it is prepared like any code, under its plaintext digest.
 */
async function unsealed(spec: FunctionSpec, identity: WorkerIdentity): Promise<FunctionSpec> {
  if (digestOf(spec.bytes) !== spec.digest) throw new TfaasError("invalid-artifact", `Cannot load ${spec.name}: code does not match digest ${spec.digest}`);
  const opened = await openSealedCode(spec.bytes, spec.keyBroker, spec.name, identity);
  return { ...spec, digest: opened.digest, bytes: opened.plaintext, kind: opened.kind, options: { ...spec.options, sealed: true } };
}

export function createWorkerCore({ identity, prepare = prepareSpec, ohttpKeyId }: WorkerCoreOptions): WorkerCore {
  const functions = new Map<string, Loaded>();
  const keyring = new OhttpKeyring();
  if (ohttpKeyId !== undefined) keyring.add(ohttpKeyId, identity.hpkePrivateKey);

  return {
    load(spec) {
      const opened = isSealedUpload(spec.bytes) ? unsealed(spec, identity) : Promise.resolve(spec);
      const prepared = opened.then(prepare);
      const measurement = opened.then((code) => code.digest);
      measurement.catch(() => undefined);
      functions.set(spec.key, { spec, measurement, prepared, secrets: new Map(spec.secrets) });
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

    async invoke(key, functionId, outer, options = {}) {
      const ticket = identity.receipts.begin();
      try {
        const loaded = functions.get(key);
        if (!loaded) throw new TfaasError("unavailable", `Cannot invoke: function revision ${key} is not loaded here`);
        const prepared = await loaded.prepared;
        // Decrypted only once the function is ready, so a refused request never waits on a load.
        const confidential = options.confidential === true ? openConfidentialCall(keyring, outer, loaded.spec.name, functionId) : undefined;
        const request = confidential?.request ?? outer;
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
          artifactDigest: await loaded.measurement,
          request: request.body,
          response: result.body,
          status: result.status,
          usage: result.usage,
          wallNanos,
        });
        if (confidential !== undefined) {
          // The function's outcome, error code included, travels inside the encrypted response.
          const sealed = { ...confidential.seal(result), usage: result.usage };
          return receipt === undefined ? sealed : { ...sealed, receipt };
        }
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
