/**
 * AES-GCM with 16-byte tags (AES-128 for HPKE and Oblivious HTTP, AES-256 for sealed artifacts),
 * and HKDF-SHA256 in its two halves (RFC 5869), which HPKE and RFC 9458's response keys call
 * separately. On node:crypto, synchronously: no plaintext is returned before its tag verifies.
 */
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";
import { TfaasError } from "../shared/errors.js";

export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;
export const SHA256_LENGTH = 32;

function cipherName(key: Uint8Array): "aes-128-gcm" | "aes-256-gcm" {
  if (key.length === 16) return "aes-128-gcm";
  if (key.length === 32) return "aes-256-gcm";
  throw new TfaasError("internal", `Cannot use AES-GCM key: current length is ${key.length}, expected 16 or 32`);
}

/** ciphertext ‖ tag. */
export function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array<ArrayBuffer> {
  const cipher = createCipheriv(cipherName(key), key, nonce, { authTagLength: GCM_TAG_LENGTH });
  // No setAAD call is the same as empty AAD (GHASH of nothing), and one crossing into OpenSSL fewer.
  if (aad.length > 0) cipher.setAAD(aad);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(head.length + tail.length + GCM_TAG_LENGTH);
  out.set(head, 0);
  out.set(tail, head.length);
  out.set(tag, head.length + tail.length);
  return out;
}

/**
 * The plaintext, or `undefined` when the tag does not verify (wrong key, nonce or AAD, or altered
 * bytes): callers turn that into an error that says which message failed. `authTagLength` pins the
 * tag at 16 bytes, so a shortened tag cannot be accepted.
 */
export function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  if (sealed.length < GCM_TAG_LENGTH) return undefined;
  const split = sealed.length - GCM_TAG_LENGTH;
  const decipher = createDecipheriv(cipherName(key), key, nonce, { authTagLength: GCM_TAG_LENGTH });
  if (aad.length > 0) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const head = decipher.update(sealed.subarray(0, split));
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    head.fill(0);
    return undefined;
  }
  // GCM returns everything from update(): hand out that buffer (its own allocation) rather than a copy.
  if (tail.length === 0) return new Uint8Array(head.buffer as ArrayBuffer, head.byteOffset, head.length);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

/** HMAC-SHA256 of one message: every HKDF step below is exactly one of these. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac("sha256", key).update(message).digest();
}

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Buffer {
  // HMAC pads a short key with zeros, so an empty salt is the RFC 5869 default of HashLen zeros.
  return hmacSha256(salt, ikm);
}

/**
 * HKDF-Expand. Every length HPKE and Oblivious HTTP ask for fits one block, T(1) = HMAC(prk, info ‖
 * 0x01); callers that expand often pass that message prebuilt to `hkdfExpandBlock` instead.
 */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  if (length > 255 * SHA256_LENGTH) throw new TfaasError("internal", `Cannot expand HKDF output: current length is ${length}, at most ${255 * SHA256_LENGTH}`);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let filled = 0, counter = 1; filled < length; counter++) {
    previous = createHmac("sha256", prk).update(previous).update(info).update(Uint8Array.of(counter)).digest();
    out.set(previous.subarray(0, Math.min(SHA256_LENGTH, length - filled)), filled);
    filled += SHA256_LENGTH;
  }
  return out;
}

/** HKDF-Expand of at most one hash length, given `infoAndCounter` = info ‖ 0x01: one HMAC, no copy. */
export function hkdfExpandBlock(prk: Uint8Array, infoAndCounter: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  if (length > SHA256_LENGTH) throw new TfaasError("internal", `Cannot expand one HKDF block: current length is ${length}, at most ${SHA256_LENGTH}`);
  const block = hmacSha256(prk, infoAndCounter);
  return new Uint8Array(block.buffer as ArrayBuffer, block.byteOffset, length);
}
