import { describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { generateX25519KeyPair, rawX25519PublicKey } from "./x25519.js";
import { unwrapKey, wrapKeyForWorker, type KeyWrapContext } from "./key-wrap.js";
import { artifactDigest, isSealedArtifact, openArtifact, sealArtifact } from "./sealed-artifact.js";

const MARKER = "TFAAS-CODE-MARKER-91c2";
const code = new Uint8Array(Buffer.from(`\0asm${MARKER}`.padEnd(4096, "x")));

function failure(fn: () => unknown): TfaasError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    return error as TfaasError;
  }
  throw new Error("expected a failure");
}

describe("sealed artifacts", () => {
  it("seals with a fresh key and nonce, and opens to the same bytes", () => {
    const a = sealArtifact(code);
    const b = sealArtifact(code);
    expect(a.digest).toBe(artifactDigest(code));
    expect(a.key.length).toBe(32);
    expect(a.key).not.toEqual(b.key);
    expect(a.ciphertext.subarray(5, 17)).not.toEqual(b.ciphertext.subarray(5, 17));
    expect(a.ciphertext.length).toBe(code.length + 33);
    expect(Buffer.from(a.ciphertext).includes(MARKER)).toBe(false);
    expect(isSealedArtifact(a.ciphertext)).toBe(true);
    expect(isSealedArtifact(code)).toBe(false);
    expect(openArtifact(a.ciphertext, a.key, a.digest)).toEqual(code);
  });

  it("refuses the wrong key, another digest, any flipped bit and truncation", () => {
    const sealed = sealArtifact(code);
    expect(failure(() => openArtifact(sealed.ciphertext, sealArtifact(code).key, sealed.digest)).message).toMatch(/authentication failed/);
    const other = artifactDigest(new Uint8Array([1]));
    expect(failure(() => openArtifact(sealed.ciphertext, sealed.key, other)).message).toMatch(/authentication failed for sha256:/);
    for (const index of [0, 4, 5, 16, 17, 2000, sealed.ciphertext.length - 1]) {
      const flipped = Uint8Array.from(sealed.ciphertext);
      flipped[index]! ^= 0x04;
      const error = failure(() => openArtifact(flipped, sealed.key, sealed.digest));
      expect(error.code).toBe("invalid-artifact");
      expect(error.message).toMatch(index < 4 ? /TFSA magic/ : index === 4 ? /version is 5, expected 1/ : /authentication failed/);
    }
    expect(failure(() => openArtifact(sealed.ciphertext.subarray(0, 20), sealed.key, sealed.digest)).message).toMatch(/truncated/);
    expect(failure(() => openArtifact(sealed.ciphertext.subarray(0, sealed.ciphertext.length - 1), sealed.key, sealed.digest)).message).toMatch(/authentication failed/);
    expect(failure(() => openArtifact(sealed.ciphertext, sealed.key, "sha256:ABC")).message).toMatch(/expected sha256:<64 lowercase hex>/);
    expect(failure(() => openArtifact(sealed.ciphertext, sealed.key.subarray(0, 16), sealed.digest)).message).toMatch(/key length is 16/);
  });
});

describe("artifact keys wrapped to a worker", () => {
  const worker = generateX25519KeyPair();
  const sealed = sealArtifact(code);
  const context: KeyWrapContext = { artifactDigest: sealed.digest, nonce: new Uint8Array(32).fill(7) };

  it("unwraps with the worker's key and the same context, from a raw or KeyObject public key", () => {
    expect(unwrapKey(wrapKeyForWorker(sealed.key, worker.publicKey, context), worker.privateKey, context)).toEqual(sealed.key);
    const wrapped = wrapKeyForWorker(sealed.key, rawX25519PublicKey(worker.publicKey), context);
    expect(wrapped.length).toBe(1 + 32 + 32 + 16);
    expect(openArtifact(sealed.ciphertext, unwrapKey(wrapped, worker.privateKey, context), sealed.digest)).toEqual(code);
  });

  it("refuses another worker, another artifact, another nonce, and altered bytes", () => {
    const wrapped = wrapKeyForWorker(sealed.key, worker.publicKey, context);
    const otherWorker = generateX25519KeyPair();
    expect(failure(() => unwrapKey(wrapped, otherWorker.privateKey, context)).message).toMatch(/authentication failed \(wrapped for another worker, artifact or nonce/);
    expect(failure(() => unwrapKey(wrapped, worker.privateKey, { ...context, artifactDigest: artifactDigest(new Uint8Array([2])) })).message).toMatch(/authentication failed/);
    expect(failure(() => unwrapKey(wrapped, worker.privateKey, { ...context, nonce: new Uint8Array(32).fill(8) })).message).toMatch(/authentication failed/);
    for (let index = 1; index < wrapped.length; index++) {
      const flipped = Uint8Array.from(wrapped);
      flipped[index]! ^= 0x10;
      expect(failure(() => unwrapKey(flipped, worker.privateKey, context)).code).toBe("invalid-request");
    }
    const versioned = Uint8Array.from(wrapped);
    versioned[0] = 2;
    expect(failure(() => unwrapKey(versioned, worker.privateKey, context)).message).toMatch(/version is 2, expected 1/);
    expect(failure(() => unwrapKey(wrapped.subarray(0, 80), worker.privateKey, context)).message).toMatch(/length is 80 bytes, expected 81/);
  });

  it("refuses malformed contexts and keys before doing any work", () => {
    expect(failure(() => wrapKeyForWorker(sealed.key, worker.publicKey, { ...context, nonce: new Uint8Array(8) })).message).toMatch(/nonce length is 8, expected 16–64/);
    expect(failure(() => wrapKeyForWorker(sealed.key.subarray(0, 31), worker.publicKey, context)).message).toMatch(/key length is 31/);
    expect(failure(() => wrapKeyForWorker(sealed.key, worker.privateKey, context)).message).toMatch(/expected an X25519 public key/);
  });
});
