/**
 * HPKE (RFC 9180), base mode, for exactly one suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-128-GCM — the suite Oblivious HTTP and TFaaS workers use. Built on node:crypto (X25519 and
 * AES-GCM in OpenSSL, HKDF from HMAC), synchronously; checked against RFC 9180 Appendix A.1.
 *
 * Guarantee and its limits: confidentiality and integrity of what is sealed to the recipient's key,
 * and that only the holder of that private key can open it. Base mode does not authenticate the
 * sender: anyone with the public key can seal a message to it. OpenSSL refuses an X25519 exchange
 * whose result is all zeros (a small-order public key), which RFC 9180 §7.1.4 requires.
 */
import { diffieHellman, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import { GCM_NONCE_LENGTH, gcmOpen, gcmSeal, hkdfExpand, hkdfExtract, SHA256_LENGTH } from "./aead.js";
import { concatBytes } from "./wire.js";
import { expectX25519, generateX25519KeyPair, rawX25519PublicKey, toX25519PublicKey, x25519PrivateKeyFromRaw, x25519PublicKeyFromRaw, X25519_KEY_LENGTH } from "./x25519.js";

/** The one HPKE suite TFaaS speaks (RFC 9180 §7 identifiers). */
export const HPKE_SUITE = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001 } as const;
/** Lengths of that suite: enc/public key, AEAD key, AEAD nonce, KDF output. */
export const HPKE_LENGTHS = { enc: X25519_KEY_LENGTH, key: 16, nonce: GCM_NONCE_LENGTH, hash: SHA256_LENGTH } as const;

const MODE_BASE = 0x00;
const VERSION_LABEL = Buffer.from("HPKE-v1", "latin1");
const ascii = (text: string) => Buffer.from(text, "latin1");
const i2osp2 = (value: number) => Uint8Array.of(value >> 8, value & 0xff);
const KEM_SUITE_ID = concatBytes(ascii("KEM"), i2osp2(HPKE_SUITE.kemId));
const HPKE_SUITE_ID = concatBytes(ascii("HPKE"), i2osp2(HPKE_SUITE.kemId), i2osp2(HPKE_SUITE.kdfId), i2osp2(HPKE_SUITE.aeadId));
const EMPTY = new Uint8Array(0);

function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Buffer {
  return hkdfExtract(salt, concatBytes(VERSION_LABEL, suiteId, ascii(label), ikm));
}

function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  return hkdfExpand(prk, concatBytes(i2osp2(length), VERSION_LABEL, suiteId, ascii(label), info), length);
}

/** DHKEM's ExtractAndExpand (RFC 9180 §4.1). */
function kemSharedSecret(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array<ArrayBuffer> {
  const prk = labeledExtract(KEM_SUITE_ID, EMPTY, "eae_prk", dh);
  return labeledExpand(KEM_SUITE_ID, prk, "shared_secret", concatBytes(enc, recipientPublicKey), SHA256_LENGTH);
}

function exchange(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch (error) {
    throw new TfaasError("invalid-request", "Cannot complete X25519 key exchange: current public key is invalid (small order)", { cause: error });
  }
}

/** Encap (RFC 9180 §4.1), with the ephemeral key injectable so tests can reproduce published vectors. */
export function encap(recipientPublicKey: KeyObject | Uint8Array, ephemeralPrivateKey?: Uint8Array): { sharedSecret: Uint8Array; enc: Uint8Array<ArrayBuffer> } {
  const recipient = toX25519PublicKey(recipientPublicKey, "HPKE recipient public key");
  const ephemeral = ephemeralPrivateKey === undefined ? generateX25519KeyPair() : { privateKey: x25519PrivateKeyFromRaw(ephemeralPrivateKey), publicKey: undefined };
  const enc = rawX25519PublicKey(ephemeral.publicKey ?? ephemeral.privateKey);
  const dh = exchange(ephemeral.privateKey, recipient.key);
  return { sharedSecret: kemSharedSecret(dh, enc, recipient.raw), enc };
}

/** Decap (RFC 9180 §4.1). `recipientPublicKey` is the raw public key of `recipientPrivateKey` (callers cache it). */
export function decap(enc: Uint8Array, recipientPrivateKey: KeyObject, recipientPublicKey: Uint8Array): Uint8Array {
  const dh = exchange(recipientPrivateKey, x25519PublicKeyFromRaw(enc, "HPKE encapsulated key"));
  return kemSharedSecret(dh, enc, recipientPublicKey);
}

export interface KeySchedule {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

let pskIdHash: Buffer | undefined;
/** info_hash by info: Oblivious HTTP uses one info per key id, so a few entries serve every request. */
const infoHashes = new Map<string, Buffer>();
const INFO_HASH_CACHE_ENTRIES = 64;

function cachedInfoHash(info: Uint8Array): Buffer {
  const cacheKey = Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString("latin1");
  let hash = infoHashes.get(cacheKey);
  if (hash === undefined) {
    hash = labeledExtract(HPKE_SUITE_ID, EMPTY, "info_hash", info);
    if (infoHashes.size >= INFO_HASH_CACHE_ENTRIES) infoHashes.clear();
    if (info.length <= 256) infoHashes.set(cacheKey, hash);
  }
  return hash;
}

/** KeyScheduleS/R for base mode (RFC 9180 §5.1): no PSK, no sender key. */
export function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): KeySchedule {
  pskIdHash ??= labeledExtract(HPKE_SUITE_ID, EMPTY, "psk_id_hash", EMPTY);
  const infoHash = cachedInfoHash(info);
  const context = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE_ID, sharedSecret, "secret", EMPTY);
  return {
    key: labeledExpand(HPKE_SUITE_ID, secret, "key", context, HPKE_LENGTHS.key),
    baseNonce: labeledExpand(HPKE_SUITE_ID, secret, "base_nonce", context, HPKE_LENGTHS.nonce),
    exporterSecret: labeledExpand(HPKE_SUITE_ID, secret, "exp", context, HPKE_LENGTHS.hash),
  };
}

/** An HPKE encryption context; one side seals, the other opens, in the same sequence. */
export class HpkeContext {
  private sequence = 0;

  constructor(private readonly schedule: KeySchedule) {}

  /** base_nonce XOR I2OSP(seq, Nn) (RFC 9180 §5.2). */
  private nonce(): Uint8Array {
    const nonce = Uint8Array.from(this.schedule.baseNonce);
    let seq = this.sequence;
    for (let i = nonce.length - 1; seq > 0 && i >= 0; i--) {
      nonce[i] = nonce[i]! ^ seq % 256;
      seq = Math.floor(seq / 256);
    }
    return nonce;
  }

  private advance(): void {
    if (this.sequence >= Number.MAX_SAFE_INTEGER) throw new TfaasError("internal", "Cannot use HPKE context: current sequence number is at its limit");
    this.sequence++;
  }

  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array<ArrayBuffer> {
    const sealed = gcmSeal(this.schedule.key, this.nonce(), aad, plaintext);
    this.advance();
    return sealed;
  }

  /** The plaintext, or `undefined` when authentication fails (the sequence then stays where it was). */
  open(aad: Uint8Array, sealed: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
    const plaintext = gcmOpen(this.schedule.key, this.nonce(), aad, sealed);
    if (plaintext !== undefined) this.advance();
    return plaintext;
  }

  /** Secret export (RFC 9180 §5.3). */
  export(exporterContext: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
    return labeledExpand(HPKE_SUITE_ID, this.schedule.exporterSecret, "sec", exporterContext, length);
  }
}

export interface SetupSenderOptions {
  /** Raw X25519 private key to use as the ephemeral key: only to reproduce test vectors. */
  ephemeralPrivateKey?: Uint8Array;
}

/** SetupBaseS (RFC 9180 §5.1.1). */
export function setupBaseSender(recipientPublicKey: KeyObject | Uint8Array, info: Uint8Array, options: SetupSenderOptions = {}): { enc: Uint8Array<ArrayBuffer>; context: HpkeContext } {
  const { sharedSecret, enc } = encap(recipientPublicKey, options.ephemeralPrivateKey);
  return { enc, context: new HpkeContext(keySchedule(sharedSecret, info)) };
}

/** SetupBaseR (RFC 9180 §5.1.1). Pass `recipientPublicKey` (raw) when known, to skip deriving it. */
export function setupBaseRecipient(enc: Uint8Array, recipientPrivateKey: KeyObject, info: Uint8Array, recipientPublicKey?: Uint8Array): HpkeContext {
  expectX25519(recipientPrivateKey, "private", "HPKE recipient private key");
  const publicKey = recipientPublicKey ?? rawX25519PublicKey(recipientPrivateKey);
  return new HpkeContext(keySchedule(decap(enc, recipientPrivateKey, publicKey), info));
}
