/**
 * AES-256-GCM for secret values. Each write draws a fresh 96-bit random nonce (safe for far more
 * writes than a secret store sees under one key: the birthday bound is ~2^32 encryptions).
 * The secret's (namespace, name) is the additional authenticated data, so a ciphertext copied
 * onto another row fails to decrypt instead of silently becoming that row's value.
 *
 * Guarantee stops here: GCM authenticates each row, not the set of rows; deleting a row or
 * restoring an older ciphertext for the same name (rollback) is not detected.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { SECRET_KEY_BYTES } from "./secret-key.js";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";

export interface SealedSecret {
  nonce: Buffer;
  /** Ciphertext followed by the 16-byte authentication tag. */
  sealed: Buffer;
}

export class SecretCipher {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== SECRET_KEY_BYTES) {
      throw new TfaasError("internal", `Cannot use secrets key: current length is ${key.length} bytes, expected ${SECRET_KEY_BYTES}`);
    }
    this.#key = Buffer.from(key);
  }

  seal(namespace: string, name: string, plaintext: Uint8Array): SealedSecret {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(namespace, name));
    const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { nonce, sealed };
  }

  /** The plaintext in a fresh buffer; throws when the row was tampered with, moved, or sealed under another key. */
  open(namespace: string, name: string, secret: SealedSecret): Uint8Array {
    if (secret.nonce.length !== NONCE_BYTES || secret.sealed.length < TAG_BYTES) {
      throw new Error("sealed secret is truncated");
    }
    const tagStart = secret.sealed.length - TAG_BYTES;
    const decipher = createDecipheriv(ALGORITHM, this.#key, secret.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(namespace, name));
    decipher.setAuthTag(secret.sealed.subarray(tagStart));
    const parts = [decipher.update(secret.sealed.subarray(0, tagStart)), decipher.final()];
    // Copy out of Node's pooled buffers so a caller's `.buffer` exposes only this secret; wipe the rest.
    const plaintext = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      plaintext.set(part, offset);
      offset += part.length;
      part.fill(0);
    }
    return plaintext;
  }
}

/** Length-prefixed by JSON, so ("a", "b-c") and ("a-b", "c") can never collide. */
function associatedData(namespace: string, name: string): Buffer {
  return Buffer.from(JSON.stringify(["tfaas-secret-v1", namespace, name]), "utf8");
}
