/**
 * The compact form of a receipt for the `X-Tfaas-Receipt` response header: base64url (no
 * padding) of the canonical content bytes followed by the proof. A batched proof leaves out its
 * root, which the decoder recomputes from the content and the audit path; the root signature
 * then vouches for it. A typical receipt is about 420 characters in mode `each`, 700 in a batch
 * of 64 and under 900 in a batch of 1024 (docs/receipts.md).
 */
import { ByteReader, ByteWriter, fromBase64Url, toBase64Url } from "./bytes.js";
import { decodeContent, encodeContent, hashEncoded } from "./canonical.js";
import { rootFromPath } from "./merkle.js";
import { MAX_BATCH_SIZE, parseContent, parseReceipt, type ReceiptProof, type SignedReceipt } from "./receipt.js";

const MODE_EACH = 1;
const MODE_BATCHED = 2;
const SIGNATURE_BYTES = 64;

/** The raw parts of a receipt's header, as the signer holds them. */
export interface HeaderParts {
  content: Uint8Array;
  signature: Uint8Array;
  batch?: { size: number; index: number; siblings: readonly Uint8Array[] };
}

/**
 * Receipts this process issued, with their raw parts: the signer freezes each receipt and
 * registers it here, so its header is written without re-validating and re-encoding it.
 */
const issued = new WeakMap<SignedReceipt, HeaderParts>();

export function registerIssued(receipt: SignedReceipt, parts: HeaderParts): void {
  issued.set(receipt, parts);
}

function partsOf(receipt: SignedReceipt): HeaderParts {
  const { content, proof } = parseReceipt(receipt);
  const signature = fromBase64Url(proof.signature, "receipt signature");
  if (proof.mode === "each") return { content: encodeContent(content), signature };
  return { content: encodeContent(content), signature, batch: { size: proof.size, index: proof.index, siblings: proof.siblings.map((s) => Buffer.from(s, "hex")) } };
}

export function encodeReceiptHeader(receipt: SignedReceipt): string {
  const { content, signature, batch } = issued.get(receipt) ?? partsOf(receipt);
  const proofLength = batch === undefined ? 1 + SIGNATURE_BYTES : 1 + 4 + 4 + 1 + 32 * batch.siblings.length + SIGNATURE_BYTES;
  const w = new ByteWriter(content.length + proofLength);
  w.raw(content);
  if (batch === undefined) {
    w.u8(MODE_EACH);
  } else {
    w.u8(MODE_BATCHED);
    w.u32(batch.size);
    w.u32(batch.index);
    w.u8(batch.siblings.length);
    for (const sibling of batch.siblings) w.raw(sibling);
  }
  w.raw(signature);
  return toBase64Url(w.finish());
}

/** Fails with `invalid-request` on anything that is not exactly what `encodeReceiptHeader` writes. */
export function decodeReceiptHeader(value: string): SignedReceipt {
  const bytes = fromBase64Url(value.trim(), "receipt header");
  const r = new ByteReader(bytes, "receipt header");
  const start = r.remaining;
  const decoded = decodeContent(r);
  const contentBytes = bytes.subarray(0, start - r.remaining);
  const content = parseContent(decoded);
  let proof: ReceiptProof;
  const mode = r.u8("proof.mode");
  if (mode === MODE_EACH) {
    proof = { mode: "each", signature: toBase64Url(r.raw("proof.signature", SIGNATURE_BYTES)) };
  } else if (mode === MODE_BATCHED) {
    const size = r.u32("proof.size");
    const index = r.u32("proof.index");
    if (size < 1 || size > MAX_BATCH_SIZE || index >= size) throw r.fail("proof", `has index ${index} in a batch of ${size}`);
    const count = r.u8("proof.siblings length");
    const siblings: Uint8Array[] = [];
    for (let i = 0; i < count; i++) siblings.push(r.raw(`proof.siblings[${i}]`, 32));
    const root = rootFromPath(hashEncoded(contentBytes), index, size, siblings);
    if (root === null) throw r.fail("proof.siblings", `has ${count} hashes, which is not an audit path for leaf ${index} of ${size}`);
    const signature = toBase64Url(r.raw("proof.signature", SIGNATURE_BYTES));
    proof = { mode: "batched", root: root.toString("hex"), size, index, siblings: siblings.map((s) => Buffer.from(s).toString("hex")), signature };
  } else {
    throw r.fail("proof.mode", `is ${mode}, expected ${MODE_EACH} (each) or ${MODE_BATCHED} (batched)`);
  }
  r.end();
  return { content, proof };
}
