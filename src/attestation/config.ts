/**
 * Attestation and receipt settings of the platform (`tfaas up --tee … --receipts …`, TFAAS_TEE,
 * TFAAS_RECEIPTS, TFAAS_TEE_DEVICE_ROOT), and how they reach worker processes: the gateway passes
 * them in the worker's environment, with the data directory that holds the sim platform key.
 */
import { z } from "zod";
import { TfaasError } from "../shared/errors.js";
import { TEE_TYPES, type TeeType } from "../tee/index.js";

export const RECEIPT_MODES = ["each", "batched", "off"] as const;
export type ReceiptsSetting = (typeof RECEIPT_MODES)[number];

export const attestationConfigSchema = z.object({
  /** The workers' TEE backend; `sim` (the default) is simulated and protects nothing. */
  tee: z.enum(TEE_TYPES),
  /** Receipt signing: one signature per call, Merkle batches (default), or none. */
  receipts: z.enum(RECEIPT_MODES),
  /** Overrides the device root (configfs-tsm report directory or Gramine's /dev/attestation), for tests and unusual mounts. */
  deviceRoot: z.string().min(1).optional(),
  /** Sim only: report the workers as debuggable, to see verifiers reject it (TFAAS_TEE_SIM_DEBUG=1). */
  simDebug: z.boolean(),
});

export type AttestationConfig = z.infer<typeof attestationConfigSchema>;

export const AttestationDefaults = { tee: "sim", receipts: "batched", simDebug: false } as const satisfies AttestationConfig;

/** The raw settings from the environment; the platform's config schema validates them. */
export function attestationFromEnv(env: NodeJS.ProcessEnv): { tee: string; receipts: string; simDebug: boolean; deviceRoot?: string } {
  return {
    tee: env.TFAAS_TEE || AttestationDefaults.tee,
    receipts: env.TFAAS_RECEIPTS || AttestationDefaults.receipts,
    simDebug: env.TFAAS_TEE_SIM_DEBUG === "1",
    ...(env.TFAAS_TEE_DEVICE_ROOT ? { deviceRoot: env.TFAAS_TEE_DEVICE_ROOT } : {}),
  };
}

/** Names of the variables a worker process reads its identity settings from. */
export const WorkerEnv = {
  tee: "TFAAS_WORKER_TEE",
  receipts: "TFAAS_WORKER_RECEIPTS",
  deviceRoot: "TFAAS_WORKER_TEE_DEVICE_ROOT",
  simDebug: "TFAAS_WORKER_TEE_SIM_DEBUG",
  dataDir: "TFAAS_WORKER_DATA_DIR",
  instance: "TFAAS_WORKER_INSTANCE",
} as const;

/** What the gateway adds to every worker's environment. */
export function workerEnvironment(config: AttestationConfig, dataDir: string): Record<string, string> {
  return {
    [WorkerEnv.tee]: config.tee,
    [WorkerEnv.receipts]: config.receipts,
    [WorkerEnv.dataDir]: dataDir,
    [WorkerEnv.simDebug]: config.simDebug ? "1" : "0",
    ...(config.deviceRoot !== undefined ? { [WorkerEnv.deviceRoot]: config.deviceRoot } : {}),
  };
}

export interface WorkerSettings {
  instance: string;
  tee: TeeType;
  receipts: ReceiptsSetting;
  dataDir: string;
  deviceRoot?: string | undefined;
  simDebug: boolean;
}

/** The worker's side of `workerEnvironment`; a worker started without it fails with `invalid-request`. */
export function workerSettingsFromEnv(env: NodeJS.ProcessEnv): WorkerSettings {
  const parsed = attestationConfigSchema.safeParse({
    tee: env[WorkerEnv.tee],
    receipts: env[WorkerEnv.receipts],
    simDebug: env[WorkerEnv.simDebug] === "1",
    ...(env[WorkerEnv.deviceRoot] ? { deviceRoot: env[WorkerEnv.deviceRoot] } : {}),
  });
  const dataDir = env[WorkerEnv.dataDir];
  if (!parsed.success || !dataDir) {
    const problems = parsed.success ? `${WorkerEnv.dataDir}: missing` : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new TfaasError("invalid-request", `Cannot start worker: invalid attestation settings: ${problems}`);
  }
  return { instance: env[WorkerEnv.instance] || "worker", dataDir, ...parsed.data };
}
