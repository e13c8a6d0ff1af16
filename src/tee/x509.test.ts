import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeOid, parseDer, readNode } from "./der.js";
import { issuedBy, parseCertificate, readCertificates, signatureVerifies, validAt } from "./x509.js";
import { TEE_SAMPLES, teeSamplesPresent } from "./testing/samples.js";

const SNP = `${TEE_SAMPLES}/sev-snp`;
const present = teeSamplesPresent;

describe("DER walker", () => {
  it("decodes OIDs (including multi-byte arcs) and refuses lengths that run past the end", () => {
    expect(decodeOid(parseDer(Buffer.from("06092a864886f70d01010a", "hex"), "oid"))).toBe("1.2.840.113549.1.1.10");
    expect(decodeOid(parseDer(Buffer.from("060a2b0601040181dc780103", "hex"), "oid"))).toBe("1.3.6.1.4.1.28280.1.3");
    expect(() => readNode(Buffer.from("3005020101", "hex"), 0)).toThrow(/runs past the end/);
    expect(() => parseDer(Buffer.from("02010100", "hex"), "x")).toThrow(/1 trailing bytes/);
    expect(() => readNode(Buffer.from("3085", "hex"), 0)).toThrow(/5 length bytes/);
  });
});

describe.skipIf(!present)("X.509 by hand over the TBS bytes (AMD's RSA-PSS chain; needs ../shared/tee-evidence, skipped when absent)", () => {
  const [ask, ark] = present ? readCertificates(readFileSync(`${SNP}/ask_ark_milan.pem`, "utf8")) : [];
  const vcek = present ? parseCertificate(new Uint8Array(readFileSync(`${SNP}/vcek.testcer`))) : undefined;

  it("reads RSA-PSS parameters exactly (SHA-384, MGF1-SHA-384, salt 48) and verifies ARK → ASK → VCEK", () => {
    if (ask === undefined || ark === undefined || vcek === undefined) throw new Error("samples missing");
    expect(ark.commonName).toBe("ARK-Milan");
    expect(ask.commonName).toBe("SEV-Milan");
    expect(vcek.signatureAlgorithm).toMatchObject({ kind: "rsa-pss", hash: "sha384", saltLength: 48 });
    expect(issuedBy(ark, ark).ok).toBe(true);
    expect(issuedBy(ask, ark).ok).toBe(true);
    expect(issuedBy(vcek, ask).ok).toBe(true);
    expect(issuedBy(vcek, ark)).toMatchObject({ ok: false, detail: 'issuer name does not match the subject of "ARK-Milan"' });
    expect(signatureVerifies({ ...vcek, signatureAlgorithm: { ...vcek.signatureAlgorithm, saltLength: 32 } }, ask.publicKey)).toBe(false);
    expect(signatureVerifies(vcek, vcek.publicKey)).toBe(false);
  });

  it("checks validity windows against the given clock", () => {
    if (vcek === undefined) throw new Error("samples missing");
    expect(validAt(vcek, new Date("2025-01-01T00:00:00Z")).ok).toBe(true);
    expect(validAt(vcek, new Date("2022-01-01T00:00:00Z")).ok).toBe(false);
    expect(validAt(vcek, new Date("2029-09-25T00:00:00Z")).detail).toContain("NOT valid");
  });

  it("refuses a certificate whose outer algorithm differs from the signed inner one", () => {
    if (vcek === undefined) throw new Error("samples missing");
    const der = Buffer.from(vcek.der);
    const inner = der.indexOf(Buffer.from("06092a864886f70d01010a", "hex"));
    const outer = der.indexOf(Buffer.from("06092a864886f70d01010a", "hex"), inner + 1);
    expect(outer).toBeGreaterThan(inner);
    const saltOuter = der.indexOf(Buffer.from("a203020130", "hex"), outer);
    der[saltOuter + 4] = 0x20;
    expect(() => parseCertificate(new Uint8Array(der))).toThrow(/inner and outer signature algorithms differ/);
  });
});
