/**
 * The receipt model: what a worker states about one invocation, and the proof that its attested
 * key stated it. Every type here is plain JSON (strings, safe integers, null), so a receipt
 * crosses IPC, is stored and is served as-is; `parseReceipt` is the one strict way back in.
 */
import { TfaasError } from "../shared/errors.js";

export const RECEIPT_VERSION = 1;

/** The response header that carries a receipt in its compact form (see `encodeReceiptHeader`). */
export const RECEIPT_HEADER = "x-tfaas-receipt";

export interface ReceiptUsage {
  /** Weighted instructions consumed, as a decimal u64; null for engines that do not count fuel. */
  fuel: string | null;
  memoryPeakBytes: number;
  ioBytesIn: number;
  ioBytesOut: number;
  wallNanos: number;
  /** Version of the weight table that priced `fuel`; null when there is no fuel. */
  weightsVersion: string | null;
}

export interface ReceiptContent {
  v: typeof RECEIPT_VERSION;
  callId: string;
  /** `name.namespace`. */
  function: string;
  /** `sha256:<hex>` of the function's code as uploaded. */
  artifactDigest: string;
  /** `sha256:<hex>` of the plaintext request body. */
  requestDigest: string;
  /** `sha256:<hex>` of the plaintext response body. */
  responseDigest: string;
  usage: ReceiptUsage;
  /** HTTP status of the response. */
  status: number;
  /** Names one signing key's chain: a new key (a new worker process) means a new worker id. */
  workerId: string;
  /** Position in the worker's chain, from 1. */
  seq: number;
  /** `receiptHash` of the worker's previous receipt; null exactly when seq is 1. */
  prev: string | null;
  /** When the worker issued the receipt: RFC 3339 UTC with milliseconds (`Date#toISOString`). */
  timestamp: string;
}

/** What the worker supplies per call; the signer adds the version, worker id, seq, prev and timestamp. */
export type ReceiptInput = Omit<ReceiptContent, "v" | "workerId" | "seq" | "prev" | "timestamp">;

export type ReceiptMode = "each" | "batched";

/** Mode `each`: an Ed25519 signature over this receipt's hash. */
export interface EachProof {
  mode: "each";
  /** base64url, 64 bytes. */
  signature: string;
}

/** Mode `batched`: this receipt is leaf `index` of a Merkle tree of `size` leaves whose root is signed. */
export interface BatchProof {
  mode: "batched";
  /** Hex Merkle root; also the batch's identity. */
  root: string;
  size: number;
  index: number;
  /** Hex audit path from the leaf upwards (RFC 9162 §2.1.3). */
  siblings: string[];
  /** base64url Ed25519 signature over (size, root), 64 bytes. */
  signature: string;
}

export type ReceiptProof = EachProof | BatchProof;

export interface SignedReceipt {
  content: ReceiptContent;
  proof: ReceiptProof;
}

export const DIGEST = /^sha256:[0-9a-f]{64}$/;
export const HEX32 = /^[0-9a-f]{64}$/;
const FUEL = /^(0|[1-9][0-9]{0,19})$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MAX_U64 = 2n ** 64n - 1n;
/** Identifiers (call id, function, worker id, weights version) are at most this many UTF-8 bytes. */
export const MAX_IDENTIFIER_BYTES = 255;
/** The end of the year 9999: up to here a timestamp keeps its RFC 3339 shape. */
export const MAX_TIMESTAMP_MILLIS = 253_402_300_799_999;
/** Batches are bounded so an index, a size and an audit path always fit their fields. */
export const MAX_BATCH_SIZE = 65_536;

function invalid(field: string, problem: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot accept receipt: ${field} ${problem}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return value.length > 80 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return `a value of type ${Array.isArray(value) ? "array" : typeof value}`;
}

export function expectIdentifier(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES) {
    throw invalid(field, `must be a non-empty string of at most ${MAX_IDENTIFIER_BYTES} UTF-8 bytes: current value is ${describe(value)}`);
  }
  return value;
}

export function expectCount(field: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}: current value is ${describe(value)}`);
  }
  return value;
}

export function expectDigest(field: string, value: unknown): string {
  if (typeof value !== "string" || !DIGEST.test(value)) throw invalid(field, `must be sha256:<64 lowercase hex>: current value is ${describe(value)}`);
  return value;
}

export function expectFuel(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || !FUEL.test(value) || BigInt(value) > MAX_U64) {
    throw invalid("usage.fuel", `must be null or a decimal integer below 2^64: current value is ${describe(value)}`);
  }
  return value;
}

/** Milliseconds since the Unix epoch of a canonical timestamp (the only spelling accepted). */
export function timestampMillis(value: unknown): number {
  const millis = typeof value === "string" && TIMESTAMP.test(value) ? Date.parse(value) : NaN;
  if (!(millis >= 0) || new Date(millis).toISOString() !== value) {
    throw invalid("timestamp", `must be an RFC 3339 UTC time with milliseconds after 1970 (as Date#toISOString writes it): current value is ${describe(value)}`);
  }
  return millis;
}

function expectObject(field: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(field, `must be an object: current value is ${describe(value)}`);
  const record = value as Record<string, unknown>;
  const extra = Object.keys(record).filter((key) => !keys.includes(key));
  // Unknown fields would ride along unsigned, so they are refused rather than ignored.
  if (extra.length > 0) throw invalid(field, `has unknown field(s) ${extra.join(", ")}`);
  return record;
}

function expectString(field: string, value: unknown, pattern: RegExp, expected: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw invalid(field, `must be ${expected}: current value is ${describe(value)}`);
  return value;
}

const BASE64URL_SIGNATURE = /^[A-Za-z0-9_-]{85}[AQgw]$/;

function parseUsage(value: unknown): ReceiptUsage {
  const u = expectObject("usage", value, ["fuel", "memoryPeakBytes", "ioBytesIn", "ioBytesOut", "wallNanos", "weightsVersion"]);
  return {
    fuel: expectFuel(u["fuel"]),
    memoryPeakBytes: expectCount("usage.memoryPeakBytes", u["memoryPeakBytes"]),
    ioBytesIn: expectCount("usage.ioBytesIn", u["ioBytesIn"]),
    ioBytesOut: expectCount("usage.ioBytesOut", u["ioBytesOut"]),
    wallNanos: expectCount("usage.wallNanos", u["wallNanos"]),
    weightsVersion: u["weightsVersion"] === null ? null : expectIdentifier("usage.weightsVersion", u["weightsVersion"]),
  };
}

/** The place in a worker's chain that the signer assigns to a receipt. */
export interface ChainPosition {
  workerId: string;
  seq: number;
  prev: string | null;
  timestamp: string;
}

/**
 * Content from what a worker supplies (each field checked; unknown fields are not copied) and a
 * chain position the caller has already checked.
 */
export function contentFromInput(input: ReceiptInput, position: ChainPosition): ReceiptContent {
  return {
    v: RECEIPT_VERSION,
    callId: expectIdentifier("callId", input.callId),
    function: expectIdentifier("function", input.function),
    artifactDigest: expectDigest("artifactDigest", input.artifactDigest),
    requestDigest: expectDigest("requestDigest", input.requestDigest),
    responseDigest: expectDigest("responseDigest", input.responseDigest),
    usage: parseUsage(input.usage),
    status: expectCount("status", input.status, 100, 599),
    workerId: position.workerId,
    seq: position.seq,
    prev: position.prev,
    timestamp: position.timestamp,
  };
}

/** Checks every field of a content object and returns a fresh copy holding exactly the known fields. */
export function parseContent(value: unknown): ReceiptContent {
  const c = expectObject("content", value, ["v", "callId", "function", "artifactDigest", "requestDigest", "responseDigest", "usage", "status", "workerId", "seq", "prev", "timestamp"]);
  if (c["v"] !== RECEIPT_VERSION) throw invalid("v", `must be ${RECEIPT_VERSION}: current value is ${describe(c["v"])}`);
  const seq = expectCount("seq", c["seq"], 1);
  const prev = c["prev"] === null ? null : expectDigest("prev", c["prev"]);
  if ((prev === null) !== (seq === 1)) throw invalid("prev", `must be null exactly when seq is 1: seq is ${seq}, prev is ${describe(prev)}`);
  timestampMillis(c["timestamp"]);
  const position = { workerId: expectIdentifier("workerId", c["workerId"]), seq, prev, timestamp: c["timestamp"] as string };
  return contentFromInput(c as unknown as ReceiptInput, position);
}

function parseProof(value: unknown): ReceiptProof {
  const mode = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["mode"] : undefined;
  if (mode === "each") {
    const p = expectObject("proof", value, ["mode", "signature"]);
    return { mode, signature: expectString("proof.signature", p["signature"], BASE64URL_SIGNATURE, "a 64-byte base64url signature") };
  }
  if (mode === "batched") {
    const p = expectObject("proof", value, ["mode", "root", "size", "index", "siblings", "signature"]);
    const size = expectCount("proof.size", p["size"], 1, MAX_BATCH_SIZE);
    const siblings = p["siblings"];
    if (!Array.isArray(siblings) || siblings.length > 32) throw invalid("proof.siblings", `must be an array of at most 32 hashes: current value is ${describe(siblings)}`);
    return {
      mode,
      root: expectString("proof.root", p["root"], HEX32, "64 lowercase hex digits"),
      size,
      index: expectCount("proof.index", p["index"], 0, size - 1),
      siblings: siblings.map((sibling, i) => expectString(`proof.siblings[${i}]`, sibling, HEX32, "64 lowercase hex digits")),
      signature: expectString("proof.signature", p["signature"], BASE64URL_SIGNATURE, "a 64-byte base64url signature"),
    };
  }
  throw invalid("proof.mode", `must be "each" or "batched": current value is ${describe(mode)}`);
}

/** The receipt in a JSON value (storage, `GET /system/receipts/{callId}`, files), checked strictly. */
export function parseReceipt(value: unknown): SignedReceipt {
  const r = expectObject("receipt", value, ["content", "proof"]);
  return { content: parseContent(r["content"]), proof: parseProof(r["proof"]) };
}
