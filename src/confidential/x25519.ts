/**
 * X25519 keys as node:crypto KeyObjects, and their raw 32-byte forms (what key configurations,
 * `enc` and attestation report data carry). Private keys stay KeyObjects in this process; only
 * tests inject raw private bytes, to reproduce published vectors.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";

export const X25519_KEY_LENGTH = 32;

/** PKCS#8 prefix of an X25519 private key (RFC 8410): the raw key follows. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export interface X25519KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * Raw public keys of the key pairs generated here, by their KeyObjects. Node 20 can deadlock when a
 * freshly generated key is exported as JWK: the export holds the key's mutex while it allocates,
 * the allocation can run a garbage collection, and collecting the finished keygen job takes the
 * same mutex (seen under load: the process hangs in a futex, in ExportJWKEdKey → ~KeyGenJob). So
 * a generated key is never exported afterwards: its raw public key comes out of the keygen call
 * itself, while the job is still alive, and is remembered here.
 */
const generatedPublicKeys = new WeakMap<KeyObject, Uint8Array<ArrayBuffer>>();

/** A fresh private key and its raw public key (what `enc` carries), without a public KeyObject. */
export function generateX25519PrivateKey(): { privateKey: KeyObject; raw: Uint8Array<ArrayBuffer> } {
  // @types/node does not list "jwk" among keygen encodings; Node 20 supports it.
  const generate = generateKeyPairSync as unknown as (type: "x25519", options: { publicKeyEncoding: { format: "jwk" } }) => { privateKey: KeyObject; publicKey: JsonWebKey };
  const { privateKey, publicKey } = generate("x25519", { publicKeyEncoding: { format: "jwk" } });
  const raw = new Uint8Array(Buffer.from(publicKey.x ?? "", "base64url"));
  if (raw.length !== X25519_KEY_LENGTH) throw new TfaasError("internal", `Cannot generate X25519 key pair: public key length is ${raw.length}`);
  generatedPublicKeys.set(privateKey, raw);
  return { privateKey, raw };
}

export function generateX25519KeyPair(): X25519KeyPair {
  const { privateKey, raw } = generateX25519PrivateKey();
  const publicKey = x25519PublicKeyFromRaw(raw);
  generatedPublicKeys.set(publicKey, raw);
  return { privateKey, publicKey };
}

export function x25519PrivateKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_KEY_LENGTH) {
    throw new TfaasError("invalid-request", `Cannot use X25519 private key: current length is ${raw.length}, expected ${X25519_KEY_LENGTH}`);
  }
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

export function x25519PublicKeyFromRaw(raw: Uint8Array, what = "X25519 public key"): KeyObject {
  if (raw.length !== X25519_KEY_LENGTH) {
    throw new TfaasError("invalid-request", `Cannot use ${what}: current length is ${raw.length}, expected ${X25519_KEY_LENGTH}`);
  }
  // JWK import is several times faster than SPKI DER through OpenSSL 3's decoders.
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64url") }, format: "jwk" });
}

export function expectX25519(key: KeyObject, type: "private" | "public", what: string): void {
  if (key.type !== type || key.asymmetricKeyType !== "x25519") {
    throw new TfaasError("invalid-request", `Cannot use ${what}: expected an X25519 ${type} key, current value is a ${key.asymmetricKeyType ?? "symmetric"} ${key.type} key`);
  }
}

/** The raw 32-byte public key of an X25519 public or private key. */
export function rawX25519PublicKey(key: KeyObject): Uint8Array<ArrayBuffer> {
  const generated = generatedPublicKeys.get(key);
  if (generated !== undefined) return Uint8Array.from(generated);
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  expectX25519(publicKey, "public", "key");
  const { x } = publicKey.export({ format: "jwk" });
  const raw = Buffer.from(x ?? "", "base64url");
  if (raw.length !== X25519_KEY_LENGTH) throw new TfaasError("internal", `Cannot export X25519 public key: current length is ${raw.length}`);
  return new Uint8Array(raw);
}

/** Imported public keys by content: a client encrypting many requests to one key imports it once. */
const imported = new Map<string, KeyObject>();
const IMPORTED_KEYS_CACHED = 64;

/** A public key given as a KeyObject or raw bytes, checked and as both forms. */
export function toX25519PublicKey(key: KeyObject | Uint8Array, what: string): { key: KeyObject; raw: Uint8Array } {
  if (key instanceof Uint8Array) {
    const cacheKey = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
    let keyObject = imported.get(cacheKey);
    if (keyObject === undefined) {
      keyObject = x25519PublicKeyFromRaw(key, what);
      if (imported.size >= IMPORTED_KEYS_CACHED) imported.clear();
      imported.set(cacheKey, keyObject);
    }
    return { key: keyObject, raw: key };
  }
  expectX25519(key, "public", what);
  return { key, raw: rawX25519PublicKey(key) };
}
