/**
 * `sim`: a software TEE for development and tests, and the default. Evidence is signed by the
 * simulated platform key in the data directory; the measurement is whatever the caller says the
 * worker's runtime code and configuration hash to.
 *
 * SIMULATED — it protects nothing. The host can read and change the worker's memory (its keys,
 * secrets and request bodies) and the platform key lies on the host's disk, so whoever runs the
 * host can produce sim evidence for any measurement and any keys. It shows the attestation flow
 * working; it is not evidence of confidentiality or integrity.
 */
import { TfaasError } from "../../shared/errors.js";
import type { Evidence, TeeBackend, TeeDescription } from "../backend.js";
import { requireReportData } from "../report-data.js";
import { signSimEvidence } from "./evidence.js";
import { loadOrCreateSimPlatformKey } from "./platform-key.js";

export interface SimBackendOptions {
  /** Where the simulated platform key lives (created on first use, mode 0600). */
  dataDir: string;
  /** Hash of the worker's runtime code and configuration, 1–64 bytes (typically SHA-256 or SHA-384). */
  measurement: Uint8Array;
  /** Security version number to report; default 0. */
  svn?: number;
  /** Report the worker as debuggable (verifiers reject it unless the policy allows debug). */
  debug?: boolean;
}

export const SIM_DOES_NOT_PROTECT = [
  "SIMULATED TEE: no hardware isolation.",
  "The host (operator, root, any process of the same user) can read and modify worker memory: keys, secrets, code and request bodies.",
  "The simulated platform key is a file on the host's disk: whoever can read it can forge evidence for any measurement and any keys.",
] as const;

export interface SimBackend extends TeeBackend {
  /** The raw Ed25519 platform public key a verifier must pin to accept this backend's evidence. */
  readonly platformPublicKey: Uint8Array;
}

export async function createSimBackend(options: SimBackendOptions): Promise<SimBackend> {
  const svn = options.svn ?? 0;
  if (!Number.isInteger(svn) || svn < 0 || svn > 0xffffffff) throw new TfaasError("invalid-request", `Cannot create sim backend: current svn is ${svn}, expected a u32`);
  if (options.measurement.length < 1 || options.measurement.length > 64) {
    throw new TfaasError("invalid-request", `Cannot create sim backend: current measurement length is ${options.measurement.length}, expected 1–64 bytes`);
  }
  const measurement = new Uint8Array(options.measurement);
  const key = await loadOrCreateSimPlatformKey(options.dataDir);
  const description: TeeDescription = {
    type: "sim",
    simulated: true,
    summary: "SIMULATED TEE (software only, no protection): evidence signed by a platform key on the host's disk",
    doesNotProtect: [...SIM_DOES_NOT_PROTECT],
  };
  return {
    type: "sim",
    platformPublicKey: key.publicKey,
    // async so that a bad argument is a rejected promise, like every other backend's failure.
    async evidence(reportData: Uint8Array): Promise<Evidence> {
      const bytes = signSimEvidence({ measurement, reportData: requireReportData(reportData), debug: options.debug ?? false, svn }, key.privateKey, key.publicKey);
      return { type: "sim", bytes, certificates: [] };
    },
    describe: () => description,
  };
}
