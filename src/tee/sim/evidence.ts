/**
 * The simulated TEE's evidence: a small structure signed with Ed25519 by the simulated platform
 * key. It mirrors what hardware evidence says (measurement, report data, debug, SVN) so the whole
 * attestation path can be exercised without hardware — and it proves nothing beyond "whoever holds
 * the platform key signed this" (see sim/backend.ts for what that does not protect).
 *
 *   0   magic "TFAASSIM"        8
 *   8   version u16 = 1
 *   10  flags u16 (bit 0: debug)
 *   12  svn u32
 *   16  platform public key    32 (Ed25519, raw)
 *   48  report data            64
 *   112 measurement length u16 (1–64)
 *   114 measurement
 *   …   signature              64 (Ed25519 over every preceding byte)
 */
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { ByteReader } from "../bytes.js";
import { REPORT_DATA_LENGTH } from "../backend.js";
import { TfaasError } from "../../shared/errors.js";

export const SIM_MAGIC = "TFAASSIM";
export const SIM_VERSION = 1;

export interface SimEvidence {
  version: number;
  debug: boolean;
  svn: number;
  platformKey: Uint8Array;
  reportData: Uint8Array;
  measurement: Uint8Array;
  signedBytes: Uint8Array;
  signature: Uint8Array;
}

export interface SimClaims {
  measurement: Uint8Array;
  reportData: Uint8Array;
  debug: boolean;
  svn: number;
}

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new TfaasError("invalid-request", `Cannot use Ed25519 key: current length is ${raw.length}, expected 32`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

export function rawEd25519PublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: "der", type: "spki" }).subarray(ED25519_SPKI_PREFIX.length));
}

export function signSimEvidence(claims: SimClaims, platformKey: KeyObject, platformPublicKey: Uint8Array): Uint8Array {
  if (claims.reportData.length !== REPORT_DATA_LENGTH) throw new TfaasError("invalid-request", `Cannot create evidence: current report data length is ${claims.reportData.length}, expected 64`);
  if (claims.measurement.length < 1 || claims.measurement.length > 64) throw new TfaasError("invalid-request", `Cannot create evidence: current measurement length is ${claims.measurement.length}, expected 1–64`);
  const body = Buffer.alloc(114 + claims.measurement.length);
  body.write(SIM_MAGIC, 0, "latin1");
  body.writeUInt16LE(SIM_VERSION, 8);
  body.writeUInt16LE(claims.debug ? 1 : 0, 10);
  body.writeUInt32LE(claims.svn, 12);
  body.set(platformPublicKey, 16);
  body.set(claims.reportData, 48);
  body.writeUInt16LE(claims.measurement.length, 112);
  body.set(claims.measurement, 114);
  return new Uint8Array(Buffer.concat([body, sign(null, body, platformKey)]));
}

export function parseSimEvidence(bytes: Uint8Array): SimEvidence {
  const reader = new ByteReader(bytes, "sim evidence");
  const magic = Buffer.from(reader.slice("magic", 0, 8)).toString("latin1");
  if (magic !== SIM_MAGIC) throw reader.fail("magic", 0, `is wrong: current value is ${JSON.stringify(magic)}`);
  const version = reader.u16("version", 8);
  if (version !== SIM_VERSION) throw reader.fail("version", 8, `is unsupported: current value is ${version}`);
  const flags = reader.u16("flags", 10);
  const measurementLength = reader.u16("measurement_length", 112);
  if (measurementLength < 1 || measurementLength > 64) throw reader.fail("measurement_length", 112, `is out of range: current value is ${measurementLength}`);
  const signatureOffset = 114 + measurementLength;
  const signature = reader.slice("signature", signatureOffset, 64);
  if (bytes.length !== signatureOffset + 64) throw reader.fail("signature", signatureOffset + 64, `is followed by trailing bytes: current length is ${bytes.length}`);
  return {
    version,
    debug: (flags & 1) !== 0,
    svn: reader.u32("svn", 12),
    platformKey: reader.slice("platform_key", 16, 32),
    reportData: reader.slice("report_data", 48, 64),
    measurement: reader.slice("measurement", 114, measurementLength),
    signedBytes: reader.slice("signed_bytes", 0, signatureOffset),
    signature,
  };
}

export function simSignatureVerifies(evidence: SimEvidence, platformKey: Uint8Array): boolean {
  try {
    return verify(null, evidence.signedBytes, ed25519PublicKey(platformKey), evidence.signature);
  } catch {
    return false;
  }
}
