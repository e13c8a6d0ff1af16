/**
 * How a worker binds its public keys and a verifier's nonce into the 64 bytes of report data:
 *
 *   SHA-512( "tfaas/attestation-binding/v1" ‖ 0x00 ‖ receiptKey(32) ‖ hpkeKey(32) ‖ u16be(len(nonce)) ‖ nonce )
 *
 * Fixed-length keys and a length-prefixed nonce make the encoding unambiguous; the context string
 * keeps these bytes from meaning anything in another protocol. The worker computes it to ask for
 * evidence and the verifier recomputes it from the keys it was shown.
 */
import { createHash } from "node:crypto";
import { TfaasError } from "../shared/errors.js";

export const BINDING_CONTEXT = "tfaas/attestation-binding/v1";
export const NONCE_MIN_LENGTH = 16;
export const NONCE_MAX_LENGTH = 64;

export interface BoundKeys {
  /** Ed25519 public key, raw 32 bytes: signs receipts. */
  receiptKey: Uint8Array;
  /** X25519 public key, raw 32 bytes: HPKE recipient key for encrypted requests. */
  hpkeKey: Uint8Array;
}

export function bindingReportData(keys: BoundKeys, nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  if (keys.receiptKey.length !== 32) throw new TfaasError("invalid-request", `Cannot bind keys: current receipt key length is ${keys.receiptKey.length}, expected 32`);
  if (keys.hpkeKey.length !== 32) throw new TfaasError("invalid-request", `Cannot bind keys: current HPKE key length is ${keys.hpkeKey.length}, expected 32`);
  if (nonce.length < NONCE_MIN_LENGTH || nonce.length > NONCE_MAX_LENGTH) {
    throw new TfaasError("invalid-request", `Cannot bind keys: current nonce length is ${nonce.length}, expected ${NONCE_MIN_LENGTH}–${NONCE_MAX_LENGTH} bytes`);
  }
  const length = Buffer.alloc(2);
  length.writeUInt16BE(nonce.length);
  const digest = createHash("sha512")
    .update(BINDING_CONTEXT, "utf8")
    .update(Buffer.of(0))
    .update(keys.receiptKey)
    .update(keys.hpkeKey)
    .update(length)
    .update(nonce)
    .digest();
  return new Uint8Array(digest);
}
