/**
 * Test support: evidence in the real binary layouts, signed with keys the test holds. It lets
 * parsers, backends and signature checks be exercised with any report data, measurement and debug
 * flag; certificate chains are exercised with the real vendor samples instead.
 */
import { createHash, sign, type KeyObject } from "node:crypto";

function signP1363(hash: "sha256" | "sha384", data: Uint8Array, key: KeyObject): Buffer {
  return sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
}

/** x ‖ y of an EC public key (64 bytes for P-256). */
export function rawEcPoint(key: KeyObject): Buffer {
  const jwk = key.export({ format: "jwk" });
  return Buffer.concat([Buffer.from(jwk.x ?? "", "base64url"), Buffer.from(jwk.y ?? "", "base64url")]);
}

export interface SyntheticSevSnpReport {
  reportData: Uint8Array;
  /** P-384 private key standing in for the VCEK. */
  vcek: KeyObject;
  measurement?: Uint8Array;
  debug?: boolean;
  /** bootloader, tee, snp, microcode. */
  tcb?: [number, number, number, number];
  guestSvn?: number;
  chipId?: Uint8Array;
}

export function buildSevSnpReport(options: SyntheticSevSnpReport): Uint8Array {
  const report = Buffer.alloc(0x4a0);
  report.writeUInt32LE(2, 0x00);
  report.writeUInt32LE(options.guestSvn ?? 0, 0x04);
  report.writeBigUInt64LE(0x30000n | (options.debug === true ? 1n << 19n : 0n), 0x08);
  report.writeUInt32LE(0, 0x30);
  report.writeUInt32LE(1, 0x34);
  const [bootloader, tee, snp, microcode] = options.tcb ?? [3, 0, 8, 115];
  const tcb = BigInt(bootloader) | (BigInt(tee) << 8n) | (BigInt(snp) << 48n) | (BigInt(microcode) << 56n);
  for (const offset of [0x38, 0x180, 0x1e0, 0x1f0]) report.writeBigUInt64LE(tcb, offset);
  report.set(options.reportData, 0x50);
  report.set(options.measurement ?? Buffer.alloc(48, 0xa1), 0x90);
  report.set(options.chipId ?? Buffer.alloc(64, 0xc1), 0x1a0);
  const signature = signP1363("sha384", report.subarray(0, 0x2a0), options.vcek);
  report.set(Buffer.from(signature.subarray(0, 48)).reverse(), 0x2a0);
  report.set(Buffer.from(signature.subarray(48)).reverse(), 0x2e8);
  return new Uint8Array(report);
}

export interface SyntheticReportBody {
  reportData: Uint8Array;
  mrEnclave?: Uint8Array;
  mrSigner?: Uint8Array;
  debug?: boolean;
  isvProdId?: number;
  isvSvn?: number;
}

export function buildSgxReportBody(options: SyntheticReportBody): Buffer {
  const body = Buffer.alloc(384);
  body[48] = 0x04 | (options.debug === true ? 0x02 : 0); // INIT (bit 0 would be set by hardware too), DEBUG
  body.set(options.mrEnclave ?? Buffer.alloc(32, 0xe1), 64);
  body.set(options.mrSigner ?? Buffer.alloc(32, 0x51), 128);
  body.writeUInt16LE(options.isvProdId ?? 1, 256);
  body.writeUInt16LE(options.isvSvn ?? 1, 258);
  body.set(options.reportData, 320);
  return body;
}

export interface SyntheticQuoteKeys {
  /** P-256 private key the quoting enclave would hold. */
  attestationKey: KeyObject;
  attestationPublicKey: KeyObject;
  /** P-256 private key standing in for the PCK. */
  pckKey: KeyObject;
  /** Inner certification data (type 5): a PEM chain; synthetic quotes carry any text here. */
  pckChainPem?: string;
}

function header(version: number, teeType: number): Buffer {
  const bytes = Buffer.alloc(48);
  bytes.writeUInt16LE(version, 0);
  bytes.writeUInt16LE(2, 2);
  bytes.writeUInt32LE(teeType, 4);
  bytes.set(Buffer.from("939a7233f79c4ca9940a0db3957f0607", "hex"), 12);
  return bytes;
}

/** QE report (binding the attestation key), its PCK signature, auth data, and the PCK chain. */
function qeSection(keys: SyntheticQuoteKeys, attestationPoint: Buffer): Buffer {
  const authData = Buffer.alloc(32, 0x2a);
  const binding = Buffer.concat([createHash("sha256").update(attestationPoint).update(authData).digest(), Buffer.alloc(32)]);
  const qeReport = buildSgxReportBody({ reportData: binding, mrSigner: Buffer.from("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", "hex"), isvProdId: 2, isvSvn: 4 });
  const chain = Buffer.from(keys.pckChainPem ?? "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", "latin1");
  const authSize = Buffer.alloc(2);
  authSize.writeUInt16LE(authData.length);
  const chainHeader = Buffer.alloc(6);
  chainHeader.writeUInt16LE(5, 0);
  chainHeader.writeUInt32LE(chain.length, 2);
  return Buffer.concat([qeReport, signP1363("sha256", qeReport, keys.pckKey), authSize, authData, chainHeader, chain]);
}

function signatureData(signed: Buffer, keys: SyntheticQuoteKeys, wrapInType6: boolean): Buffer {
  const point = rawEcPoint(keys.attestationPublicKey);
  const qe = qeSection(keys, point);
  let certification = qe;
  if (wrapInType6) {
    const type6 = Buffer.alloc(6);
    type6.writeUInt16LE(6, 0);
    type6.writeUInt32LE(qe.length, 2);
    certification = Buffer.concat([type6, qe]);
  }
  const data = Buffer.concat([signP1363("sha256", signed, keys.attestationKey), point, certification]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(data.length);
  return Buffer.concat([length, data]);
}

export interface SyntheticTdxQuote extends SyntheticQuoteKeys {
  reportData: Uint8Array;
  mrTd?: Uint8Array;
  rtmr2?: Uint8Array;
  debug?: boolean;
}

/** A TDX quote, version 4. */
export function buildTdxQuote(options: SyntheticTdxQuote): Uint8Array {
  const body = Buffer.alloc(584);
  body.set([3, 0, 5], 0);
  body[120] = options.debug === true ? 0x01 : 0x00;
  body.set(options.mrTd ?? Buffer.alloc(48, 0x7d), 136);
  body.set(options.rtmr2 ?? Buffer.alloc(48, 0x22), 424);
  body.set(options.reportData, 520);
  const signed = Buffer.concat([header(4, 0x81), body]);
  return new Uint8Array(Buffer.concat([signed, signatureData(signed, options, true)]));
}

/** An SGX quote, version 3. */
export function buildSgxQuote(options: SyntheticQuoteKeys & SyntheticReportBody): Uint8Array {
  const signed = Buffer.concat([header(3, 0), buildSgxReportBody(options)]);
  return new Uint8Array(Buffer.concat([signed, signatureData(signed, options, false)]));
}
