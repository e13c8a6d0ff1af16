/**
 * The canonical encoding of receipt content: one fixed-order binary layout (docs/receipts.md has
 * the table), so the same content always gives the same bytes and hash, in any language.
 * Decoding is strict and inverse: decode(encode(c)) equals c, and bytes that would not re-encode
 * identically are rejected.
 *
 * The receipt hash is SHA-256(0x00 ‖ these bytes), the RFC 6962 leaf hash, so one hash serves as
 * the next receipt's `prev`, as what mode `each` signs, and as the receipt's leaf in a batch.
 */
import { hash } from "node:crypto";
import { ByteReader, ByteWriter } from "./bytes.js";
import { leafHash } from "./merkle.js";
import { MAX_TIMESTAMP_MILLIS, RECEIPT_VERSION, type ReceiptContent } from "./receipt.js";

const DIGEST_PREFIX = "sha256:";

/**
 * The canonical bytes of content that `parseContent` accepted (it is the validator; this only
 * lays out). `millis` is the timestamp's value when the caller already has it.
 */
export function encodeContent(content: ReceiptContent, millis = Date.parse(content.timestamp)): Buffer {
  const { usage } = content;
  const callIdLength = Buffer.byteLength(content.callId);
  const fnLength = Buffer.byteLength(content.function);
  const workerLength = Buffer.byteLength(content.workerId);
  const weightsLength = usage.weightsVersion === null ? -1 : Buffer.byteLength(usage.weightsVersion);
  const length =
    1 + (1 + callIdLength) + (1 + fnLength) + 3 * 32 +
    (usage.fuel === null ? 1 : 9) + 4 * 8 + (weightsLength < 0 ? 1 : 2 + weightsLength) +
    2 + (1 + workerLength) + 8 + (content.prev === null ? 1 : 33) + 8;
  const w = new ByteWriter(length);
  w.u8(RECEIPT_VERSION);
  w.u8(callIdLength);
  w.utf8(content.callId, callIdLength);
  w.u8(fnLength);
  w.utf8(content.function, fnLength);
  w.hex(content.artifactDigest.slice(DIGEST_PREFIX.length));
  w.hex(content.requestDigest.slice(DIGEST_PREFIX.length));
  w.hex(content.responseDigest.slice(DIGEST_PREFIX.length));
  if (usage.fuel === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.bigU64(BigInt(usage.fuel));
  }
  w.u64(usage.memoryPeakBytes);
  w.u64(usage.ioBytesIn);
  w.u64(usage.ioBytesOut);
  w.u64(usage.wallNanos);
  if (usage.weightsVersion === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.u8(weightsLength);
    w.utf8(usage.weightsVersion, weightsLength);
  }
  w.u16(content.status);
  w.u8(workerLength);
  w.utf8(content.workerId, workerLength);
  w.u64(content.seq);
  if (content.prev === null) {
    w.u8(0);
  } else {
    w.u8(1);
    w.hex(content.prev.slice(DIGEST_PREFIX.length));
  }
  w.u64(millis);
  return w.finish();
}

function readDigest(r: ByteReader, field: string): string {
  return DIGEST_PREFIX + Buffer.from(r.raw(field, 32)).toString("hex");
}

function readIdentifier(r: ByteReader, field: string): string {
  return r.utf8(field, r.u8(`${field} length`));
}

/** Reads content from its canonical bytes; the caller validates it with `parseContent` (which also checks ranges). */
export function decodeContent(r: ByteReader): ReceiptContent {
  const version = r.u8("v");
  if (version !== RECEIPT_VERSION) throw r.fail("v", `is ${version}, expected ${RECEIPT_VERSION}`);
  const callId = readIdentifier(r, "callId");
  const fn = readIdentifier(r, "function");
  const artifactDigest = readDigest(r, "artifactDigest");
  const requestDigest = readDigest(r, "requestDigest");
  const responseDigest = readDigest(r, "responseDigest");
  const fuel = r.flag("usage.fuel") ? r.bigU64("usage.fuel").toString() : null;
  const memoryPeakBytes = r.u64("usage.memoryPeakBytes");
  const ioBytesIn = r.u64("usage.ioBytesIn");
  const ioBytesOut = r.u64("usage.ioBytesOut");
  const wallNanos = r.u64("usage.wallNanos");
  const weightsVersion = r.flag("usage.weightsVersion") ? readIdentifier(r, "usage.weightsVersion") : null;
  const status = r.u16("status");
  const workerId = readIdentifier(r, "workerId");
  const seq = r.u64("seq");
  const prev = r.flag("prev") ? readDigest(r, "prev") : null;
  const millis = r.u64("timestamp");
  // Past the year 9999 toISOString changes shape (and far past it throws): refuse here, by field.
  if (millis > MAX_TIMESTAMP_MILLIS) throw r.fail("timestamp", "is after the year 9999");
  return {
    v: RECEIPT_VERSION,
    callId,
    function: fn,
    artifactDigest,
    requestDigest,
    responseDigest,
    usage: { fuel, memoryPeakBytes, ioBytesIn, ioBytesOut, wallNanos, weightsVersion },
    status,
    workerId,
    seq,
    prev,
    timestamp: new Date(millis).toISOString(),
  };
}

/** `sha256:<hex>` of a plaintext body: the form of `requestDigest` and `responseDigest`. */
export function bodyDigest(body: Uint8Array): string {
  return DIGEST_PREFIX + hash("sha256", body, "hex");
}

/** The receipt hash of canonical bytes: SHA-256(0x00 ‖ bytes). */
export function hashEncoded(encoded: Uint8Array): Buffer {
  return leafHash(encoded);
}

/** `sha256:<hex>` receipt hash of content: what `prev` of the next receipt holds. */
export function receiptHash(content: ReceiptContent): string {
  return DIGEST_PREFIX + hashEncoded(encodeContent(content)).toString("hex");
}
