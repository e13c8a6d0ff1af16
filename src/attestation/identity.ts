/**
 * A worker process's identity: made once at start, inside the worker. It generates the Ed25519
 * receipt key and the X25519 HPKE key (private halves never leave the process), opens the TEE
 * backend the gateway chose, and fixes the measurement. Evidence is produced only when a verifier
 * asks (`attest(nonce)`, fresh nonce each time), never per invocation: hardware quotes take about
 * a second.
 *
 * Guarantee stops here: with `sim` nothing is protected (see SIM_DOES_NOT_PROTECT); with a
 * hardware TEE the keys are as safe as the TEE and the code it measured.
 */
import { randomBytes, type KeyObject } from "node:crypto";
import { generateX25519PrivateKey } from "../confidential/x25519.js";
import { generateSigningKeyPair, rawPublicKey } from "../crypto/index.js";
import { TfaasError } from "../shared/errors.js";
import {
  bindingReportData,
  createTeeBackend,
  NONCE_MAX_LENGTH,
  NONCE_MIN_LENGTH,
  parseDcapQuote,
  parseSevSnpReport,
  parseSimEvidence,
  type Evidence,
  type SimBackend,
  type TeeBackend,
  type TeeBackendOptions,
} from "../tee/index.js";
import type { WorkerSettings } from "./config.js";
import { computeRuntimeMeasurement } from "./measurement.js";
import type { WireEvidence, WorkerIdentityInfo } from "./wire.js";
import { WorkerReceipts } from "./worker-receipts.js";

export interface WorkerIdentity {
  readonly info: WorkerIdentityInfo;
  /** The HPKE recipient key for requests encrypted to this worker. */
  readonly hpkePrivateKey: KeyObject;
  readonly receipts: WorkerReceipts;
  attest(nonce: Uint8Array): Promise<WireEvidence>;
}

function backendOptions(settings: WorkerSettings, measurement: Uint8Array): TeeBackendOptions {
  const root = settings.deviceRoot !== undefined ? { root: settings.deviceRoot } : {};
  switch (settings.tee) {
    case "sim":
      return { type: "sim", dataDir: settings.dataDir, measurement, debug: settings.simDebug };
    case "sev-snp":
    case "tdx":
      return { type: settings.tee, ...root };
    case "sgx":
      return { type: "sgx", ...root };
  }
}

export async function createWorkerIdentity(settings: WorkerSettings): Promise<WorkerIdentity> {
  const signing = generateSigningKeyPair();
  const hpke = generateX25519PrivateKey();
  const receiptKey = rawPublicKey(signing.publicKey);
  const hpkeKey = hpke.raw;
  // Sim evidence carries whatever measurement it is given: the hash of this runtime. Hardware
  // evidence carries the platform's own launch measurement (measurementOf).
  const runtime = await computeRuntimeMeasurement({ tee: settings.tee, receipts: settings.receipts });
  const backend: TeeBackend = await createTeeBackend(backendOptions(settings, runtime.digest));
  const workerId = `${settings.instance}.${randomBytes(6).toString("hex")}`;
  const info: WorkerIdentityInfo = {
    workerId,
    instance: settings.instance,
    tee: backend.describe(),
    runtimeMeasurement: runtime.hex,
    boundKeys: { receipt: Buffer.from(receiptKey).toString("base64url"), hpke: Buffer.from(hpkeKey).toString("base64url") },
    receipts: settings.receipts,
    ...(backend.type === "sim" ? { simPlatformKey: Buffer.from((backend as SimBackend).platformPublicKey).toString("base64url") } : {}),
  };
  return {
    info,
    hpkePrivateKey: hpke.privateKey,
    receipts: new WorkerReceipts({ workerId, privateKey: signing.privateKey, mode: settings.receipts }),
    async attest(nonce) {
      if (nonce.length < NONCE_MIN_LENGTH || nonce.length > NONCE_MAX_LENGTH) {
        throw new TfaasError("invalid-request", `Cannot attest: current nonce length is ${nonce.length}, expected ${NONCE_MIN_LENGTH}–${NONCE_MAX_LENGTH} bytes`);
      }
      const evidence = await backend.evidence(bindingReportData({ receiptKey, hpkeKey }, nonce));
      return { type: evidence.type, bytes: evidence.bytes, certificates: evidence.certificates, nonce: new Uint8Array(nonce), measurement: measurementOf(evidence) };
    },
  };
}

/** The measurement the evidence reports, hex: sim measurement, SEV-SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE. */
export function measurementOf(evidence: Evidence): string {
  switch (evidence.type) {
    case "sim":
      return Buffer.from(parseSimEvidence(evidence.bytes).measurement).toString("hex");
    case "sev-snp":
      return Buffer.from(parseSevSnpReport(evidence.bytes).measurement).toString("hex");
    case "tdx":
    case "sgx": {
      const quote = parseDcapQuote(evidence.bytes);
      return Buffer.from(quote.kind === "tdx" ? quote.body.mrTd : quote.body.mrEnclave).toString("hex");
    }
  }
}
