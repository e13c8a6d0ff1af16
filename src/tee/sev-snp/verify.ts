/**
 * Offline verification of a SEV-SNP report: the report's ECDSA P-384 signature by the VCEK, the
 * VCEK's certificate by the ASK, the ASK's by the ARK, the ARK's by itself (all RSA-PSS SHA-384),
 * validity windows at `now`, and that the VCEK was issued for this chip (hwID = chip_id) at the
 * TCB the report claims (the VCEK's SPL extensions = reported_tcb).
 *
 * Guarantee stops here: the ARK you pass is the root of trust — compare it with AMD's published
 * ARK out of band. Revocation (AMD's CRL for the ASK) is not checked. VLEK-signed reports
 * (signing_key = 1) are rejected, not verified. The TCB fields decode the Milan/Genoa layout.
 */
import { verify, type KeyObject } from "node:crypto";
import { CheckList, type Check } from "../check.js";
import { decodeUnsignedInteger, parseDer } from "../der.js";
import { issuedBy, readCertificates, validAt, type Certificate } from "../x509.js";
import { SEV_SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384, parseSevSnpReport, type SevSnpReport, type SevSnpTcb } from "./report.js";

/** Certificates as DER bytes or PEM text. */
export type CertificateInput = string | Uint8Array;

export interface SevSnpCollateral {
  /** AMD Root Key certificate for the product line (the trust anchor). */
  ark: CertificateInput;
  /** AMD SEV Key certificate, signed by the ARK. AMD ships both as one PEM (ASK first); pass it to both. */
  ask: CertificateInput;
  /** The chip's VCEK from AMD's KDS; optional when the evidence carries it. */
  vcek?: CertificateInput;
}

export interface SevSnpVerification {
  report: SevSnpReport | undefined;
  checks: Check[];
}

const AmdOid = {
  bootloader: "1.3.6.1.4.1.3704.1.3.1",
  tee: "1.3.6.1.4.1.3704.1.3.2",
  snp: "1.3.6.1.4.1.3704.1.3.3",
  microcode: "1.3.6.1.4.1.3704.1.3.8",
  hwId: "1.3.6.1.4.1.3704.1.4",
} as const;

/** ARK and ASK from the operator's inputs (often one PEM passed twice), each parsed once. */
function rootsOf(collateral: SevSnpCollateral): { ark: Certificate | undefined; ask: Certificate | undefined } {
  const arkCandidates = readCertificates(collateral.ark);
  const askCandidates = collateral.ask === collateral.ark ? arkCandidates : readCertificates(collateral.ask);
  const named = (list: Certificate[], prefix: string): Certificate | undefined =>
    list.find((certificate) => certificate.commonName.startsWith(prefix) && certificate.commonName !== "SEV-VCEK") ?? (list.length === 1 ? list[0] : undefined);
  return { ark: named(arkCandidates, "ARK-"), ask: named(askCandidates, "SEV-") };
}

/** Verifies the report signature alone with a known VCEK public key (used by the full check and by tests). */
export function sevSnpSignatureVerifies(report: SevSnpReport, vcekKey: KeyObject): boolean {
  const signature = Buffer.concat([report.signatureR, report.signatureS]);
  try {
    return verify("sha384", report.signedBytes, { key: vcekKey, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false;
  }
}

function extensionInteger(certificate: Certificate, oid: string): number | undefined {
  const extension = certificate.extensions.get(oid);
  return extension === undefined ? undefined : Number(decodeUnsignedInteger(parseDer(extension.value, "VCEK SPL extension")));
}

function vcekTcbMatches(vcek: Certificate, tcb: SevSnpTcb): { ok: boolean; detail: string } {
  const expected = { bootloader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode };
  const actual = {
    bootloader: extensionInteger(vcek, AmdOid.bootloader),
    tee: extensionInteger(vcek, AmdOid.tee),
    snp: extensionInteger(vcek, AmdOid.snp),
    microcode: extensionInteger(vcek, AmdOid.microcode),
  };
  const ok = (Object.keys(expected) as Array<keyof typeof expected>).every((key) => actual[key] === expected[key]);
  return { ok, detail: `VCEK SPLs ${JSON.stringify(actual)}; report reported_tcb ${JSON.stringify(expected)}` };
}

export function verifySevSnpReport(
  bytes: Uint8Array,
  collateral: SevSnpCollateral | undefined,
  options: { evidenceCertificates?: readonly Uint8Array[]; now?: Date } = {},
): SevSnpVerification {
  const checks = new CheckList();
  const now = options.now ?? new Date();
  let report: SevSnpReport | undefined;
  checks.run("sev-snp.parse", () => {
    report = parseSevSnpReport(bytes);
    return { ok: true, detail: `version ${report.version}, ${bytes.length} bytes` };
  });
  if (report === undefined) return { report, checks: checks.checks };
  const parsed = report;
  checks.add(
    "sev-snp.signature-algorithm",
    parsed.signatureAlgo === SEV_SNP_SIGNATURE_ALGO_ECDSA_P384_SHA384 && parsed.signingKey === 0,
    `signature_algo ${parsed.signatureAlgo} (1 = ECDSA P-384/SHA-384), signing_key ${parsed.signingKey} (0 = VCEK; VLEK is not supported)`,
  );
  if (collateral === undefined) {
    checks.add("sev-snp.collateral", false, "no ARK/ASK certificates supplied: the report's signature chain cannot be verified");
    return { report, checks: checks.checks };
  }
  let ark: Certificate | undefined;
  let ask: Certificate | undefined;
  checks.run("sev-snp.ark-self-signed", () => {
    ({ ark, ask } = rootsOf(collateral));
    return ark === undefined ? { ok: false, detail: "no ARK certificate (CN ARK-…) supplied" } : issuedBy(ark, ark);
  });
  checks.run("sev-snp.ask-signed-by-ark", () => {
    if (ask === undefined) return { ok: false, detail: "no ASK certificate (CN SEV-…) supplied" };
    if (ark === undefined) return { ok: false, detail: "no usable ARK" };
    return issuedBy(ask, ark);
  });
  // The VCEK may come from anywhere (the operator or the evidence): it is trusted only through the ASK.
  const candidates: CertificateInput[] = [...(collateral.vcek === undefined ? [] : [collateral.vcek]), ...(options.evidenceCertificates ?? [])];
  let vcek: Certificate | undefined;
  checks.run("sev-snp.vcek-signed-by-ask", () => {
    if (ask === undefined) return { ok: false, detail: "no usable ASK" };
    const issuer = ask;
    const all = candidates.flatMap((input) => readCertificates(input)).filter((certificate) => certificate.commonName === "SEV-VCEK");
    if (all.length === 0) return { ok: false, detail: "no VCEK certificate supplied (by the operator or in the evidence)" };
    for (const candidate of all) {
      const link = issuedBy(candidate, issuer);
      if (link.ok) {
        vcek = candidate;
        return link;
      }
    }
    return { ok: false, detail: `none of ${all.length} VCEK certificate(s) verifies under the ASK` };
  });
  checks.run("sev-snp.certificates-valid", () => {
    const present = [ark, ask, vcek].filter((certificate): certificate is Certificate => certificate !== undefined);
    if (present.length < 3) return { ok: false, detail: "chain incomplete" };
    const results = present.map((certificate) => validAt(certificate, now));
    return { ok: results.every((result) => result.ok), detail: `${results.map((result) => result.detail).join("; ")}; now ${now.toISOString()}` };
  });
  checks.run("sev-snp.vcek-chip-id", () => {
    if (vcek === undefined) return { ok: false, detail: "no verified VCEK" };
    if (parsed.maskChipId) return { ok: false, detail: "chip_id is masked in this report; it cannot be matched to the VCEK" };
    const hwId = vcek.extensions.get(AmdOid.hwId)?.value;
    const ok = hwId !== undefined && Buffer.from(hwId).equals(parsed.chipId);
    return { ok, detail: ok ? "VCEK hwID equals the report's chip_id" : "VCEK hwID differs from the report's chip_id" };
  });
  checks.run("sev-snp.vcek-tcb", () => (vcek === undefined ? { ok: false, detail: "no verified VCEK" } : vcekTcbMatches(vcek, parsed.reportedTcb)));
  checks.run("sev-snp.report-signature", () => {
    if (vcek === undefined) return { ok: false, detail: "no verified VCEK" };
    const ok = sevSnpSignatureVerifies(parsed, vcek.publicKey);
    return { ok, detail: ok ? "ECDSA P-384/SHA-384 over bytes 0x000-0x29F verifies under the VCEK" : "report signature does not verify under the VCEK" };
  });
  return { report, checks: checks.checks };
}
