import { readFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TfaasError } from "../../shared/errors.js";
import { buildSevSnpReport } from "../testing/synthetic.js";
import { readCertificates } from "../x509.js";
import { parseSevSnpReport } from "./report.js";
import { sevSnpSignatureVerifies, verifySevSnpReport, type SevSnpCollateral } from "./verify.js";
import { TEE_SAMPLES, teeSamplesPresent } from "../testing/samples.js";

const SAMPLES = `${TEE_SAMPLES}/sev-snp`;
const samplesPresent = teeSamplesPresent;

function parseError(bytes: Uint8Array): TfaasError {
  try {
    parseSevSnpReport(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    return error as TfaasError;
  }
  throw new Error("parse succeeded");
}

describe("SEV-SNP report parser (synthetic reports)", () => {
  const vcek = generateKeyPairSync("ec", { namedCurve: "P-384" });

  it("reads every field the builder wrote, and the signature verifies after the little-endian r/s are reversed", () => {
    const reportData = Buffer.alloc(64, 0x42);
    const bytes = buildSevSnpReport({ reportData, vcek: vcek.privateKey, measurement: Buffer.alloc(48, 0x11), tcb: [3, 1, 20, 209], guestSvn: 7, debug: true });
    const report = parseSevSnpReport(bytes);
    expect(report).toMatchObject({ version: 2, guestSvn: 7, debugAllowed: true, vmpl: 0, signatureAlgo: 1, signingKey: 0, maskChipId: false });
    expect(report.reportedTcb).toMatchObject({ bootloader: 3, tee: 1, snp: 20, microcode: 209 });
    expect(Buffer.from(report.reportData)).toEqual(reportData);
    expect(Buffer.from(report.measurement)).toEqual(Buffer.alloc(48, 0x11));
    expect(sevSnpSignatureVerifies(report, vcek.publicKey)).toBe(true);
    expect(sevSnpSignatureVerifies(report, generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey)).toBe(false);
    expect(parseSevSnpReport(buildSevSnpReport({ reportData, vcek: vcek.privateKey })).debugAllowed).toBe(false);
  });

  it("names the field and offset of truncated, trailing or malformed input", () => {
    const bytes = buildSevSnpReport({ reportData: Buffer.alloc(64), vcek: vcek.privateKey });
    expect(parseError(bytes.subarray(0, 2)).message).toBe("Cannot parse SEV-SNP attestation report: field version at offset 0x0 needs 4 bytes: current input length is 2");
    expect(parseError(bytes.subarray(0, 0x300)).message).toContain("field report at offset 0x0 needs 1184 bytes: current input length is 768");
    expect(parseError(Buffer.concat([bytes, Buffer.alloc(1)])).message).toContain("current length is 1185");
    const old = Buffer.from(bytes);
    old.writeUInt32LE(1, 0);
    expect(parseError(old).message).toContain("field version at offset 0x0 is unsupported: current value is 1");
    const stray = Buffer.from(bytes);
    stray[0x400] = 1;
    expect(parseError(stray).message).toContain("field reserved_after_signature at offset 0x400 is not zero");
    const wideR = Buffer.from(bytes);
    wideR[0x2a0 + 50] = 1;
    expect(parseError(wideR).message).toContain("field signature_r at offset 0x2d0 has non-zero bytes beyond a P-384 scalar");
    expect(parseError(bytes.subarray(0, 0x2a)).code).toBe("invalid-request");
  });
});

describe.skipIf(!samplesPresent)("SEV-SNP verification with the real Milan sample (needs ../shared/tee-evidence, skipped when absent)", () => {
  const report = samplesPresent ? new Uint8Array(readFileSync(`${SAMPLES}/attestation.bin`)) : new Uint8Array();
  const askArk = samplesPresent ? readFileSync(`${SAMPLES}/ask_ark_milan.pem`, "utf8") : "";
  const vcekDer = samplesPresent ? new Uint8Array(readFileSync(`${SAMPLES}/vcek.testcer`)) : new Uint8Array();
  const collateral: SevSnpCollateral = { ark: askArk, ask: askArk, vcek: vcekDer };
  const failed = (checks: Array<{ name: string; ok: boolean }>): string[] => checks.filter((check) => !check.ok).map((check) => check.name);

  it("verifies end to end: report by VCEK, VCEK by ASK, ASK by ARK, ARK by itself, chip id and TCB bound", () => {
    const { report: parsed, checks } = verifySevSnpReport(report, collateral, { now: new Date("2024-01-01T00:00:00Z") });
    expect(failed(checks)).toEqual([]);
    expect(checks.map((check) => check.name)).toEqual([
      "sev-snp.parse",
      "sev-snp.signature-algorithm",
      "sev-snp.ark-self-signed",
      "sev-snp.ask-signed-by-ark",
      "sev-snp.vcek-signed-by-ask",
      "sev-snp.certificates-valid",
      "sev-snp.vcek-chip-id",
      "sev-snp.vcek-tcb",
      "sev-snp.report-signature",
    ]);
    expect(parsed?.version).toBe(2);
    expect(parsed?.debugAllowed).toBe(true); // this sample VM was launched with debugging allowed
    expect(Buffer.from(parsed?.reportData ?? []).subarray(0, 6)).toEqual(Buffer.from([1, 2, 3, 4, 5, 0]));
  });

  it("takes the VCEK from the evidence's certificates when the operator supplies only ARK and ASK", () => {
    const { checks } = verifySevSnpReport(report, { ark: askArk, ask: askArk }, { evidenceCertificates: [vcekDer], now: new Date("2024-01-01T00:00:00Z") });
    expect(failed(checks)).toEqual([]);
    const none = verifySevSnpReport(report, { ark: askArk, ask: askArk }, {});
    expect(failed(none.checks)).toContain("sev-snp.vcek-signed-by-ask");
    expect(failed(none.checks)).toContain("sev-snp.report-signature");
  });

  it("fails on every single flipped byte of the report", () => {
    for (let offset = 0; offset < report.length; offset++) {
      const flipped = new Uint8Array(report);
      flipped[offset] = (flipped[offset] as number) ^ 0x01;
      const { checks } = verifySevSnpReport(flipped, collateral, { now: new Date("2024-01-01T00:00:00Z") });
      if (failed(checks).length === 0) throw new Error(`a flipped byte at 0x${offset.toString(16)} went unnoticed`);
    }
  }, 30_000);

  // Every 4th byte (a different phase per certificate) keeps this under ten seconds on two cores.
  it("fails on flipped bytes throughout the VCEK, ASK and ARK certificates (every 4th byte of each)", () => {
    const [ask, ark] = readCertificates(askArk);
    const certificates = { vcek: vcekDer, ask: ask?.der ?? new Uint8Array(), ark: ark?.der ?? new Uint8Array() };
    for (const [phase, role] of (["vcek", "ask", "ark"] as const).entries()) {
      const original = certificates[role];
      for (let offset = phase; offset < original.length; offset += 4) {
        const flipped = new Uint8Array(original);
        flipped[offset] = (flipped[offset] as number) ^ 0x01;
        const { checks } = verifySevSnpReport(report, { ...certificates, [role]: flipped }, { now: new Date("2024-01-01T00:00:00Z") });
        if (failed(checks).length === 0) throw new Error(`a flipped byte at ${offset} of the ${role} went unnoticed`);
      }
    }
  }, 60_000);

  it("rejects the Genoa chain, a clock outside the VCEK's validity, and missing collateral", () => {
    const genoa = readFileSync(`${SAMPLES}/ask_ark_genoa.pem`, "utf8");
    expect(failed(verifySevSnpReport(report, { ark: genoa, ask: genoa, vcek: vcekDer }).checks)).toEqual(["sev-snp.vcek-signed-by-ask", "sev-snp.certificates-valid", "sev-snp.vcek-chip-id", "sev-snp.vcek-tcb", "sev-snp.report-signature"]);
    expect(failed(verifySevSnpReport(report, collateral, { now: new Date("2030-01-01T00:00:00Z") }).checks)).toEqual(["sev-snp.certificates-valid"]);
    expect(failed(verifySevSnpReport(report, undefined).checks)).toEqual(["sev-snp.collateral"]);
  });
});
