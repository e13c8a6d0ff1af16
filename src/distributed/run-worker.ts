/**
 * `tfaas worker`: a distributed worker until SIGINT/SIGTERM. Settings come from flags, then the
 * environment (TFAAS_NATS_URL, TFAAS_NATS_REPLICAS, TFAAS_SECRETS_KEY_FILE, TFAAS_TEE,
 * TFAAS_RECEIPTS, TFAAS_TEE_DEVICE_ROOT), checked once before anything starts.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { attestationConfigSchema, attestationFromEnv, checkTeeDevice, SIM_WARNING } from "../attestation/index.js";
import { Defaults } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { stopOnSignals } from "../shared/stop-on-signals.js";
import { cacheDirOf } from "../sandbox/instrumented-cache.js";
import { JS_PREWARM_ENV, parseJsPrewarm } from "../sandbox/js/prewarm.js";
import { useModuleCache } from "../sandbox/wasm/index.js";
import { redactNatsUrl } from "../store/nats/index.js";
import { startWarmUp } from "../worker/warm-up.js";
import { defaultInstanceName, startNatsWorker } from "./worker.js";

export interface WorkerFlags {
  nats?: string | undefined;
  concurrency?: number | undefined;
  healthPort?: number | undefined;
  healthHost?: string | undefined;
  dataDir?: string | undefined;
  instance?: string | undefined;
}

/** GET /healthz listens here unless --health-port says otherwise. */
export const DEFAULT_WORKER_HEALTH_PORT = 8081;

export async function runWorker(flags: WorkerFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const url = flags.nats ?? env.TFAAS_NATS_URL;
  if (url === undefined || url === "") throw new TfaasError("invalid-request", "Cannot start worker: current NATS URL is missing; pass --nats <url> or set TFAAS_NATS_URL");
  const replicas = Number(env.TFAAS_NATS_REPLICAS || 1);
  if (![1, 3, 5].includes(replicas)) throw new TfaasError("invalid-request", `Cannot start worker: current TFAAS_NATS_REPLICAS is ${JSON.stringify(env.TFAAS_NATS_REPLICAS)}, expected 1, 3 or 5`);
  const attestation = attestationConfigSchema.safeParse(attestationFromEnv(env));
  if (!attestation.success) {
    const problems = attestation.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new TfaasError("invalid-request", `Cannot start worker: invalid attestation settings: ${problems}`);
  }
  await checkTeeDevice(attestation.data);
  parseJsPrewarm(env[JS_PREWARM_ENV]); // refused before anything starts, as `tfaas up` does
  const dataDir = path.resolve(flags.dataDir ?? env.TFAAS_DATA_DIR ?? Defaults.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  useModuleCache(cacheDirOf(dataDir));
  const worker = await startNatsWorker({
    url,
    replicas,
    secretKeyFile: env.TFAAS_SECRETS_KEY_FILE || path.join(dataDir, "secrets.key"),
    settings: { instance: flags.instance ?? defaultInstanceName(), dataDir, ...attestation.data },
    concurrency: flags.concurrency ?? 1,
    health: { host: flags.healthHost ?? "0.0.0.0", port: flags.healthPort ?? DEFAULT_WORKER_HEALTH_PORT },
  });
  const out = process.stdout;
  out.write(`TFaaS worker ${worker.instance} on NATS at ${redactNatsUrl(url)}\n`);
  out.write(`TEE: ${attestation.data.tee}; receipts: ${attestation.data.receipts}\n`);
  if (attestation.data.tee === "sim") out.write(`WARNING: ${SIM_WARNING}\n`);
  out.write(`ready: ${worker.healthUrl ?? worker.instance}\n`);
  // As embedded workers do: after ready, so no function waits for them (docs/javascript.md).
  startWarmUp(env, dataDir, attestation.data.receipts);
  stopOnSignals(() => worker.close(), { stopping: "stopping worker", failed: "cannot stop the worker cleanly" });
}
