/**
 * Offline verification of DCAP quotes (TDX v4/v5, SGX v3) against operator-supplied Intel
 * collateral: the PCK chain up to the pinned Intel SGX Root CA, the QE report signed by the PCK
 * key, the QE report binding the attestation key (SHA-256(key ‖ QE auth data)), the quote signed
 * by the attestation key, CRLs, QE identity, and the TCB status from TCB info — each collateral
 * signature checked through the TCB signing chain and each validity window at `now`.
 *
 * Guarantee stops here: collateral that is not supplied is reported as an unverified (failed)
 * check, never skipped. TDX module identities and TD-relocation (MIGTD) are not evaluated; the
 * root CA you pass is the trust anchor (compare it with Intel's published one out of band).
 */
import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { CheckList, type Check } from "../check.js";
import { toHex } from "../bytes.js";
import { issuedBy, parseRevocationList, readCertificates, sameCertificate, validAt, type Certificate, type RevocationList } from "../x509.js";
import type { CertificateInput } from "../sev-snp/verify.js";
import { collateralCurrent, collateralSignatureVerifies, parseQeIdentity, parseTcbInfo, type SignedCollateral } from "./collateral.js";
import { pckTcbOf } from "./pck.js";
import { CertificationDataType, parseDcapQuote, type DcapQuote } from "./quote.js";
import { evaluateQeIdentity, evaluateTcb, platformMatches, type TcbEvaluation } from "./tcb.js";

export interface DcapCollateral {
  /** Intel SGX Root CA (PEM or DER): the trust anchor. */
  rootCa: CertificateInput;
  /** PCS `tcb` response body (JSON text, TCB info v3) for the platform's FMSPC. */
  tcbInfo?: string;
  /** PCS `qe/identity` response body (JSON text, enclave identity v2). */
  qeIdentity?: string;
  /** PCS `TCB-Info-Issuer-Chain` header: the Intel SGX TCB Signing certificate (and the root), PEM. */
  tcbSigningChain?: CertificateInput;
  /** CRL of the root CA (DER or PEM). */
  rootCrl?: string | Uint8Array;
  /** CRL of the PCK's issuing CA, Platform or Processor (DER or PEM). */
  pckCrl?: string | Uint8Array;
}

export interface DcapVerification {
  quote: DcapQuote | undefined;
  tcb: TcbEvaluation | undefined;
  checks: Check[];
}

/** An uncompressed P-256 point given as x ‖ y (64 bytes) as a node:crypto key. */
export function p256Key(point: Uint8Array): KeyObject {
  const coordinate = (from: number): string => Buffer.from(point.subarray(from, from + 32)).toString("base64url");
  return createPublicKey({ key: { kty: "EC", crv: "P-256", x: coordinate(0), y: coordinate(32) }, format: "jwk" });
}

function p1363Verifies(data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  try {
    return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

/** The quote's own signatures with a known PCK key: QE report by the PCK, binding, quote by the attestation key. */
export function quoteSignaturesVerify(quote: DcapQuote, pckKey: KeyObject): { qeReport: boolean; binding: boolean; quote: boolean } {
  const data = quote.signatureData;
  const expected = createHash("sha256").update(data.attestationKey).update(data.qeAuthData).digest();
  const reportData = data.qeReport.reportData;
  return {
    qeReport: p1363Verifies(data.qeReport.raw, pckKey, data.qeReportSignature),
    binding: expected.equals(reportData.subarray(0, 32)) && reportData.subarray(32).every((byte) => byte === 0),
    quote: (() => {
      try {
        return p1363Verifies(quote.signedBytes, p256Key(data.attestationKey), data.signature);
      } catch {
        return false;
      }
    })(),
  };
}

export function readCrl(input: string | Uint8Array): RevocationList {
  if (typeof input !== "string" && input[0] === 0x30) return parseRevocationList(input);
  const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
  const match = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/.exec(text);
  if (match === null) throw new Error("CRL is neither DER nor PEM");
  return parseRevocationList(new Uint8Array(Buffer.from(match[1] as string, "base64")));
}

export function crlCheck(crl: RevocationList, issuer: Certificate, subject: Certificate, now: Date): { ok: boolean; detail: string } {
  const link = issuedBy(crl, issuer);
  if (!link.ok) return { ok: false, detail: `CRL ${link.detail}` };
  const current = now >= crl.thisUpdate && (crl.nextUpdate === undefined || now <= crl.nextUpdate);
  const window = `${crl.thisUpdate.toISOString()} to ${crl.nextUpdate?.toISOString() ?? "(open)"}`;
  if (!current) return { ok: false, detail: `CRL of "${issuer.commonName}" is not current: ${window}; now ${now.toISOString()}` };
  const revoked = crl.revokedSerials.has(subject.serialNumber);
  return {
    ok: !revoked,
    detail: `"${subject.commonName}" serial ${subject.serialNumber.toString(16)} ${revoked ? "is REVOKED" : "is not revoked"} (CRL of "${issuer.commonName}", ${window})`,
  };
}

export function verifyDcapQuote(bytes: Uint8Array, kind: "tdx" | "sgx", collateral: DcapCollateral | undefined, options: { now?: Date } = {}): DcapVerification {
  const checks = new CheckList();
  const now = options.now ?? new Date();
  let quote: DcapQuote | undefined;
  checks.run(`${kind}.parse`, () => {
    quote = parseDcapQuote(bytes);
    if (quote.kind !== kind) return { ok: false, detail: `quote is ${quote.kind}, expected ${kind}` };
    return { ok: true, detail: `quote version ${quote.header.version}, ${bytes.length} bytes${quote.trailingLength > 0 ? ` (${quote.trailingLength} unsigned trailing bytes ignored)` : ""}` };
  });
  if (quote === undefined || quote.kind !== kind) return { quote: undefined, tcb: undefined, checks: checks.checks };
  const parsed = quote;
  const data = parsed.signatureData;
  if (collateral === undefined) {
    checks.add(`${kind}.collateral`, false, "no Intel root CA supplied: the quote's certificate chain cannot be verified");
    return { quote, tcb: undefined, checks: checks.checks };
  }

  let root: Certificate | undefined;
  let ca: Certificate | undefined;
  let pck: Certificate | undefined;
  checks.run(`${kind}.pck-chain`, () => {
    if (data.certificationDataType !== CertificationDataType.pckCertChain) {
      return { ok: false, detail: `certification data type ${data.certificationDataType} is not 5 (PCK chain); fetching PCK certificates is not supported` };
    }
    const chain = readCertificates(data.certificationData);
    const trusted = readCertificates(collateral.rootCa)[0] as Certificate;
    const [leaf, intermediate, top] = chain;
    if (leaf === undefined || intermediate === undefined) return { ok: false, detail: `chain has ${chain.length} certificate(s), expected PCK, CA and root` };
    if (top !== undefined && !sameCertificate(top, trusted)) return { ok: false, detail: "the chain's root is not the pinned Intel SGX Root CA" };
    const results = [issuedBy(trusted, trusted), issuedBy(intermediate, trusted), issuedBy(leaf, intermediate)];
    if (results.every((result) => result.ok)) [root, ca, pck] = [trusted, intermediate, leaf];
    return { ok: results.every((result) => result.ok), detail: `${leaf.commonName} ← ${intermediate.commonName} ← ${trusted.commonName}: ${results.map((result) => result.detail).join("; ")}` };
  });
  checks.run(`${kind}.certificates-valid`, () => {
    if (root === undefined || ca === undefined || pck === undefined) return { ok: false, detail: "chain not verified" };
    const results = [root, ca, pck].map((certificate) => validAt(certificate, now));
    return { ok: results.every((result) => result.ok), detail: `${results.map((result) => result.detail).join("; ")}; now ${now.toISOString()}` };
  });
  const signatures = pck === undefined ? undefined : quoteSignaturesVerify(parsed, pck.publicKey);
  checks.add(`${kind}.qe-report-signature`, signatures?.qeReport ?? false, signatures === undefined ? "no verified PCK certificate" : signatures.qeReport ? "QE report verifies under the PCK key" : "QE report signature does not verify under the PCK key");
  checks.add(`${kind}.qe-report-binding`, signatures?.binding ?? false, signatures === undefined ? "no verified QE report" : signatures.binding ? "QE report data = SHA-256(attestation key ‖ QE auth data)" : "QE report data does not bind the attestation key");
  checks.add(`${kind}.quote-signature`, signatures?.quote ?? false, signatures === undefined ? "no verified attestation key" : signatures.quote ? "quote header and body verify under the attestation key" : "quote signature does not verify under the attestation key");

  checks.run(`${kind}.root-crl`, () => {
    if (collateral.rootCrl === undefined) return { ok: false, detail: "no root CA CRL supplied: revocation of the PCK CA not checked" };
    if (root === undefined || ca === undefined) return { ok: false, detail: "chain not verified" };
    return crlCheck(readCrl(collateral.rootCrl), root, ca, now);
  });
  checks.run(`${kind}.pck-crl`, () => {
    if (collateral.pckCrl === undefined) return { ok: false, detail: "no PCK CRL supplied: revocation of the PCK certificate not checked" };
    if (ca === undefined || pck === undefined) return { ok: false, detail: "chain not verified" };
    return crlCheck(readCrl(collateral.pckCrl), ca, pck, now);
  });

  // Collateral: signed by the Intel SGX TCB Signing certificate, itself issued by the pinned root.
  let signingKey: KeyObject | undefined;
  checks.run(`${kind}.tcb-signing-chain`, () => {
    if (collateral.tcbSigningChain === undefined) return { ok: false, detail: "no TCB signing chain supplied: TCB info and QE identity signatures cannot be verified" };
    const trusted = readCertificates(collateral.rootCa)[0] as Certificate;
    const signer = readCertificates(collateral.tcbSigningChain).find((certificate) => certificate.commonName === "Intel SGX TCB Signing");
    if (signer === undefined) return { ok: false, detail: "no \"Intel SGX TCB Signing\" certificate in the supplied chain" };
    const link = issuedBy(signer, trusted);
    const validity = validAt(signer, now);
    if (link.ok && validity.ok) signingKey = signer.publicKey;
    return { ok: link.ok && validity.ok, detail: `${link.detail}; ${validity.detail}` };
  });
  const collateralChecks = <T extends { issueDate: string; nextUpdate: string }>(name: string, text: string | undefined, parse: (text: string) => SignedCollateral<T>): SignedCollateral<T> | undefined => {
    let parsedCollateral: SignedCollateral<T> | undefined;
    checks.run(`${kind}.${name}-signature`, () => {
      if (text === undefined) return { ok: false, detail: `no ${name} collateral supplied` };
      parsedCollateral = parse(text);
      if (signingKey === undefined) return { ok: false, detail: "not verified: no verified TCB signing certificate" };
      const ok = collateralSignatureVerifies(parsedCollateral, signingKey);
      return { ok, detail: ok ? `${name} signature verifies under Intel SGX TCB Signing` : `${name} signature does not verify` };
    });
    if (parsedCollateral !== undefined) {
      const body = parsedCollateral.body;
      checks.run(`${kind}.${name}-current`, () => collateralCurrent(body, now));
    }
    return parsedCollateral;
  };
  const tcbInfo = collateralChecks("tcb-info", collateral.tcbInfo, parseTcbInfo);
  const qeIdentity = collateralChecks("qe-identity", collateral.qeIdentity, parseQeIdentity);

  checks.run(`${kind}.qe-identity`, () => {
    if (qeIdentity === undefined) return { ok: false, detail: "no QE identity collateral: the quoting enclave's identity is not checked" };
    const expectedId = kind === "tdx" ? "TD_QE" : "QE";
    if (qeIdentity.body.id !== expectedId) return { ok: false, detail: `QE identity is for ${qeIdentity.body.id}, expected ${expectedId}` };
    return evaluateQeIdentity(qeIdentity.body, data.qeReport);
  });

  let tcb: TcbEvaluation | undefined;
  checks.run(`${kind}.tcb-level`, () => {
    if (tcbInfo === undefined) return { ok: false, detail: "no TCB info collateral: TCB status not evaluated" };
    if (pck === undefined) return { ok: false, detail: "no verified PCK certificate" };
    const info = tcbInfo.body;
    if (info.id !== (kind === "tdx" ? "TDX" : "SGX")) return { ok: false, detail: `TCB info is for ${info.id}` };
    const pckTcb = pckTcbOf(pck);
    const platform = platformMatches(info, pckTcb);
    if (!platform.ok) return platform;
    tcb = evaluateTcb(info, pckTcb, parsed.kind === "tdx" ? parsed.body.teeTcbSvn : undefined);
    const found = tcb.status !== "NotSupported";
    return { ok: found, detail: `${platform.detail}; status ${tcb.status}${tcb.tcbDate === undefined ? "" : ` (TCB date ${tcb.tcbDate})`}` };
  });
  if (parsed.kind === "tdx" && tcbInfo?.body.tdxModule !== undefined) {
    const module = tcbInfo.body.tdxModule;
    checks.run("tdx.module-identity", () => {
      const signerOk = toHex(parsed.body.mrSignerSeam) === module.mrsigner.toLowerCase();
      const mask = Buffer.from(module.attributesMask, "hex");
      const expected = Buffer.from(module.attributes, "hex");
      const attributesOk = mask.length === 8 && expected.length === 8 && mask.every((byte, index) => ((parsed.body.seamAttributes[index] as number) & byte) === ((expected[index] as number) & byte));
      return { ok: signerOk && attributesOk, detail: `MRSIGNERSEAM ${signerOk ? "matches" : "differs from"} the TDX module's; SEAM attributes ${attributesOk ? "match" : "differ"} under mask` };
    });
  }
  return { quote, tcb, checks: checks.checks };
}
