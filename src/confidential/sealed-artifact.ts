/**
 * Sealed artifacts: function code encrypted on the owner's machine, so the platform stores only
 * ciphertext and the digest of the plaintext (the measurement policies and receipts name).
 *
 *   "TFSA" (4) ‖ version 0x01 (1) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
 *   key: 32 random bytes, fresh per artifact; nonce: 12 random bytes
 *   AAD: the 5 header bytes ‖ the plaintext digest as ASCII, "sha256:<64 hex>"
 *
 * Binding the digest as AAD means a ciphertext opens only under the digest it was sealed for; the
 * opener also hashes the plaintext and compares, so even someone holding the key cannot pass off
 * other code under that digest. What this does not hide: the artifact's size (to within nothing:
 * ciphertext = plaintext + 33 bytes) and its digest, which is public by design.
 */
import { createHash, randomBytes } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { GCM_NONCE_LENGTH, GCM_TAG_LENGTH, gcmOpen, gcmSeal } from "./aead.js";
import { concatBytes } from "./wire.js";

export const SEALED_ARTIFACT_VERSION = 1;
export const ARTIFACT_KEY_LENGTH = 32;
const MAGIC = Buffer.from("TFSA", "latin1");
const HEADER = concatBytes(MAGIC, Uint8Array.of(SEALED_ARTIFACT_VERSION));
const OVERHEAD = HEADER.length + GCM_NONCE_LENGTH + GCM_TAG_LENGTH;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface SealedArtifact {
  ciphertext: Uint8Array<ArrayBuffer>;
  /** The 32-byte AES-256-GCM key: give it only to the key broker. */
  key: Uint8Array<ArrayBuffer>;
  /** `sha256:<hex>` of the plaintext. */
  digest: string;
}

export function artifactDigest(plaintext: Uint8Array): string {
  return `sha256:${createHash("sha256").update(plaintext).digest("hex")}`;
}

export function checkArtifactDigest(digest: string, what: string): void {
  if (!DIGEST.test(digest)) throw new TfaasError("invalid-artifact", `Cannot ${what}: digest is ${JSON.stringify(digest.slice(0, 80))}, expected sha256:<64 lowercase hex>`);
}

function aad(digest: string): Uint8Array {
  return concatBytes(HEADER, Buffer.from(digest, "latin1"));
}

/** Whether `bytes` start like a sealed artifact (any version), as opposed to plain code. */
export function isSealedArtifact(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, i) => bytes[i] === byte);
}

export function sealArtifact(plaintext: Uint8Array): SealedArtifact {
  const key = new Uint8Array(randomBytes(ARTIFACT_KEY_LENGTH));
  const nonce = randomBytes(GCM_NONCE_LENGTH);
  const digest = artifactDigest(plaintext);
  return { ciphertext: concatBytes(HEADER, nonce, gcmSeal(key, nonce, aad(digest), plaintext)), key, digest };
}

/** The plaintext of a sealed artifact, checked against `expectedDigest` twice (as AAD and by hashing). */
export function openArtifact(ciphertext: Uint8Array, key: Uint8Array, expectedDigest: string): Uint8Array<ArrayBuffer> {
  checkArtifactDigest(expectedDigest, "open sealed artifact");
  if (key.length !== ARTIFACT_KEY_LENGTH) throw new TfaasError("invalid-artifact", `Cannot open sealed artifact: key length is ${key.length}, expected ${ARTIFACT_KEY_LENGTH}`);
  if (!isSealedArtifact(ciphertext)) throw new TfaasError("invalid-artifact", "Cannot open sealed artifact: current bytes do not start with the TFSA magic");
  const version = ciphertext[MAGIC.length];
  if (version !== SEALED_ARTIFACT_VERSION) throw new TfaasError("invalid-artifact", `Cannot open sealed artifact: version is ${version ?? "missing"}, expected ${SEALED_ARTIFACT_VERSION}`);
  if (ciphertext.length < OVERHEAD) throw new TfaasError("invalid-artifact", `Cannot open sealed artifact: current length is ${ciphertext.length} bytes, at least ${OVERHEAD} expected (truncated)`);
  const nonce = ciphertext.subarray(HEADER.length, HEADER.length + GCM_NONCE_LENGTH);
  const plaintext = gcmOpen(key, nonce, aad(expectedDigest), ciphertext.subarray(HEADER.length + GCM_NONCE_LENGTH));
  if (plaintext === undefined) {
    throw new TfaasError("invalid-artifact", `Cannot open sealed artifact: authentication failed for ${expectedDigest} (wrong key, sealed for another digest, or altered)`);
  }
  const actual = artifactDigest(plaintext);
  if (actual !== expectedDigest) {
    plaintext.fill(0);
    throw new TfaasError("invalid-artifact", `Cannot open sealed artifact: plaintext digest is ${actual}, expected ${expectedDigest}`);
  }
  return plaintext;
}
