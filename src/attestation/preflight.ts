/**
 * Before the gateway starts workers: is the configured TEE device there at all? A worker that
 * cannot open its backend exits, and would be restarted forever; this turns a missing device into
 * one clear `unavailable` error at `tfaas up` instead. It checks presence only: the workers'
 * backends still fail on a device that misbehaves.
 */
import { stat } from "node:fs/promises";
import { TfaasError } from "../shared/errors.js";
import { DEFAULT_GRAMINE_ATTESTATION_ROOT, DEFAULT_TSM_REPORT_ROOT } from "../tee/index.js";
import type { AttestationConfig } from "./config.js";

export async function checkTeeDevice(config: AttestationConfig): Promise<void> {
  if (config.tee === "sim") return;
  const root = config.deviceRoot ?? (config.tee === "sgx" ? DEFAULT_GRAMINE_ATTESTATION_ROOT : DEFAULT_TSM_REPORT_ROOT);
  const present = await stat(root).then((info) => info.isDirectory(), () => false);
  if (!present) {
    const hint = config.tee === "sgx" ? "not running under Gramine with remote attestation enabled" : "not a confidential VM, or configfs not mounted at /sys/kernel/config";
    throw new TfaasError("unavailable", `Cannot use TEE ${config.tee}: current device directory ${root} is missing (${hint})`);
  }
}
