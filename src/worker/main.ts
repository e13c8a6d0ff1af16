/**
 * The embedded worker process: the worker core (core.ts) driven over Node IPC by the gateway's
 * WorkerPool. It never sees the store.
 */
import { createWorkerIdentity, workerSettingsFromEnv } from "../attestation/index.js";
import { cacheDirOf } from "../sandbox/instrumented-cache.js";
import { useModuleCache } from "../sandbox/wasm/index.js";
import { asTfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { ohttpKeyIdFromEnv } from "./confidential-call.js";
import { createWorkerCore } from "./core.js";
import { startWarmUp } from "./warm-up.js";
import type { FromWorker, ToWorker } from "./protocol.js";

function send(message: FromWorker): void {
  process.send?.(message);
}

// Keys, TEE backend and measurement, once per process (docs/attestation.md).
const settings = workerSettingsFromEnv(process.env);
const identity = await createWorkerIdentity(settings).catch((error: unknown) => {
  log.error("cannot create the worker's attested identity", { error: asTfaasError(error).message });
  process.exit(1);
});
const ohttpKeyId = ohttpKeyIdFromEnv(process.env);
// Before the first load: functions' instrumented code is shared with the machine's other workers.
useModuleCache(cacheDirOf(settings.dataDir));
const core = createWorkerCore({ identity, ...(ohttpKeyId !== undefined ? { ohttpKeyId } : {}) });

async function attest(message: Extract<ToWorker, { type: "attest" }>): Promise<void> {
  try {
    send({ type: "attested", id: message.id, evidence: await core.attest(message.nonce) });
  } catch (error) {
    send({ type: "attested", id: message.id, error: asTfaasError(error).toJSON() });
  }
}

function load(message: Extract<ToWorker, { type: "load" }>): void {
  const { key } = message.spec;
  core.load(message.spec).then(
    () => send({ type: "loaded", key }),
    (error: unknown) => send({ type: "loaded", key, error: asTfaasError(error).toJSON() }),
  );
}

async function invoke(message: Extract<ToWorker, { type: "invoke" }>): Promise<void> {
  try {
    send({ type: "result", id: message.id, result: await core.invoke(message.key, message.function, message.request, { confidential: message.confidential === true }) });
  } catch (error) {
    send({ type: "result", id: message.id, error: asTfaasError(error).toJSON() });
  }
}

process.on("message", (message: ToWorker) => {
  switch (message.type) {
    case "load":
      load(message);
      break;
    case "unload":
      core.unload(message.key);
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

// JavaScript engines start after `ready`, so wasm functions never wait for them (docs/javascript.md).
startWarmUp(process.env, settings.dataDir, settings.receipts);
