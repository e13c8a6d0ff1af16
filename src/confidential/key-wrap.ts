/**
 * Artifact keys wrapped to one worker: the key broker seals an artifact's AES key with HPKE base
 * mode to the X25519 key the worker bound into its attestation, under a context naming the
 * artifact and the broker's nonce.
 *
 *   wrapped = version 0x01 (1) ‖ enc (32) ‖ HPKE-sealed key (32 + 16 tag)
 *   info    = "tfaas/artifact-key/v1" ‖ 0x00 ‖ u16 len ‖ artifact digest (ASCII) ‖ u16 len ‖ nonce
 *   aad     = the version byte
 *
 * So a wrapped key opens only with that worker's private key (not another worker's), only for
 * that artifact digest and only with that nonce. The "message/bhttp request" info of Oblivious
 * HTTP and this info never coincide, so the same worker key can serve both. Where the guarantee
 * stops: freshness needs the worker to unwrap with the nonce it sent in this exchange and never
 * again; the broker's policy decision, not this format, decides who gets a key.
 */
import type { KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { GCM_TAG_LENGTH } from "./aead.js";
import { HPKE_LENGTHS, setupBaseRecipient, setupBaseSender, type SetupSenderOptions } from "./hpke.js";
import { ARTIFACT_KEY_LENGTH, checkArtifactDigest } from "./sealed-artifact.js";
import { concatBytes } from "./wire.js";

export const KEY_WRAP_VERSION = 1;
export const KEY_WRAP_NONCE_MIN_LENGTH = 16;
export const KEY_WRAP_NONCE_MAX_LENGTH = 64;
const LABEL = Buffer.from("tfaas/artifact-key/v1", "latin1");
const AAD = Uint8Array.of(KEY_WRAP_VERSION);
const WRAPPED_LENGTH = 1 + HPKE_LENGTHS.enc + ARTIFACT_KEY_LENGTH + GCM_TAG_LENGTH;

export interface KeyWrapContext {
  /** `sha256:<hex>` of the artifact's plaintext. */
  artifactDigest: string;
  /** The broker's fresh nonce for this release (16–64 bytes), which the worker's evidence also binds. */
  nonce: Uint8Array;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

function wrapInfo(context: KeyWrapContext, what: string): Uint8Array {
  checkArtifactDigest(context.artifactDigest, what);
  const { nonce } = context;
  if (nonce.length < KEY_WRAP_NONCE_MIN_LENGTH || nonce.length > KEY_WRAP_NONCE_MAX_LENGTH) {
    throw new TfaasError("invalid-request", `Cannot ${what}: nonce length is ${nonce.length}, expected ${KEY_WRAP_NONCE_MIN_LENGTH}–${KEY_WRAP_NONCE_MAX_LENGTH} bytes`);
  }
  const digest = Buffer.from(context.artifactDigest, "latin1");
  return concatBytes(LABEL, Uint8Array.of(0), u16(digest.length), digest, u16(nonce.length), nonce);
}

export function wrapKeyForWorker(key: Uint8Array, workerHpkePublicKey: KeyObject | Uint8Array, context: KeyWrapContext, options: SetupSenderOptions = {}): Uint8Array<ArrayBuffer> {
  if (key.length !== ARTIFACT_KEY_LENGTH) throw new TfaasError("invalid-request", `Cannot wrap artifact key: key length is ${key.length}, expected ${ARTIFACT_KEY_LENGTH}`);
  const { enc, context: sender } = setupBaseSender(workerHpkePublicKey, wrapInfo(context, "wrap artifact key"), options);
  return concatBytes(AAD, enc, sender.seal(AAD, key));
}

export function unwrapKey(wrapped: Uint8Array, workerHpkePrivateKey: KeyObject, context: KeyWrapContext): Uint8Array<ArrayBuffer> {
  const info = wrapInfo(context, "unwrap artifact key");
  if (wrapped.length !== WRAPPED_LENGTH) throw new TfaasError("invalid-request", `Cannot unwrap artifact key: current length is ${wrapped.length} bytes, expected ${WRAPPED_LENGTH}`);
  if (wrapped[0] !== KEY_WRAP_VERSION) throw new TfaasError("invalid-request", `Cannot unwrap artifact key: version is ${wrapped[0]}, expected ${KEY_WRAP_VERSION}`);
  // A small-order enc fails the key exchange itself, with its own invalid-request error.
  const key = setupBaseRecipient(wrapped.subarray(1, 1 + HPKE_LENGTHS.enc), workerHpkePrivateKey, info).open(AAD, wrapped.subarray(1 + HPKE_LENGTHS.enc));
  if (key === undefined) {
    throw new TfaasError("invalid-request", `Cannot unwrap artifact key for ${context.artifactDigest}: authentication failed (wrapped for another worker, artifact or nonce, or altered)`);
  }
  return key;
}
