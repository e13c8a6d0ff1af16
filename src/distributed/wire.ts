/**
 * What crosses NATS between gateways and workers for synchronous calls. A frame is a 4-byte
 * big-endian length, that many bytes of JSON metadata, then the raw body, so bodies are never
 * base64'd. Bigints (fuel) travel as decimal strings; errors as `EncodedError`.
 *
 * Subjects, with prefix `p` (default `tfaas`):
 * - `p.invoke`: calls, to the queue group `p-workers` (one worker gets each);
 * - `p.attest`: attestation requests, to every worker (no queue group);
 * - `p.workers.alive.<instance>`: each worker's heartbeat.
 * Replies go to the calling gateway's inbox: first `accepted` (naming the worker), then `result` or `error`.
 */
import type { WireEvidence, WireReceipt, WorkerIdentityInfo } from "../attestation/index.js";
import type { InvocationRequest, InvocationUsage, PrepareOptions } from "../sandbox/index.js";
import type { JsEngine } from "../sandbox/js/index.js";
import type { EncodedError } from "../shared/errors.js";
import { TfaasError } from "../shared/errors.js";
import type { ArtifactKind } from "../store/index.js";
import type { FunctionSpec, WireResult } from "../worker/protocol.js";

export const WIRE_VERSION = 1;

export function subjectsFor(prefix: string) {
  return {
    invoke: `${prefix}.invoke`,
    workers: `${prefix}-workers`,
    attest: `${prefix}.attest`,
    alive: `${prefix}.workers.alive`,
  } as const;
}

/**
 * A function as a call names it: everything a worker needs except the code (fetched from the
 * Object Store by digest) and secret values (read from the secrets bucket by name).
 */
export interface SpecRef {
  key: string;
  name: string;
  namespace: string;
  digest: string;
  options: PrepareOptions;
  env: Record<string, string>;
  secretNames: string[];
  maxOutputBytes: number;
  fuelLimit: string | null;
  kind?: ArtifactKind;
  engine?: JsEngine;
  execTimeoutMs?: number;
}

/** A body too large for one message lives in the Object Store under `ref`. */
export interface BodyRef {
  ref: string;
  size: number;
}

export interface CallMeta {
  v: number;
  /** `name.namespace`, for the receipt. */
  function: string;
  spec: SpecRef;
  request: Omit<InvocationRequest, "body">;
  /** Milliseconds left of the caller's deadline when the call was sent (clocks of hosts differ). */
  budgetMs: number;
  body?: BodyRef;
}

export type WireUsage = Omit<InvocationUsage, "fuel" | "pageFuelIntegral"> & { fuel: string | null; pageFuelIntegral: string | null };

export type ReplyMeta =
  | { t: "accepted"; instance: string }
  | {
      t: "result";
      instance: string;
      status: number;
      headers: Record<string, string>;
      stderr: string;
      usage: WireUsage;
      error?: EncodedError;
      receipt?: WireReceipt;
      body?: BodyRef;
    }
  | { t: "error"; instance: string; error: EncodedError };

export function encodeFrame(meta: unknown, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(meta));
  const frame = Buffer.allocUnsafe(4 + json.length + body.length);
  frame.writeUInt32BE(json.length, 0);
  json.copy(frame, 4);
  frame.set(body, 4 + json.length);
  return frame;
}

/** The metadata (shape checked by the caller's use) and a copy of the body, never a window on the message. */
export function decodeFrame<T>(frame: Uint8Array): { meta: T; body: Uint8Array } {
  if (frame.length < 4) throw malformed(`${frame.length} bytes`);
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const length = view.readUInt32BE(0);
  if (4 + length > frame.length) throw malformed(`a header of ${length} bytes in ${frame.length}`);
  let meta: T;
  try {
    meta = JSON.parse(view.subarray(4, 4 + length).toString("utf8")) as T;
  } catch (cause) {
    throw new TfaasError("internal", "Cannot decode a NATS frame: current header is not JSON", { cause });
  }
  return { meta, body: new Uint8Array(frame.subarray(4 + length)) };
}

function malformed(what: string): TfaasError {
  return new TfaasError("internal", `Cannot decode a NATS frame: current frame has ${what}`);
}

/** `id` is `name.namespace` (qualifiedName). Code bytes and secret values stay behind. */
export function specRefOf(id: string, spec: FunctionSpec): SpecRef {
  return {
    key: spec.key,
    name: spec.name,
    namespace: id.slice(spec.name.length + 1),
    digest: spec.digest,
    options: spec.options,
    env: spec.env,
    secretNames: spec.secrets.map(([name]) => name),
    maxOutputBytes: spec.maxOutputBytes,
    fuelLimit: spec.fuelLimit === undefined ? null : spec.fuelLimit.toString(),
    ...(spec.kind !== undefined ? { kind: spec.kind } : {}),
    ...(spec.engine !== undefined ? { engine: spec.engine } : {}),
    ...(spec.execTimeoutMs !== undefined ? { execTimeoutMs: spec.execTimeoutMs } : {}),
  };
}

export function usageToWire(usage: InvocationUsage): WireUsage {
  return {
    ...usage,
    fuel: usage.fuel === null ? null : usage.fuel.toString(),
    pageFuelIntegral: usage.pageFuelIntegral === null ? null : usage.pageFuelIntegral.toString(),
  };
}

export function usageFromWire(usage: WireUsage): InvocationUsage {
  return {
    ...usage,
    fuel: usage.fuel === null ? null : BigInt(usage.fuel),
    pageFuelIntegral: usage.pageFuelIntegral === null ? null : BigInt(usage.pageFuelIntegral),
  };
}

/** A result reply's metadata back into the worker protocol's result (body supplied separately). */
export function resultFromReply(meta: Extract<ReplyMeta, { t: "result" }>, body: Uint8Array): WireResult {
  return {
    status: meta.status,
    headers: meta.headers,
    body,
    stderr: meta.stderr,
    usage: usageFromWire(meta.usage),
    ...(meta.error !== undefined ? { error: meta.error } : {}),
    ...(meta.receipt !== undefined ? { receipt: meta.receipt } : {}),
  };
}

/** Evidence as JSON: its byte fields in base64. */
export interface EvidenceJson {
  type: WireEvidence["type"];
  bytes: string;
  certificates: string[];
  nonce: string;
  measurement: string;
}

/** A worker's answer on `p.attest`. */
export interface AttestReply {
  instance: string;
  identity?: WorkerIdentityInfo;
  evidence?: EvidenceJson;
  error?: EncodedError;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

export function evidenceToJson(evidence: WireEvidence): EvidenceJson {
  return { type: evidence.type, bytes: b64(evidence.bytes), certificates: evidence.certificates.map(b64), nonce: b64(evidence.nonce), measurement: evidence.measurement };
}

export function evidenceFromJson(evidence: EvidenceJson): WireEvidence {
  return { type: evidence.type, bytes: unb64(evidence.bytes), certificates: evidence.certificates.map(unb64), nonce: unb64(evidence.nonce), measurement: evidence.measurement };
}
