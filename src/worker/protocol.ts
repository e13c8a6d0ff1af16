/**
 * Messages between the gateway and a worker process (Node IPC, `advanced` serialization so
 * byte arrays cross without base64). Errors cross as `EncodedError` and are decoded explicitly.
 */
import type { WireEvidence, WireReceipt, WorkerIdentityInfo } from "../attestation/index.js";
import type { EncodedError } from "../shared/errors.js";
import type { InvocationRequest, InvocationUsage, PrepareOptions } from "../sandbox/index.js";
import type { JsEngine } from "../sandbox/js/index.js";
import type { ArtifactKind } from "../store/index.js";

/** A function as a worker holds it: one revision of its code, settings and secrets. */
export interface FunctionSpec {
  /** Identifies this exact revision; a changed function gets a new key. */
  key: string;
  name: string;
  digest: string;
  bytes: Uint8Array;
  options: PrepareOptions;
  env: Record<string, string>;
  secrets: Array<[name: string, value: Uint8Array]>;
  maxOutputBytes: number;
  /** Fuel budget per call; undefined = unlimited. */
  fuelLimit: bigint | undefined;
  /** What the code is; absent means wasm (specs from before JavaScript functions). */
  kind?: ArtifactKind;
  /** The JavaScript engine, for kind "javascript". */
  engine?: JsEngine;
  /** The function's exec_timeout: engines that can stop a call themselves stop it a little before. */
  execTimeoutMs?: number;
  /** For sealed code (`bytes` is a sealed upload): the owner's key broker URL (annotation com.tfaas.kbs). */
  keyBroker?: string;
}

export type ToWorker =
  | { type: "load"; spec: FunctionSpec }
  | { type: "unload"; key: string }
  | {
      type: "invoke";
      id: number;
      key: string;
      request: InvocationRequest;
      /** `name.namespace`, for the receipt. */
      function: string;
      /** The body is a `message/ohttp-req` to this worker's key (docs/confidential.md). */
      confidential?: boolean;
    }
  | { type: "attest"; id: number; nonce: Uint8Array };

export interface WireResult {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  stderr: string;
  usage: InvocationUsage;
  error?: EncodedError;
  /** The call's signed receipt, unless receipts are off. */
  receipt?: WireReceipt;
}

export type FromWorker =
  | { type: "ready"; identity: WorkerIdentityInfo }
  | { type: "attested"; id: number; evidence?: WireEvidence; error?: EncodedError }
  | { type: "loaded"; key: string; error?: EncodedError }
  | { type: "result"; id: number; result?: WireResult; error?: EncodedError };
