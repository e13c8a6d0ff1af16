/**
 * Sealed uploads: encrypted code as the platform stores it. The owner's machine seals the code
 * (src/confidential `sealArtifact`) and uploads this envelope, which carries what the platform
 * needs without the key: the plaintext's kind and digest (the measurement policies and receipts
 * name) and the ciphertext.
 *
 *   "TFSE" (4) ‖ version 0x01 (1) ‖ kind (1: 1 = wasm, 2 = javascript) ‖ "sha256:<64 hex>" (71) ‖ sealed artifact ("TFSA"…)
 *
 * The envelope is stored like any artifact, content-addressed by its own bytes; that address is
 * the deployment's `image`. Where the guarantee stops: the gateway cannot check that the claimed
 * digest and kind are true, nor prepare the code at upload as it does plain code. The worker checks
 * both after the key broker released the key (the digest is the AEAD's associated data and the
 * plaintext is hashed again); a false claim fails there, at load time, not at upload.
 */
import { isSealedArtifact } from "../confidential/index.js";
import { TfaasError } from "../shared/errors.js";
import type { ArtifactKind } from "../store/index.js";

export const SEALED_MEDIA_TYPE = "application/vnd.tfaas.sealed-artifact";

const MAGIC = Buffer.from("TFSE", "latin1");
const VERSION = 1;
const KINDS: Record<number, ArtifactKind> = { 1: "wasm", 2: "javascript" };
const KIND_BYTES: Record<ArtifactKind, number> = { wasm: 1, javascript: 2 };
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const DIGEST_LENGTH = 71;
const HEADER_LENGTH = MAGIC.length + 2 + DIGEST_LENGTH;
/** "TFSA", version, 12-byte nonce and 16-byte tag: the least a sealed artifact can be. */
const MIN_SEALED_LENGTH = 33;

export interface SealedUpload {
  /** What the plaintext is, so the worker prepares it as usual once it is open. */
  kind: ArtifactKind;
  /** `sha256:<hex>` of the plaintext: the code measurement. */
  digest: string;
  /** The sealed artifact ("TFSA" format). */
  ciphertext: Uint8Array;
}

export function isSealedUpload(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, i) => bytes[i] === byte);
}

export function encodeSealedUpload(upload: SealedUpload): Uint8Array<ArrayBuffer> {
  if (!DIGEST.test(upload.digest)) throw new TfaasError("invalid-artifact", `Cannot seal upload: digest is ${JSON.stringify(upload.digest.slice(0, 80))}, expected sha256:<64 lowercase hex>`);
  const out = new Uint8Array(HEADER_LENGTH + upload.ciphertext.length);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = KIND_BYTES[upload.kind];
  out.set(Buffer.from(upload.digest, "latin1"), 6);
  out.set(upload.ciphertext, HEADER_LENGTH);
  return out;
}

/** Reads and checks the envelope's structure; the ciphertext itself can only be checked by a key holder. */
export function decodeSealedUpload(bytes: Uint8Array): SealedUpload {
  const fail = (what: string) => new TfaasError("invalid-artifact", `Cannot accept sealed artifact: ${what}`);
  if (!isSealedUpload(bytes)) throw fail("current bytes do not start with the TFSE magic");
  if (bytes.length < HEADER_LENGTH + MIN_SEALED_LENGTH) throw fail(`current length is ${bytes.length} bytes, at least ${HEADER_LENGTH + MIN_SEALED_LENGTH} expected (truncated)`);
  if (bytes[4] !== VERSION) throw fail(`version is ${bytes[4]}, expected ${VERSION}`);
  const kind = KINDS[bytes[5]!];
  if (kind === undefined) throw fail(`kind byte is ${bytes[5]}, expected 1 (wasm) or 2 (javascript)`);
  const digest = Buffer.from(bytes.subarray(6, HEADER_LENGTH)).toString("latin1");
  if (!DIGEST.test(digest)) throw fail("the plaintext digest is not sha256:<64 lowercase hex>");
  const ciphertext = bytes.subarray(HEADER_LENGTH);
  if (!isSealedArtifact(ciphertext)) throw fail("the ciphertext does not start with the TFSA magic");
  return { kind, digest, ciphertext };
}
