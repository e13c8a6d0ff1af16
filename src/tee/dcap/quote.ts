/**
 * Intel DCAP quotes: TDX quotes version 4 and 5 and SGX quotes version 3 (Intel's "SGX ECDSA
 * Quote Library API" and "TDX DCAP Quoting Library API" layouts; integers little-endian).
 * Both share the header, the SGX report body (the QE's own report) and the ECDSA-256 signature
 * data; they differ in the body the attestation key signs.
 */
import { ByteReader } from "../bytes.js";

export const TeeTypeCode = { sgx: 0x00000000, tdx: 0x00000081 } as const;
/** ECDSA-256 with P-256: the only attestation key type these quotes use in practice. */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
export const CertificationDataType = { pckCertChain: 5, qeReport: 6 } as const;

const HEADER_LENGTH = 48;
const SGX_REPORT_BODY_LENGTH = 384;
const TD_REPORT_BODY_V4_LENGTH = 584;
const TD_REPORT_BODY_V5_LENGTH = 648;

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  /** QE SVN and PCE SVN in version 3; reserved (zero) from version 4 on. */
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  /** 16 bytes: flags (u64; bit 1 = DEBUG) then XFRM (u64). */
  attributes: Uint8Array;
  debug: boolean;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
  /** The 384 bytes as quoted (what the QE report signature covers). */
  raw: Uint8Array;
}

export interface TdReportBody {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  /** 8 bytes; bit 0 of byte 0 = DEBUG (the host VMM can read and write TD memory). */
  tdAttributes: Uint8Array;
  debug: boolean;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TDX 1.5 bodies (quote v5, body type 3) only. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

export interface QuoteSignatureData {
  /** r ‖ s, 32 bytes each, big-endian (ieee-p1363). */
  signature: Uint8Array;
  /** Uncompressed P-256 point without the 0x04 prefix: x ‖ y. */
  attestationKey: Uint8Array;
  qeReport: SgxReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Innermost certification data type (5 = PCK certificate chain as PEM). */
  certificationDataType: number;
  certificationData: Uint8Array;
}

interface QuoteBase {
  header: QuoteHeader;
  /** Bytes after the signature data (quote buffers are often padded); covered by nothing, ignored. */
  trailingLength: number;
  /** The bytes the attestation key signs (header, body descriptor in v5, body). */
  signedBytes: Uint8Array;
  signatureData: QuoteSignatureData;
}

export interface TdxQuote extends QuoteBase {
  kind: "tdx";
  /** 2 = TDX 1.0 body, 3 = TDX 1.5 body (v5 quotes); v4 quotes are always 2. */
  bodyType: number;
  body: TdReportBody;
}

export interface SgxQuote extends QuoteBase {
  kind: "sgx";
  body: SgxReportBody;
}

export type DcapQuote = TdxQuote | SgxQuote;

function parseHeader(reader: ByteReader): QuoteHeader {
  const header = {
    version: reader.u16("header.version", 0),
    attestationKeyType: reader.u16("header.attestation_key_type", 2),
    teeType: reader.u32("header.tee_type", 4),
    qeSvn: reader.u16("header.qe_svn", 8),
    pceSvn: reader.u16("header.pce_svn", 10),
    qeVendorId: reader.slice("header.qe_vendor_id", 12, 16),
    userData: reader.slice("header.user_data", 28, 20),
  };
  if (header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw reader.fail("header.attestation_key_type", 2, `is unsupported: current value is ${header.attestationKeyType}, expected 2 (ECDSA P-256)`);
  }
  return header;
}

export function parseSgxReportBody(reader: ByteReader, offset: number, prefix: string): SgxReportBody {
  const raw = reader.slice(prefix, offset, SGX_REPORT_BODY_LENGTH);
  const attributes = reader.slice(`${prefix}.attributes`, offset + 48, 16);
  return {
    cpuSvn: reader.slice(`${prefix}.cpu_svn`, offset, 16),
    miscSelect: reader.u32(`${prefix}.misc_select`, offset + 16),
    attributes,
    debug: ((attributes[0] as number) & 0x02) !== 0,
    mrEnclave: reader.slice(`${prefix}.mr_enclave`, offset + 64, 32),
    mrSigner: reader.slice(`${prefix}.mr_signer`, offset + 128, 32),
    isvProdId: reader.u16(`${prefix}.isv_prod_id`, offset + 256),
    isvSvn: reader.u16(`${prefix}.isv_svn`, offset + 258),
    reportData: reader.slice(`${prefix}.report_data`, offset + 320, 64),
    raw,
  };
}

function parseTdReportBody(reader: ByteReader, offset: number, length: number): TdReportBody {
  const field = (name: string, at: number, size: number): Uint8Array => reader.slice(`td_body.${name}`, offset + at, size);
  const tdAttributes = field("td_attributes", 120, 8);
  const body: TdReportBody = {
    teeTcbSvn: field("tee_tcb_svn", 0, 16),
    mrSeam: field("mr_seam", 16, 48),
    mrSignerSeam: field("mr_signer_seam", 64, 48),
    seamAttributes: field("seam_attributes", 112, 8),
    tdAttributes,
    debug: ((tdAttributes[0] as number) & 0x01) !== 0,
    xfam: field("xfam", 128, 8),
    mrTd: field("mr_td", 136, 48),
    mrConfigId: field("mr_config_id", 184, 48),
    mrOwner: field("mr_owner", 232, 48),
    mrOwnerConfig: field("mr_owner_config", 280, 48),
    rtmrs: [field("rtmr0", 328, 48), field("rtmr1", 376, 48), field("rtmr2", 424, 48), field("rtmr3", 472, 48)],
    reportData: field("report_data", 520, 64),
  };
  if (length === TD_REPORT_BODY_V5_LENGTH) {
    body.teeTcbSvn2 = field("tee_tcb_svn_2", 584, 16);
    body.mrServiceTd = field("mr_service_td", 600, 48);
  }
  return body;
}

/** The QE report certification data: QE report, its signature, QE auth data, then the inner certification data. */
function parseQeReportCertificationData(reader: ByteReader, offset: number, end: number, signature: Uint8Array, attestationKey: Uint8Array): QuoteSignatureData {
  const qeReport = parseSgxReportBody(reader, offset, "qe_report");
  const qeReportSignature = reader.slice("qe_report_signature", offset + 384, 64);
  const authSize = reader.u16("qe_auth_data.size", offset + 448);
  const qeAuthData = reader.slice("qe_auth_data", offset + 450, authSize);
  const typeOffset = offset + 450 + authSize;
  const certificationDataType = reader.u16("qe_certification_data.type", typeOffset);
  const size = reader.u32("qe_certification_data.size", typeOffset + 2);
  const certificationData = reader.slice("qe_certification_data", typeOffset + 6, size);
  if (typeOffset + 6 + size !== end) {
    throw reader.fail("qe_certification_data", typeOffset + 6 + size, `does not end the signature data: current end is 0x${end.toString(16)}`);
  }
  return { signature, attestationKey, qeReport, qeReportSignature, qeAuthData, certificationDataType, certificationData };
}

function parseSignatureData(reader: ByteReader, offset: number, version: number): QuoteSignatureData {
  const length = reader.u32("signature_data.length", offset);
  const start = offset + 4;
  const end = start + length;
  reader.require("signature_data", start, length);
  const signature = reader.slice("signature_data.signature", start, 64);
  const attestationKey = reader.slice("signature_data.attestation_key", start + 64, 64);
  if (version === 3) return parseQeReportCertificationData(reader, start + 128, end, signature, attestationKey);
  const type = reader.u16("certification_data.type", start + 128);
  if (type !== CertificationDataType.qeReport) {
    throw reader.fail("certification_data.type", start + 128, `is unsupported: current value is ${type}, expected 6 (QE report certification data)`);
  }
  const size = reader.u32("certification_data.size", start + 130);
  reader.require("certification_data", start + 134, size);
  if (start + 134 + size !== end) throw reader.fail("certification_data.size", start + 130, `does not match the signature data: current value is ${size}`);
  return parseQeReportCertificationData(reader, start + 134, end, signature, attestationKey);
}

function trailing(reader: ByteReader, bodyEnd: number): number {
  return reader.bytes.length - (bodyEnd + 4 + reader.u32("signature_data.length", bodyEnd));
}

/** Parses an SGX (v3) or TDX (v4, v5) quote; anything else is `invalid-request` naming field and offset. */
export function parseDcapQuote(bytes: Uint8Array): DcapQuote {
  const reader = new ByteReader(bytes, "DCAP quote");
  const header = parseHeader(reader);
  if (header.version === 3) {
    if (header.teeType !== TeeTypeCode.sgx) throw reader.fail("header.tee_type", 4, `does not fit version 3: current value is 0x${header.teeType.toString(16)}`);
    const bodyEnd = HEADER_LENGTH + SGX_REPORT_BODY_LENGTH;
    const body = parseSgxReportBody(reader, HEADER_LENGTH, "isv_enclave_report");
    const signatureData = parseSignatureData(reader, bodyEnd, 3);
    return { kind: "sgx", header, trailingLength: trailing(reader, bodyEnd), body, signedBytes: reader.slice("signed", 0, bodyEnd), signatureData };
  }
  if (header.version !== 4 && header.version !== 5) throw reader.fail("header.version", 0, `is unsupported: current value is ${header.version}, expected 3, 4 or 5`);
  if (header.teeType !== TeeTypeCode.tdx) {
    throw reader.fail("header.tee_type", 4, `is unsupported: current value is 0x${header.teeType.toString(16)}, expected 0x81 (TDX)`);
  }
  let bodyType = 2;
  let bodyOffset = HEADER_LENGTH;
  let bodyLength = TD_REPORT_BODY_V4_LENGTH;
  if (header.version === 5) {
    bodyType = reader.u16("body.type", HEADER_LENGTH);
    bodyLength = reader.u32("body.size", HEADER_LENGTH + 2);
    bodyOffset = HEADER_LENGTH + 6;
    const expected = bodyType === 2 ? TD_REPORT_BODY_V4_LENGTH : bodyType === 3 ? TD_REPORT_BODY_V5_LENGTH : undefined;
    if (expected === undefined) throw reader.fail("body.type", HEADER_LENGTH, `is unsupported: current value is ${bodyType}, expected 2 or 3`);
    if (bodyLength !== expected) throw reader.fail("body.size", HEADER_LENGTH + 2, `does not fit body type ${bodyType}: current value is ${bodyLength}, expected ${expected}`);
  }
  reader.require("td_body", bodyOffset, bodyLength);
  const body = parseTdReportBody(reader, bodyOffset, bodyLength);
  const bodyEnd = bodyOffset + bodyLength;
  const signatureData = parseSignatureData(reader, bodyEnd, header.version);
  return { kind: "tdx", header, trailingLength: trailing(reader, bodyEnd), bodyType, body, signedBytes: reader.slice("signed", 0, bodyEnd), signatureData };
}
