/**
 * The SEV-SNP attestation report (AMD SEV-SNP ABI specification, "ATTESTATION_REPORT"
 * structure, versions 2 and later: 1184 bytes, all integers little-endian).
 */
import { ByteReader } from "../bytes.js";

export const SEV_SNP_REPORT_LENGTH = 0x4a0;
/** The signature covers bytes 0x000–0x29F. */
export const SEV_SNP_SIGNED_LENGTH = 0x2a0;
/** ECDSA P-384 with SHA-384: the only signature algorithm the ABI defines. */
export const SEV_SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384 = 1;

/**
 * A TCB_VERSION in the Milan/Genoa layout (byte 0 boot loader, 1 TEE, 6 SNP firmware, 7
 * microcode). Turin reorders it (adds an FMC byte); `raw` keeps the exact value either way.
 */
export interface SevSnpTcb {
  raw: bigint;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

export interface SevSnpReport {
  version: number;
  guestSvn: number;
  /** Guest policy; bit 19 allows debugging (the host can read and write guest memory). */
  policy: bigint;
  debugAllowed: boolean;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: SevSnpTcb;
  platformInfo: bigint;
  /** Bits of the word at 0x48: author key enabled, chip id masked, which key signed (0 VCEK, 1 VLEK). */
  authorKeyEnabled: boolean;
  maskChipId: boolean;
  signingKey: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: SevSnpTcb;
  chipId: Uint8Array;
  committedTcb: SevSnpTcb;
  currentVersion: { major: number; minor: number; build: number };
  committedVersion: { major: number; minor: number; build: number };
  launchTcb: SevSnpTcb;
  /** Big-endian, as node:crypto's ieee-p1363 encoding wants (the report stores them little-endian, 72 bytes each). */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
  /** Bytes 0x000–0x29F, what the signature covers. */
  signedBytes: Uint8Array;
}

const FORMAT = "SEV-SNP attestation report";

function tcb(reader: ByteReader, field: string, offset: number): SevSnpTcb {
  const value = reader.u64(field, offset);
  const byte = (index: number): number => Number((value >> BigInt(index * 8)) & 0xffn);
  return { raw: value, bootloader: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7) };
}

/** A little-endian 72-byte P-384 scalar as 48 big-endian bytes; its upper 24 bytes must be zero. */
function scalar(reader: ByteReader, field: string, offset: number): Uint8Array {
  const littleEndian = reader.slice(field, offset, 72);
  if (littleEndian.subarray(48).some((byte) => byte !== 0)) throw reader.fail(field, offset + 48, "has non-zero bytes beyond a P-384 scalar");
  return littleEndian.subarray(0, 48).reverse();
}

export function parseSevSnpReport(bytes: Uint8Array): SevSnpReport {
  const reader = new ByteReader(bytes, FORMAT);
  const version = reader.u32("version", 0x00);
  if (version < 2) throw reader.fail("version", 0x00, `is unsupported: current value is ${version}, expected 2 or later`);
  reader.require("report", 0, SEV_SNP_REPORT_LENGTH);
  if (bytes.length !== SEV_SNP_REPORT_LENGTH) {
    throw reader.fail("report", SEV_SNP_REPORT_LENGTH, `has trailing bytes: current length is ${bytes.length}, expected ${SEV_SNP_REPORT_LENGTH}`);
  }
  // The bytes after the signature are covered by nothing; requiring them to be zero (as the ABI
  // reserves them) means no byte of an accepted report can be changed unnoticed.
  const unsigned = reader.slice("reserved_after_signature", 0x330, SEV_SNP_REPORT_LENGTH - 0x330);
  const stray = unsigned.findIndex((byte) => byte !== 0);
  if (stray !== -1) throw reader.fail("reserved_after_signature", 0x330 + stray, "is not zero");
  const policy = reader.u64("policy", 0x08);
  const keyInfo = reader.u32("key_info", 0x48);
  const version3 = (field: string, offset: number): { major: number; minor: number; build: number } => ({
    build: reader.u8(`${field}_build`, offset),
    minor: reader.u8(`${field}_minor`, offset + 1),
    major: reader.u8(`${field}_major`, offset + 2),
  });
  return {
    version,
    guestSvn: reader.u32("guest_svn", 0x04),
    policy,
    debugAllowed: (policy & (1n << 19n)) !== 0n,
    familyId: reader.slice("family_id", 0x10, 16),
    imageId: reader.slice("image_id", 0x20, 16),
    vmpl: reader.u32("vmpl", 0x30),
    signatureAlgo: reader.u32("signature_algo", 0x34),
    currentTcb: tcb(reader, "current_tcb", 0x38),
    platformInfo: reader.u64("platform_info", 0x40),
    authorKeyEnabled: (keyInfo & 1) !== 0,
    maskChipId: (keyInfo & 2) !== 0,
    signingKey: (keyInfo >> 2) & 0b111,
    reportData: reader.slice("report_data", 0x50, 64),
    measurement: reader.slice("measurement", 0x90, 48),
    hostData: reader.slice("host_data", 0xc0, 32),
    idKeyDigest: reader.slice("id_key_digest", 0xe0, 48),
    authorKeyDigest: reader.slice("author_key_digest", 0x110, 48),
    reportId: reader.slice("report_id", 0x140, 32),
    reportIdMa: reader.slice("report_id_ma", 0x160, 32),
    reportedTcb: tcb(reader, "reported_tcb", 0x180),
    chipId: reader.slice("chip_id", 0x1a0, 64),
    committedTcb: tcb(reader, "committed_tcb", 0x1e0),
    currentVersion: version3("current", 0x1e8),
    committedVersion: version3("committed", 0x1ec),
    launchTcb: tcb(reader, "launch_tcb", 0x1f0),
    signatureR: scalar(reader, "signature_r", 0x2a0),
    signatureS: scalar(reader, "signature_s", 0x2e8),
    signedBytes: reader.slice("signed_bytes", 0, SEV_SNP_SIGNED_LENGTH),
  };
}
