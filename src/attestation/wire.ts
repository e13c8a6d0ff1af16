/**
 * What crosses the worker ⇄ gateway channel and GET /system/attestation about a worker's identity.
 * Keys travel as raw public bytes in base64url; evidence as raw bytes over IPC and base64 over HTTP.
 */
import type { TeeDescription, TeeType } from "../tee/index.js";
import type { ReceiptsSetting } from "./config.js";

/** Announced once by each worker process when it is ready. */
export interface WorkerIdentityInfo {
  /** New for every process (and so for every key): names the worker's receipt chain. */
  workerId: string;
  instance: string;
  tee: TeeDescription;
  /** Hex: the runtime measurement (src/attestation/measurement.ts); sim evidence reports exactly this, hardware evidence its platform's launch measurement instead. */
  runtimeMeasurement: string;
  boundKeys: { receipt: string; hpke: string };
  receipts: ReceiptsSetting;
  /** Sim only: the simulated platform's raw Ed25519 public key (base64url). */
  simPlatformKey?: string;
}

/**
 * A call's signed receipt as the worker returns it: its compact form, the X-Tfaas-Receipt value,
 * which the ledger also stores as-is (the JSON form is rebuilt from it when served).
 */
export interface WireReceipt {
  header: string;
}

/** A worker's answer to an `attest(nonce)` request. */
export interface WireEvidence {
  type: TeeType;
  bytes: Uint8Array;
  certificates: Uint8Array[];
  /** The nonce the worker bound (the verifier compares it with its own). */
  nonce: Uint8Array;
  /** Hex of the measurement the evidence reports (unverified until a verifier checks the evidence). */
  measurement: string;
}

/** One worker in the GET /system/attestation answer. */
export interface WorkerAttestation {
  workerId: string;
  instance: string;
  tee: TeeType;
  simulated: boolean;
  summary: string;
  doesNotProtect: string[];
  /** Base64 of the raw report or quote. */
  evidence: string;
  /** Base64 DER certificates supplied with the evidence (untrusted until chained to a root). */
  certificates: string[];
  boundKeys: { receipt: string; hpke: string };
  /** Hex of the nonce the worker bound. */
  nonce: string;
  /** Hex: what the evidence reports (sim: the runtime measurement; hardware: launch digest, MRTD, MRENCLAVE). */
  measurement: string;
  /** Hex: the hash of the worker's runtime code and configuration (docs/attestation.md). */
  runtimeMeasurement: string;
  receipts: ReceiptsSetting;
  simPlatformKey?: { key: string; notice: string };
}

export interface AttestationAnswer {
  /** Hex of the nonce the client sent. */
  nonce: string;
  /** Present when any worker runs the sim backend. */
  warning?: string;
  workers: WorkerAttestation[];
  /** Workers that did not answer (restarting, device failure). */
  unavailable: Array<{ instance: string; code: string; message: string }>;
}

export const SIM_PLATFORM_KEY_NOTICE =
  "Simulated platform key as reported by the gateway. Trusting it from here proves nothing: pin it out of band (tfaas attest --sim-platform-key <file>).";

export const SIM_WARNING =
  "SIMULATED TEE: no hardware protects these workers. The host can read and change their memory (keys, secrets, code, request bodies) and holds the platform key that signs their evidence.";
