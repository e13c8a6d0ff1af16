/**
 * X.509 certificates and CRLs, read with the DER walker and checked by hand over the signed
 * (TBS) bytes with node:crypto. Doing it by hand keeps the accepted algorithms explicit:
 * ECDSA with SHA-256/384, RSA PKCS#1 v1.5 with SHA-256/384, and RSA-PSS with SHA-256/384 whose
 * MGF1 hash equals the message hash (what AMD's ARK/ASK use). Anything else is refused, not guessed.
 *
 * Guarantee stops here: these functions check one signature, one name link and one validity
 * window at a time. Path building, name constraints, key usage and policy extensions are not
 * evaluated; callers pin the exact chain shape they expect (ARK → ASK → VCEK, root → CA → PCK).
 */
import { constants, createPublicKey, verify, type KeyObject } from "node:crypto";
import { TfaasError } from "../shared/errors.js";
import {
  Tag,
  child,
  children,
  content,
  decodeBitString,
  decodeOid,
  decodeTime,
  decodeUnsignedInteger,
  expectTag,
  parseDer,
  raw,
  type DerNode,
} from "./der.js";

export interface SignatureAlgorithm {
  kind: "ecdsa" | "rsa-pkcs1" | "rsa-pss";
  hash: "sha256" | "sha384";
  /** RSA-PSS only. */
  saltLength?: number;
  /** The AlgorithmIdentifier as encoded, to compare the outer and inner copies. */
  encoded: Uint8Array;
}

/** Anything carrying a signature over `tbs`: a certificate or a CRL. */
export interface Signed {
  tbs: Uint8Array;
  signatureAlgorithm: SignatureAlgorithm;
  signature: Uint8Array;
  /** Issuer Name as encoded. */
  issuer: Uint8Array;
}

export interface Extension {
  critical: boolean;
  /** The extnValue OCTET STRING's content (itself DER for every extension used here). */
  value: Uint8Array;
}

export interface Certificate extends Signed {
  der: Uint8Array;
  serialNumber: bigint;
  subject: Uint8Array;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: ReadonlyMap<string, Extension>;
}

export interface RevocationList extends Signed {
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  revokedSerials: ReadonlySet<bigint>;
}

const Oid = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  ecdsaSha384: "1.2.840.10045.4.3.3",
  rsaSha256: "1.2.840.113549.1.1.11",
  rsaSha384: "1.2.840.113549.1.1.12",
  rsaPss: "1.2.840.113549.1.1.10",
  mgf1: "1.2.840.113549.1.1.8",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  commonName: "2.5.4.3",
} as const;

function unsupported(what: string, value: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot verify certificate: current ${what} is ${value}, which is not supported`);
}

function hashFromOid(oid: string): "sha256" | "sha384" {
  if (oid === Oid.sha256) return "sha256";
  if (oid === Oid.sha384) return "sha384";
  throw unsupported("hash algorithm", oid);
}

function parseAlgorithm(node: DerNode): SignatureAlgorithm {
  const parts = children(expectTag(node, Tag.sequence, "AlgorithmIdentifier"));
  const oid = decodeOid(parts[0] ?? node);
  const encoded = raw(node);
  switch (oid) {
    case Oid.ecdsaSha256:
      return { kind: "ecdsa", hash: "sha256", encoded };
    case Oid.ecdsaSha384:
      return { kind: "ecdsa", hash: "sha384", encoded };
    case Oid.rsaSha256:
      return { kind: "rsa-pkcs1", hash: "sha256", encoded };
    case Oid.rsaSha384:
      return { kind: "rsa-pkcs1", hash: "sha384", encoded };
    case Oid.rsaPss:
      return parsePssParameters(parts[1], encoded);
    default:
      throw unsupported("signature algorithm", oid);
  }
}

/** RSASSA-PSS-params (RFC 4055): every field is explicit here; defaults (SHA-1) are refused. */
function parsePssParameters(params: DerNode | undefined, encoded: Uint8Array): SignatureAlgorithm {
  if (params === undefined) throw unsupported("RSA-PSS parameters", "absent (SHA-1 defaults)");
  let hash: "sha256" | "sha384" | undefined;
  let mgfHash: string | undefined;
  let saltLength: number | undefined;
  for (const field of children(expectTag(params, Tag.sequence, "RSASSA-PSS-params"))) {
    const inner = child(field, 0, "RSASSA-PSS-params field");
    if (field.tag === 0xa0) hash = hashFromOid(decodeOid(child(inner, 0, "hashAlgorithm")));
    else if (field.tag === 0xa1) {
      if (decodeOid(child(inner, 0, "maskGenAlgorithm")) !== Oid.mgf1) throw unsupported("RSA-PSS mask generation", "not MGF1");
      mgfHash = decodeOid(child(child(inner, 1, "MGF1 parameters"), 0, "MGF1 hash"));
    } else if (field.tag === 0xa2) saltLength = Number(decodeUnsignedInteger(inner));
    else if (field.tag === 0xa3 && decodeUnsignedInteger(inner) !== 1n) throw unsupported("RSA-PSS trailer field", "not 1");
  }
  if (hash === undefined || mgfHash === undefined || saltLength === undefined) {
    throw unsupported("RSA-PSS parameters", "incomplete (a default would mean SHA-1)");
  }
  // node:crypto's PSS verification uses the message hash for MGF1 too.
  if (hashFromOid(mgfHash) !== hash) throw unsupported("RSA-PSS MGF1 hash", mgfHash);
  return { kind: "rsa-pss", hash, saltLength, encoded };
}

function commonNameOf(name: DerNode): string {
  for (const set of children(name)) {
    for (const attribute of children(set)) {
      const [type, value] = children(attribute);
      if (type !== undefined && value !== undefined && decodeOid(type) === Oid.commonName) {
        return Buffer.from(content(value)).toString("utf8");
      }
    }
  }
  return "";
}

/** Certificates from DER bytes, or from PEM text (or PEM bytes) holding one or more of them. */
export function readCertificates(input: string | Uint8Array): Certificate[] {
  if (typeof input !== "string" && input[0] === Tag.sequence) return [parseCertificate(input)];
  const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new TfaasError("invalid-request", "Cannot read certificates: current input holds no DER or PEM certificate");
  return blocks.map((block) => parseCertificate(new Uint8Array(Buffer.from(block[1] ?? "", "base64"))));
}

export function parseCertificate(der: Uint8Array): Certificate {
  const certificate = expectTag(parseDer(der, "certificate"), Tag.sequence, "certificate");
  const [tbsNode, algorithmNode, signatureNode] = children(certificate);
  if (tbsNode === undefined || algorithmNode === undefined || signatureNode === undefined) {
    throw new TfaasError("invalid-request", "Cannot parse certificate: current structure lacks TBS, algorithm or signature");
  }
  const fields = children(expectTag(tbsNode, Tag.sequence, "tbsCertificate"));
  let index = fields[0]?.tag === 0xa0 ? 1 : 0;
  const next = (what: string): DerNode => {
    const field = fields[index++];
    if (field === undefined) throw new TfaasError("invalid-request", `Cannot parse certificate: current TBS lacks ${what}`);
    return field;
  };
  const serialNumber = decodeUnsignedInteger(next("serialNumber"));
  const innerAlgorithm = next("signature");
  const issuer = next("issuer");
  const validity = children(next("validity"));
  const subject = next("subject");
  const spki = next("subjectPublicKeyInfo");
  const signatureAlgorithm = parseAlgorithm(algorithmNode);
  if (!Buffer.from(raw(innerAlgorithm)).equals(signatureAlgorithm.encoded)) {
    throw new TfaasError("invalid-request", "Cannot parse certificate: current inner and outer signature algorithms differ");
  }
  const extensions = new Map<string, Extension>();
  for (const field of fields.slice(index)) {
    if (field.tag !== 0xa3) continue;
    for (const extension of children(child(field, 0, "extensions"))) {
      const parts = children(extension);
      const critical = parts.length === 3 && parts[1]?.tag === Tag.boolean && content(parts[1])[0] !== 0;
      const valueNode = parts[parts.length - 1];
      if (parts[0] === undefined || valueNode === undefined) continue;
      extensions.set(decodeOid(parts[0]), { critical, value: content(expectTag(valueNode, Tag.octetString, "extnValue")) });
    }
  }
  const [notBefore, notAfter] = validity;
  if (notBefore === undefined || notAfter === undefined) throw new TfaasError("invalid-request", "Cannot parse certificate: current validity lacks a date");
  return {
    der,
    tbs: raw(tbsNode),
    signatureAlgorithm,
    signature: decodeBitString(signatureNode),
    issuer: raw(issuer),
    serialNumber,
    subject: raw(subject),
    commonName: commonNameOf(subject),
    notBefore: decodeTime(notBefore),
    notAfter: decodeTime(notAfter),
    publicKey: createPublicKey({ key: Buffer.from(raw(spki)), format: "der", type: "spki" }),
    extensions,
  };
}

export function parseRevocationList(der: Uint8Array): RevocationList {
  const list = expectTag(parseDer(der, "CRL"), Tag.sequence, "CRL");
  const [tbsNode, algorithmNode, signatureNode] = children(list);
  if (tbsNode === undefined || algorithmNode === undefined || signatureNode === undefined) {
    throw new TfaasError("invalid-request", "Cannot parse CRL: current structure lacks TBS, algorithm or signature");
  }
  const fields = children(expectTag(tbsNode, Tag.sequence, "tbsCertList"));
  let index = fields[0]?.tag === Tag.integer ? 1 : 0;
  const innerAlgorithm = fields[index++];
  const issuer = fields[index++];
  const thisUpdate = fields[index++];
  if (innerAlgorithm === undefined || issuer === undefined || thisUpdate === undefined) {
    throw new TfaasError("invalid-request", "Cannot parse CRL: current TBS lacks algorithm, issuer or thisUpdate");
  }
  let nextUpdate: Date | undefined;
  const maybeNext = fields[index];
  if (maybeNext !== undefined && (maybeNext.tag === Tag.utcTime || maybeNext.tag === Tag.generalizedTime)) {
    nextUpdate = decodeTime(maybeNext);
    index++;
  }
  const revokedSerials = new Set<bigint>();
  const revoked = fields[index];
  if (revoked !== undefined && revoked.tag === Tag.sequence) {
    for (const entry of children(revoked)) revokedSerials.add(decodeUnsignedInteger(child(entry, 0, "userCertificate")));
  }
  const signatureAlgorithm = parseAlgorithm(algorithmNode);
  if (!Buffer.from(raw(innerAlgorithm)).equals(signatureAlgorithm.encoded)) {
    throw new TfaasError("invalid-request", "Cannot parse CRL: current inner and outer signature algorithms differ");
  }
  return {
    tbs: raw(tbsNode),
    signatureAlgorithm,
    signature: decodeBitString(signatureNode),
    issuer: raw(issuer),
    thisUpdate: decodeTime(thisUpdate),
    nextUpdate,
    revokedSerials,
  };
}

/** Whether `signed`'s signature verifies under `key` with exactly its declared algorithm. */
export function signatureVerifies(signed: Signed, key: KeyObject): boolean {
  const { kind, hash, saltLength } = signed.signatureAlgorithm;
  try {
    if (kind === "ecdsa") return verify(hash, signed.tbs, { key, dsaEncoding: "der" }, signed.signature);
    if (kind === "rsa-pkcs1") return verify(hash, signed.tbs, { key, padding: constants.RSA_PKCS1_PADDING }, signed.signature);
    return verify(hash, signed.tbs, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength ?? 0 }, signed.signature);
  } catch {
    // A key of the wrong type or a malformed signature is a failed verification, not a crash.
    return false;
  }
}

/** The outcome of one link: the issuer's name matches and its key verifies the signature. */
export function issuedBy(signed: Signed, issuer: Certificate): { ok: boolean; detail: string } {
  if (!Buffer.from(signed.issuer).equals(issuer.subject)) {
    return { ok: false, detail: `issuer name does not match the subject of "${issuer.commonName}"` };
  }
  return signatureVerifies(signed, issuer.publicKey)
    ? { ok: true, detail: `signature verifies under "${issuer.commonName}"` }
    : { ok: false, detail: `signature does not verify under "${issuer.commonName}"` };
}

export function validAt(certificate: Certificate, now: Date): { ok: boolean; detail: string } {
  const window = `${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()}`;
  const ok = now >= certificate.notBefore && now <= certificate.notAfter;
  return { ok, detail: `"${certificate.commonName}" ${ok ? "valid" : "NOT valid"} (${window})` };
}

export function sameCertificate(a: Certificate, b: Certificate): boolean {
  return Buffer.from(a.der).equals(b.der);
}
