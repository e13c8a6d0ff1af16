/**
 * Oblivious HTTP key configurations (RFC 9458 §3): what a client needs to encrypt to a worker's
 * key, and the `application/ohttp-keys` list the gateway publishes beside the worker's attestation.
 *
 *   Key Config { Key Identifier (8), HPKE KEM ID (16), HPKE Public Key (Npk bytes),
 *                HPKE Symmetric Algorithms Length (16), { KDF ID (16), AEAD ID (16) } ... }
 *   application/ohttp-keys: { Key Config Length (16), Key Config } ...
 *
 * Only DHKEM(X25519) has a known public key length here, so a single configuration with another
 * KEM cannot be decoded; in a list it is skipped (RFC 9458 §3.2: clients ignore what they do not
 * support), and the list must still be well formed.
 */
import { TfaasError } from "../shared/errors.js";
import { HPKE_LENGTHS, HPKE_SUITE } from "./hpke.js";
import { WireReader, WireWriter } from "./wire.js";

export interface SymmetricSuite {
  kdfId: number;
  aeadId: number;
}

export interface OhttpKeyConfig {
  /** 0–255, unique among the keys a gateway publishes at one time. */
  keyId: number;
  kemId: number;
  /** Raw public key (32 bytes for X25519). */
  publicKey: Uint8Array;
  /** In preference order; TFaaS uses HKDF-SHA256 with AES-128-GCM and ignores the rest. */
  suites: readonly SymmetricSuite[];
}

function checkU(value: number, bits: 8 | 16, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new TfaasError("invalid-request", `Cannot encode OHTTP key configuration: ${what} is ${value}, expected 0–${2 ** bits - 1}`);
  }
}

export function encodeKeyConfig(config: OhttpKeyConfig): Uint8Array<ArrayBuffer> {
  checkU(config.keyId, 8, "key id");
  checkU(config.kemId, 16, "KEM id");
  if (config.kemId === HPKE_SUITE.kemId && config.publicKey.length !== HPKE_LENGTHS.enc) {
    throw new TfaasError("invalid-request", `Cannot encode OHTTP key configuration: public key length is ${config.publicKey.length}, expected ${HPKE_LENGTHS.enc}`);
  }
  if (config.suites.length === 0 || config.suites.length > 16383) {
    throw new TfaasError("invalid-request", `Cannot encode OHTTP key configuration: ${config.suites.length} symmetric suites, expected 1–16383`);
  }
  const writer = new WireWriter().u8(config.keyId).u16(config.kemId).raw(config.publicKey).u16(config.suites.length * 4);
  for (const suite of config.suites) {
    checkU(suite.kdfId, 16, "KDF id");
    checkU(suite.aeadId, 16, "AEAD id");
    writer.u16(suite.kdfId).u16(suite.aeadId);
  }
  return writer.finish();
}

/** One key configuration, exactly (no trailing bytes). */
export function decodeKeyConfig(bytes: Uint8Array): OhttpKeyConfig {
  const reader = new WireReader(bytes, "OHTTP key configuration");
  const keyId = reader.u8("key id");
  const kemId = reader.u16("KEM id");
  if (kemId !== HPKE_SUITE.kemId) {
    throw new TfaasError("invalid-request", `Cannot decode OHTTP key configuration: KEM id is 0x${kemId.toString(16).padStart(4, "0")}, only 0x0020 DHKEM(X25519, HKDF-SHA256) is supported`);
  }
  const publicKey = reader.take("public key", HPKE_LENGTHS.enc).slice();
  const suitesLength = reader.u16("symmetric algorithms length");
  if (suitesLength < 4 || suitesLength % 4 !== 0) throw reader.fail("symmetric algorithms length", `is ${suitesLength}, expected a non-zero multiple of 4`);
  const suites: SymmetricSuite[] = [];
  for (let i = 0; i < suitesLength / 4; i++) suites.push({ kdfId: reader.u16("KDF id"), aeadId: reader.u16("AEAD id") });
  if (reader.remaining !== 0) throw reader.fail("end", `has ${reader.remaining} trailing bytes`);
  return { keyId, kemId, publicKey, suites };
}

/** `application/ohttp-keys`: each configuration prefixed by its 2-byte length. */
export function encodeKeyConfigs(configs: readonly OhttpKeyConfig[]): Uint8Array<ArrayBuffer> {
  const writer = new WireWriter();
  for (const config of configs) {
    const encoded = encodeKeyConfig(config);
    writer.u16(encoded.length).raw(encoded);
  }
  return writer.finish();
}

/** The configurations of an `application/ohttp-keys` body that use a supported KEM, in order. */
export function decodeKeyConfigs(bytes: Uint8Array): OhttpKeyConfig[] {
  const reader = new WireReader(bytes, "OHTTP key configuration list");
  const configs: OhttpKeyConfig[] = [];
  while (reader.remaining > 0) {
    const length = reader.u16("key configuration length");
    const encoded = reader.take("key configuration", length);
    if (encoded.length >= 3 && ((encoded[1]! << 8) | encoded[2]!) !== HPKE_SUITE.kemId) continue;
    configs.push(decodeKeyConfig(encoded));
  }
  return configs;
}

/** Whether the configuration offers the one suite TFaaS speaks. */
export function supportsTfaasSuite(config: OhttpKeyConfig): boolean {
  return config.kemId === HPKE_SUITE.kemId && config.suites.some((suite) => suite.kdfId === HPKE_SUITE.kdfId && suite.aeadId === HPKE_SUITE.aeadId);
}
