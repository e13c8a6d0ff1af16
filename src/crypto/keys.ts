/**
 * Ed25519 keys for receipts (and attestation results). Private keys stay node:crypto KeyObjects
 * and never leave this process in any other form; public keys travel as their raw 32 bytes,
 * which is what a worker binds into its attestation evidence.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { fromBase64Url, toBase64Url } from "./bytes.js";

/** A public key as a KeyObject or as its raw 32 bytes. */
export type PublicKeyInput = KeyObject | Uint8Array;

/**
 * A fresh key pair, imported from the encodings the keygen call returns rather than taken as the
 * KeyObjects it creates: on Node 20, exporting (or deriving from) a KeyObject that a keygen job
 * created can deadlock when a garbage collection frees the job meanwhile (src/confidential/x25519.ts).
 */
export function generateSigningKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  const pair = generateKeyPairSync("ed25519", { privateKeyEncoding: { format: "der", type: "pkcs8" }, publicKeyEncoding: { format: "der", type: "spki" } });
  return {
    privateKey: createPrivateKey({ key: pair.privateKey, format: "der", type: "pkcs8" }),
    publicKey: createPublicKey({ key: pair.publicKey, format: "der", type: "spki" }),
  };
}

function expectEd25519(key: KeyObject, type: "private" | "public", what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== "ed25519") {
    throw new TfaasError("invalid-request", `Cannot use ${what}: expected an Ed25519 ${type} key, current value is a ${key.asymmetricKeyType ?? "symmetric"} ${key.type} key`);
  }
}

export function expectPrivateSigningKey(key: KeyObject, what: string): void {
  expectEd25519(key, "private", what);
}

/** The raw 32-byte public key of an Ed25519 public or private key. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  expectEd25519(publicKey, "public", "key");
  const { x } = publicKey.export({ format: "jwk" });
  return fromBase64Url(x ?? "", "public key");
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TfaasError("invalid-request", `Cannot use public key: expected 32 raw Ed25519 bytes, current length is ${raw.length}`);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: toBase64Url(raw) }, format: "jwk" });
}

export function toPublicKey(key: PublicKeyInput): KeyObject {
  if (key instanceof Uint8Array) return publicKeyFromRaw(key);
  expectEd25519(key, "public", "public key");
  return key;
}
