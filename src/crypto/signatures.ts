/**
 * What exactly gets signed. Each message starts with a context string and a zero byte, so a
 * signature made for one purpose (one receipt, one batch root) can never be replayed as the
 * other, nor as anything else this key might sign.
 */
import { sign, verify, type KeyObject } from "node:crypto";
import { ByteWriter } from "./bytes.js";

const RECEIPT_CONTEXT = Buffer.from("tfaas-receipt-v1\0");
const BATCH_CONTEXT = Buffer.from("tfaas-batch-v1\0");

/** `tfaas-receipt-v1` 0x00 ‖ SHA-256(canonical content). */
export function receiptMessage(receiptHash: Uint8Array): Buffer {
  return Buffer.concat([RECEIPT_CONTEXT, receiptHash]);
}

/** `tfaas-batch-v1` 0x00 ‖ u32 leaf count ‖ Merkle root. */
export function batchMessage(size: number, root: Uint8Array): Buffer {
  const w = new ByteWriter(BATCH_CONTEXT.length + 4 + 32);
  w.raw(BATCH_CONTEXT);
  w.u32(size);
  w.raw(root);
  return w.finish();
}

export function signMessage(message: Uint8Array, privateKey: KeyObject): Buffer {
  return sign(null, message, privateKey);
}

export function signatureVerifies(message: Uint8Array, signature: Uint8Array, publicKey: KeyObject): boolean {
  return signature.length === 64 && verify(null, message, publicKey, signature);
}
