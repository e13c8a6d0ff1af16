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
import { GCM_NONCE_LENGTH, gcmOpen, gcmSeal, hkdfExpand, hkdfExpandBlock, hmacSha256, SHA256_LENGTH } from "./aead.js";
import { concatBytes } from "./wire.js";
import { expectX25519, generateX25519PrivateKey, rawX25519PublicKey, toX25519PublicKey, x25519PrivateKeyFromRaw, x25519PublicKeyFromRaw, X25519_KEY_LENGTH } from "./x25519.js";

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
const COUNTER_ONE = Uint8Array.of(1);

/*
 * RFC 9180 §4: LabeledExtract(salt, label, ikm) = HMAC(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm), and
 * LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L).
 * Every L this suite asks for is at most 32, so an expand is the one HMAC over that ‖ 0x01. The
 * constant part of each message is built once here; per request, each step is one allocation and
 * one HMAC call.
 */
function extractPrefix(suiteId: Uint8Array, label: string): Uint8Array<ArrayBuffer> {
  return concatBytes(VERSION_LABEL, suiteId, ascii(label));
}

function expandPrefix(suiteId: Uint8Array, label: string, length: number): Uint8Array<ArrayBuffer> {
  return concatBytes(i2osp2(length), VERSION_LABEL, suiteId, ascii(label));
}

function labeledExtract(prefix: Uint8Array, salt: Uint8Array, ikm: Uint8Array): Buffer {
  return hmacSha256(salt, ikm.length === 0 ? prefix : concatBytes(prefix, ikm));
}

/** `prefix` from expandPrefix (it fixes the length). Lengths above one block take the general HKDF-Expand. */
function labeledExpand(prefix: Uint8Array, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  if (length <= SHA256_LENGTH) return hkdfExpandBlock(prk, concatBytes(prefix, info, COUNTER_ONE), length);
  return hkdfExpand(prk, concatBytes(prefix, info), length);
}

const EAE_PRK = extractPrefix(KEM_SUITE_ID, "eae_prk");
const SHARED_SECRET = expandPrefix(KEM_SUITE_ID, "shared_secret", SHA256_LENGTH);
/** LabeledExtract(shared_secret, "secret", psk = "") has a constant message: base mode has no PSK. */
const SECRET_MESSAGE = extractPrefix(HPKE_SUITE_ID, "secret");

/** DHKEM's ExtractAndExpand (RFC 9180 §4.1): eae_prk, then shared_secret over kem_context = enc ‖ pkR. */
function kemSharedSecret(dh: Uint8Array, enc: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array<ArrayBuffer> {
  const prk = labeledExtract(EAE_PRK, EMPTY, dh);
  return hkdfExpandBlock(prk, concatBytes(SHARED_SECRET, enc, recipientPublicKey, COUNTER_ONE), SHA256_LENGTH);
}

function exchange(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch (error) {
    throw new TfaasError("invalid-request", "Cannot complete X25519 key exchange: current public key is invalid (small order)", { cause: error });
  }
}

function injectedPrivateKey(raw: Uint8Array): { privateKey: KeyObject; raw: Uint8Array<ArrayBuffer> } {
  const privateKey = x25519PrivateKeyFromRaw(raw);
  return { privateKey, raw: rawX25519PublicKey(privateKey) };
}

/** Encap (RFC 9180 §4.1), with the ephemeral key injectable so tests can reproduce published vectors. */
export function encap(recipientPublicKey: KeyObject | Uint8Array, ephemeralPrivateKey?: Uint8Array): { sharedSecret: Uint8Array; enc: Uint8Array<ArrayBuffer> } {
  const recipient = toX25519PublicKey(recipientPublicKey, "HPKE recipient public key");
  const ephemeral = ephemeralPrivateKey === undefined ? generateX25519PrivateKey() : injectedPrivateKey(ephemeralPrivateKey);
  const dh = exchange(ephemeral.privateKey, recipient.key);
  return { sharedSecret: kemSharedSecret(dh, ephemeral.raw, recipient.raw), enc: ephemeral.raw };
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

/**
 * The three LabeledExpand messages of the key schedule, ‖ 0x01, for one info. They depend only on
 * key_schedule_context = mode ‖ psk_id_hash ‖ info_hash, so on info alone in base mode; Oblivious
 * HTTP uses one info per key id, so a few entries serve every request.
 */
interface ScheduleMessages {
  key: Uint8Array;
  baseNonce: Uint8Array;
  exporterSecret: Uint8Array;
}

const scheduleMessagesByInfo = new Map<string, ScheduleMessages>();
const SCHEDULE_CACHE_ENTRIES = 64;
const SCHEDULE_CACHEABLE_INFO_LENGTH = 256;
let pskIdHash: Buffer | undefined;

function scheduleMessages(info: Uint8Array): ScheduleMessages {
  const cacheable = info.length <= SCHEDULE_CACHEABLE_INFO_LENGTH;
  const cacheKey = cacheable ? Buffer.from(info.buffer, info.byteOffset, info.byteLength).toString("latin1") : "";
  const cached = cacheable ? scheduleMessagesByInfo.get(cacheKey) : undefined;
  if (cached !== undefined) return cached;
  pskIdHash ??= labeledExtract(extractPrefix(HPKE_SUITE_ID, "psk_id_hash"), EMPTY, EMPTY);
  const infoHash = labeledExtract(extractPrefix(HPKE_SUITE_ID, "info_hash"), EMPTY, info);
  const context = concatBytes(Uint8Array.of(MODE_BASE), pskIdHash, infoHash);
  const message = (label: string, length: number) => concatBytes(expandPrefix(HPKE_SUITE_ID, label, length), context, COUNTER_ONE);
  const messages = { key: message("key", HPKE_LENGTHS.key), baseNonce: message("base_nonce", HPKE_LENGTHS.nonce), exporterSecret: message("exp", HPKE_LENGTHS.hash) };
  if (cacheable) {
    if (scheduleMessagesByInfo.size >= SCHEDULE_CACHE_ENTRIES) scheduleMessagesByInfo.clear();
    scheduleMessagesByInfo.set(cacheKey, messages);
  }
  return messages;
}

/** KeyScheduleS/R for base mode (RFC 9180 §5.1): no PSK, no sender key. Four HMAC calls. */
export function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): KeySchedule {
  const messages = scheduleMessages(info);
  const secret = hmacSha256(sharedSecret, SECRET_MESSAGE);
  return {
    key: hkdfExpandBlock(secret, messages.key, HPKE_LENGTHS.key),
    baseNonce: hkdfExpandBlock(secret, messages.baseNonce, HPKE_LENGTHS.nonce),
    exporterSecret: hkdfExpandBlock(secret, messages.exporterSecret, HPKE_LENGTHS.hash),
  };
}

/** LabeledExpand prefixes of "sec" by length: callers export a fixed length or two. */
const exportPrefixes = new Map<number, Uint8Array>();

function exportPrefix(length: number): Uint8Array {
  let prefix = exportPrefixes.get(length);
  if (prefix === undefined) {
    if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_LENGTH) {
      throw new TfaasError("internal", `Cannot export HPKE secret: current length is ${length}, expected 0–${255 * SHA256_LENGTH}`);
    }
    prefix = expandPrefix(HPKE_SUITE_ID, "sec", length);
    if (exportPrefixes.size < 64) exportPrefixes.set(length, prefix);
  }
  return prefix;
}

/** An HPKE encryption context; one side seals, the other opens, in the same sequence. */
export class HpkeContext {
  private sequence = 0;

  constructor(private readonly schedule: KeySchedule) {}

  /** base_nonce XOR I2OSP(seq, Nn) (RFC 9180 §5.2). */
  private nonce(): Uint8Array {
    if (this.sequence === 0) return this.schedule.baseNonce;
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
    return labeledExpand(exportPrefix(length), this.schedule.exporterSecret, exporterContext, length);
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
