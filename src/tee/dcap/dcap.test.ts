import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../../shared/errors.js";
import type { Check } from "../check.js";
import { buildSgxQuote, buildTdxQuote } from "../testing/synthetic.js";
import { readCertificates } from "../x509.js";
import { collateralCurrent, collateralSignatureVerifies, parseQeIdentity, parseTcbInfo } from "./collateral.js";
import { pckTcbOf, type PckTcb } from "./pck.js";
import { parseDcapQuote, type DcapQuote } from "./quote.js";
import { evaluateQeIdentity, evaluateTcb } from "./tcb.js";
import { crlCheck, quoteSignaturesVerify, readCrl, verifyDcapQuote, type DcapCollateral } from "./verify.js";
import { TEE_SAMPLES, teeSamplesPresent } from "../testing/samples.js";

const SAMPLES = `${TEE_SAMPLES}/tdx`;
const samplesPresent = teeSamplesPresent;
const sample = (name: string): Buffer => (samplesPresent ? readFileSync(`${SAMPLES}/${name}`) : Buffer.alloc(0));
/** Inside every sample collateral's validity window. */
const JUNE_2023 = new Date("2023-06-20T00:00:00Z");

const attestation = generateKeyPairSync("ec", { namedCurve: "P-256" });
const pck = generateKeyPairSync("ec", { namedCurve: "P-256" });
const keys = { attestationKey: attestation.privateKey, attestationPublicKey: attestation.publicKey, pckKey: pck.privateKey };

function parseError(bytes: Uint8Array): TfaasError {
  try {
    parseDcapQuote(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    expect((error as TfaasError).code).toBe("invalid-request");
    return error as TfaasError;
  }
  throw new Error("parse succeeded");
}

const byName = (checks: Check[]): Record<string, boolean> => Object.fromEntries(checks.map((check) => [check.name, check.ok]));

describe("DCAP quote parser (synthetic quotes signed by test keys)", () => {
  it("reads a TDX v4 quote: header, TD body registers, debug bit, QE report and signatures", () => {
    const bytes = buildTdxQuote({ ...keys, reportData: Buffer.alloc(64, 0x33), mrTd: Buffer.alloc(48, 0x44), debug: true });
    const quote = parseDcapQuote(bytes);
    if (quote.kind !== "tdx") throw new Error("expected tdx");
    expect(quote.header).toMatchObject({ version: 4, attestationKeyType: 2, teeType: 0x81 });
    expect(quote.bodyType).toBe(2);
    expect(quote.body.debug).toBe(true);
    expect(Buffer.from(quote.body.mrTd)).toEqual(Buffer.alloc(48, 0x44));
    expect(Buffer.from(quote.body.rtmrs[2])).toEqual(Buffer.alloc(48, 0x22));
    expect(Buffer.from(quote.body.reportData)).toEqual(Buffer.alloc(64, 0x33));
    expect(quote.signatureData.certificationDataType).toBe(5);
    expect(quote.signatureData.qeReport.isvSvn).toBe(4);
    expect(quote.trailingLength).toBe(0);
    expect(quoteSignaturesVerify(quote, pck.publicKey)).toEqual({ qeReport: true, binding: true, quote: true });
    expect(quoteSignaturesVerify(quote, attestation.publicKey).qeReport).toBe(false);
  });

  it("reads an SGX v3 quote: MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN, DEBUG, report data", () => {
    const bytes = buildSgxQuote({ ...keys, reportData: Buffer.alloc(64, 1), mrEnclave: Buffer.alloc(32, 0xee), isvProdId: 9, isvSvn: 3, debug: true });
    const quote = parseDcapQuote(bytes);
    if (quote.kind !== "sgx") throw new Error("expected sgx");
    expect(quote.header).toMatchObject({ version: 3, teeType: 0 });
    expect(quote.body).toMatchObject({ isvProdId: 9, isvSvn: 3, debug: true });
    expect(Buffer.from(quote.body.mrEnclave)).toEqual(Buffer.alloc(32, 0xee));
    expect(Buffer.from(quote.body.mrSigner)).toEqual(Buffer.alloc(32, 0x51));
    expect(quoteSignaturesVerify(quote, pck.publicKey)).toEqual({ qeReport: true, binding: true, quote: true });
  });

  it("detects a flipped byte in the signed body, the QE report or the attestation key", () => {
    const bytes = buildTdxQuote({ ...keys, reportData: Buffer.alloc(64, 7) });
    const flip = (offset: number): DcapQuote => {
      const copy = new Uint8Array(bytes);
      copy[offset] = (copy[offset] as number) ^ 0x80;
      return parseDcapQuote(copy);
    };
    expect(quoteSignaturesVerify(flip(48 + 520), pck.publicKey)).toEqual({ qeReport: true, binding: true, quote: false });
    expect(quoteSignaturesVerify(flip(632 + 4 + 128 + 6 + 64), pck.publicKey)).toMatchObject({ qeReport: false });
    expect(quoteSignaturesVerify(flip(632 + 4 + 64 + 1), pck.publicKey)).toMatchObject({ binding: false, quote: false });
  });

  it("names the field and offset of truncated or malformed quotes", () => {
    const bytes = Buffer.from(buildTdxQuote({ ...keys, reportData: Buffer.alloc(64) }));
    expect(parseError(bytes.subarray(0, 10)).message).toBe("Cannot parse DCAP quote: field header.pce_svn at offset 0xa needs 2 bytes: current input length is 10");
    expect(parseError(bytes.subarray(0, 300)).message).toContain("field td_body at offset 0x30 needs 584 bytes: current input length is 300");
    expect(parseError(bytes.subarray(0, 700)).message).toContain("field signature_data at offset 0x27c needs");
    expect(parseError(bytes.subarray(0, bytes.length - 10)).message).toContain("needs");
    const version = Buffer.from(bytes);
    version.writeUInt16LE(6, 0);
    expect(parseError(version).message).toContain("field header.version at offset 0x0 is unsupported: current value is 6");
    const keyType = Buffer.from(bytes);
    keyType.writeUInt16LE(3, 2);
    expect(parseError(keyType).message).toContain("attestation_key_type at offset 0x2 is unsupported: current value is 3");
    const certType = Buffer.from(bytes);
    certType.writeUInt16LE(5, 632 + 4 + 128);
    expect(parseError(certType).message).toContain("field certification_data.type at offset 0x2fc is unsupported: current value is 5");
    const authSize = Buffer.from(bytes);
    authSize.writeUInt16LE(0xffff, 632 + 4 + 134 + 448);
    expect(parseError(authSize).message).toContain("field qe_auth_data at offset");
  });
});

describe("TCB evaluation against TCB info (Intel's matching rule; sample collateral from ../shared/tee-evidence, skipped when absent)", () => {
  const info = samplesPresent ? parseTcbInfo(sample("sample_tcbInfo_response").toString("utf8")).body : undefined;
  const platform = (components: number[], pceSvn: number): PckTcb => ({
    fmspc: Buffer.from("50806f000000", "hex"),
    pceId: Buffer.alloc(2),
    sgxTcbComponents: [...components, ...Array<number>(16 - components.length).fill(0)],
    pceSvn,
    cpuSvn: Buffer.alloc(16),
  });
  const current = [5, 5, 2, 2, 3, 1, 0, 3];

  it.skipIf(!samplesPresent)("gives the first level every component reaches: UpToDate, OutOfDate, or NotSupported below all", () => {
    if (info === undefined) return;
    expect(evaluateTcb(info, platform(current, 11), Buffer.from([3, 0, 5]))).toMatchObject({ status: "UpToDate", tcbDate: "2023-02-15T00:00:00Z" });
    const outOfDate = evaluateTcb(info, platform(current, 7), Buffer.from([3, 0, 5]));
    expect(outOfDate.status).toBe("OutOfDate");
    expect(outOfDate.advisoryIds).toContain("INTEL-SA-00106");
    expect(evaluateTcb(info, platform([5, 5, 2, 2, 2], 11), Buffer.from([3, 0, 5])).status).toBe("NotSupported");
    expect(evaluateTcb(info, platform(current, 11), Buffer.from([3, 0, 4])).status).toBe("NotSupported");
    // A non-zero TDX module major version skips the first two TDX components.
    expect(evaluateTcb(info, platform(current, 11), Buffer.from([0, 1, 5])).status).toBe("UpToDate");
  });

  it.skipIf(!samplesPresent)("checks the QE identity: MRSIGNER, ISVPRODID, masked attributes and its TCB level", () => {
    const identity = parseQeIdentity(sample("sample_qeIdentity_response").toString("utf8")).body;
    const quote = parseDcapQuote(sample("tdx_prod_quote_SPR_E4.dat"));
    expect(evaluateQeIdentity(identity, quote.signatureData.qeReport).ok).toBe(true);
    const other = { ...quote.signatureData.qeReport, mrSigner: Buffer.alloc(32, 1), isvSvn: 3 };
    const result = evaluateQeIdentity(identity, other);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain("MRSIGNER differs");
    expect(result.detail).toContain("QE TCB status NotSupported");
  });

  it.skipIf(!samplesPresent)("verifies collateral signatures over the exact served bytes, and rejects altered text or malformed bodies", () => {
    const signer = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const served = sample("sample_tcbInfo_response").toString("utf8").trim();
    const inner = /^\{"tcbInfo":(.*),"signature":"[0-9a-f]+"\}$/s.exec(served)?.[1] ?? "";
    const signature = sign("sha256", Buffer.from(inner), { key: signer.privateKey, dsaEncoding: "ieee-p1363" }).toString("hex");
    const resigned = parseTcbInfo(`{"tcbInfo":${inner},"signature":"${signature}"}`);
    expect(collateralSignatureVerifies(resigned, signer.publicKey)).toBe(true);
    const altered = parseTcbInfo(`{"tcbInfo":${inner.replace('"pcesvn":11', '"pcesvn":10')},"signature":"${signature}"}`);
    expect(collateralSignatureVerifies(altered, signer.publicKey)).toBe(false);
    expect(collateralCurrent(resigned.body, JUNE_2023).ok).toBe(true);
    expect(collateralCurrent(resigned.body, new Date("2023-08-01T00:00:00Z")).ok).toBe(false);
    expect(() => parseTcbInfo("{}")).toThrow(/not \{"tcbInfo"/);
    expect(() => parseTcbInfo(`{"tcbInfo":{"id":"TDX"},"signature":"${signature}"}`)).toThrow(/Cannot read tcbInfo collateral: field version/);
  });
});

describe.skipIf(!samplesPresent)("DCAP verification with the real TDX samples (needs ../shared/tee-evidence, skipped when absent)", () => {
  const collateral: DcapCollateral = {
    rootCa: sample("trusted_root.pem").toString("utf8"),
    tcbInfo: sample("sample_tcbInfo_response").toString("utf8"),
    qeIdentity: sample("sample_qeIdentity_response").toString("utf8"),
    rootCrl: new Uint8Array(sample("rootcrl.der")),
    pckCrl: new Uint8Array(sample("pckcrl")),
  };
  const v4 = new Uint8Array(sample("tdx_prod_quote_SPR_E4.dat"));

  it("verifies the v4 quote: PCK chain to Intel's root, QE report, key binding, quote signature, CRLs, QE identity", () => {
    const result = verifyDcapQuote(v4, "tdx", collateral, { now: JUNE_2023 });
    expect(byName(result.checks)).toEqual({
      "tdx.parse": true,
      "tdx.pck-chain": true,
      "tdx.certificates-valid": true,
      "tdx.qe-report-signature": true,
      "tdx.qe-report-binding": true,
      "tdx.quote-signature": true,
      "tdx.root-crl": true,
      "tdx.pck-crl": true,
      // Intel serves the TCB signing chain in a response header, which the samples do not include:
      // the collateral signatures are reported unverified, never assumed.
      "tdx.tcb-signing-chain": false,
      "tdx.tcb-info-signature": false,
      "tdx.tcb-info-current": true,
      "tdx.qe-identity-signature": false,
      "tdx.qe-identity-current": true,
      "tdx.qe-identity": true,
      // The platform's FMSPC matches, but its SGX components (3,3,2,2,2,…) are below every listed level.
      "tdx.tcb-level": false,
      "tdx.module-identity": true,
    });
    expect(result.tcb?.status).toBe("NotSupported");
    const level = result.checks.find((check) => check.name === "tdx.tcb-level");
    expect(level?.detail).toContain("PCK FMSPC 50806f000000 / PCE ID 0000; TCB info FMSPC 50806f000000");
    expect(result.checks.find((check) => check.name === "tdx.tcb-signing-chain")?.detail).toContain("no TCB signing chain supplied");
    if (result.quote?.kind !== "tdx") throw new Error("expected tdx");
    expect(result.quote.trailingLength).toBe(39);
    expect(pckTcbOf(readCertificates(result.quote.signatureData.certificationData)[0]!).pceSvn).toBe(11);
  });

  it("verifies the v5 quote's signatures and chain (TDX 1.5 body) and reports its FMSPC mismatch with the sample TCB info", () => {
    const result = verifyDcapQuote(new Uint8Array(sample("quote_v5_sample.dat")), "tdx", collateral, { now: new Date("2026-06-01T00:00:00Z") });
    const checks = byName(result.checks);
    expect(checks).toMatchObject({ "tdx.pck-chain": true, "tdx.certificates-valid": true, "tdx.qe-report-signature": true, "tdx.qe-report-binding": true, "tdx.quote-signature": true, "tdx.tcb-level": false });
    // In 2026 the 2023 CRLs and collateral are stale.
    expect(checks).toMatchObject({ "tdx.pck-crl": false, "tdx.root-crl": false, "tdx.tcb-info-current": false });
    if (result.quote?.kind !== "tdx") throw new Error("expected tdx");
    expect(result.quote.bodyType).toBe(3);
    expect(result.quote.body.mrServiceTd?.length).toBe(48);
  });

  it("fails the quote signature on any flipped byte of the signed header and body", () => {
    const pckKey = readCertificates(parseDcapQuote(v4).signatureData.certificationData)[0]!.publicKey;
    for (let offset = 0; offset < 632; offset++) {
      const flipped = new Uint8Array(v4);
      flipped[offset] = (flipped[offset] as number) ^ 0x01;
      let quote: DcapQuote;
      try {
        quote = parseDcapQuote(flipped);
      } catch {
        continue; // a header field the parser refuses: rejected too
      }
      if (quoteSignaturesVerify(quote, pckKey).quote) throw new Error(`flipped byte at ${offset} went unnoticed`);
    }
  });

  it("fails the chain under another root, an expired clock, a revoked serial, or without collateral", () => {
    const amd = readFileSync(`${TEE_SAMPLES}/sev-snp/ask_ark_milan.pem`, "utf8");
    expect(byName(verifyDcapQuote(v4, "tdx", { ...collateral, rootCa: amd }, { now: JUNE_2023 }).checks)["tdx.pck-chain"]).toBe(false);
    expect(byName(verifyDcapQuote(v4, "tdx", collateral, { now: new Date("2030-01-01T00:00:00Z") }).checks)["tdx.certificates-valid"]).toBe(false);
    expect(byName(verifyDcapQuote(v4, "sgx", collateral, { now: JUNE_2023 }).checks)).toEqual({ "sgx.parse": false });
    expect(byName(verifyDcapQuote(v4, "tdx", undefined).checks)).toEqual({ "tdx.parse": true, "tdx.collateral": false });

    const crl = readCrl(new Uint8Array(sample("pckcrl")));
    const [pckCertificate, platformCa] = readCertificates(parseDcapQuote(v4).signatureData.certificationData);
    if (pckCertificate === undefined || platformCa === undefined) throw new Error("chain missing");
    const revoked = [...crl.revokedSerials][0];
    if (revoked === undefined) throw new Error("the sample PCK CRL lists no serials");
    expect(crlCheck(crl, platformCa, pckCertificate, JUNE_2023).ok).toBe(true);
    const result = crlCheck(crl, platformCa, { ...pckCertificate, serialNumber: revoked }, JUNE_2023);
    expect(result).toMatchObject({ ok: false });
    expect(result.detail).toContain("is REVOKED");
    expect(crlCheck(crl, pckCertificate, pckCertificate, JUNE_2023).ok).toBe(false);
  });
});

function opensslAvailable(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!samplesPresent || !opensslAvailable())("collateral signed through a TCB signing chain (test PKI made with the openssl CLI; needs ../shared/tee-evidence)", () => {
  it("verifies TCB info and QE identity signatures through a signing certificate issued by the pinned root, and refuses them under another root", () => {
    const directory = mkdtempSync(join(tmpdir(), "tfaas-tcb-pki-"));
    try {
      const run = (...args: string[]): void => void execFileSync("openssl", args, { cwd: directory, stdio: "ignore" });
      const subject = (cn: string): string => `/CN=${cn}/O=Intel Corporation/L=Santa Clara/ST=CA/C=US`;
      run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key");
      run("req", "-x509", "-new", "-key", "root.key", "-subj", subject("Intel SGX Root CA"), "-days", "36500", "-set_serial", "1", "-out", "root.pem");
      run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "signing.key");
      run("req", "-new", "-key", "signing.key", "-subj", subject("Intel SGX TCB Signing"), "-out", "signing.csr");
      run("x509", "-req", "-in", "signing.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2", "-days", "36500", "-out", "signing.pem");
      const signingKey = createPrivateKey(readFileSync(join(directory, "signing.key")));
      const resign = (served: string, key: "tcbInfo" | "enclaveIdentity"): string => {
        const inner = new RegExp(`^\\{"${key}":(.*),"signature":"[0-9a-f]+"\\}$`, "s").exec(served.trim())?.[1] ?? "";
        const signature = sign("sha256", Buffer.from(inner), { key: signingKey, dsaEncoding: "ieee-p1363" }).toString("hex");
        return `{"${key}":${inner},"signature":"${signature}"}`;
      };
      const root = readFileSync(join(directory, "root.pem"), "utf8");
      const chain = readFileSync(join(directory, "signing.pem"), "utf8") + root;
      const collateral: DcapCollateral = {
        rootCa: root,
        tcbSigningChain: chain,
        tcbInfo: resign(sample("sample_tcbInfo_response").toString("utf8"), "tcbInfo"),
        qeIdentity: resign(sample("sample_qeIdentity_response").toString("utf8"), "enclaveIdentity"),
      };
      // The test signing certificate is valid from the moment it was made.
      const now = new Date(Date.now() + 60_000);
      const checks = byName(verifyDcapQuote(new Uint8Array(sample("tdx_prod_quote_SPR_E4.dat")), "tdx", collateral, { now }).checks);
      expect(checks).toMatchObject({ "tdx.tcb-signing-chain": true, "tdx.tcb-info-signature": true, "tdx.qe-identity-signature": true });
      // The quote itself chains to Intel's real root, not to this test root.
      expect(checks["tdx.pck-chain"]).toBe(false);
      const intelRoot = sample("trusted_root.pem").toString("utf8");
      const underIntel = byName(verifyDcapQuote(new Uint8Array(sample("tdx_prod_quote_SPR_E4.dat")), "tdx", { ...collateral, rootCa: intelRoot }, { now }).checks);
      expect(underIntel).toMatchObject({ "tdx.pck-chain": true, "tdx.tcb-signing-chain": false, "tdx.tcb-info-signature": false, "tdx.qe-identity-signature": false });
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
