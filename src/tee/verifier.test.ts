import { readFileSync } from "node:fs";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Evidence } from "./backend.js";
import { bindingReportData } from "./binding.js";
import { parsePolicy, type PolicyInput } from "./policy.js";
import { createSimBackend, type SimBackend } from "./sim/backend.js";
import { buildSevSnpReport, buildSgxQuote, buildTdxQuote } from "./testing/synthetic.js";
import { verifyEvidence, type TrustAnchors, type Verdict, type VerifyOptions } from "./verifier.js";
import { TEE_SAMPLES, teeSamplesPresent } from "./testing/samples.js";

const measurement = Buffer.alloc(32, 0x6d);
const policyInput: PolicyInput = { tee: { sim: { measurements: [measurement.toString("hex")], minSvn: 2 } }, artifactDigests: [`sha256:${"a".repeat(64)}`] };
const keys = { receiptKey: randomBytes(32), hpkeKey: randomBytes(32) };

const failedChecks = (verdict: Verdict): string[] => verdict.checks.filter((check) => !check.ok).map((check) => check.name);

describe("verifyEvidence with sim evidence", () => {
  let dataDir: string;
  let backend: SimBackend;
  let anchors: TrustAnchors;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "tfaas-verifier-"));
    backend = await createSimBackend({ dataDir, measurement, svn: 3 });
    anchors = { sim: { platformKeys: [backend.platformPublicKey] } };
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  /** The worker's side: evidence for `nonce`, from a backend built with `overrides`. */
  async function attest(nonce: Uint8Array, overrides: { measurement?: Buffer; debug?: boolean; svn?: number } = {}): Promise<Evidence> {
    const source = Object.keys(overrides).length === 0 ? backend : await createSimBackend({ dataDir, measurement, svn: 3, ...overrides });
    return source.evidence(bindingReportData(keys, nonce));
  }

  function verify(evidence: Evidence, nonce: Uint8Array, options: Partial<VerifyOptions> = {}): Verdict {
    return verifyEvidence(evidence, { policy: parsePolicy(policyInput), nonce, reportedNonce: nonce, keys, trustAnchors: anchors, ...options });
  }

  it("accepts fresh, well-bound evidence and says it is simulated, with every check listed", async () => {
    const nonce = randomBytes(32);
    const verdict = verify(await attest(nonce), nonce);
    expect(failedChecks(verdict)).toEqual([]);
    expect(verdict).toMatchObject({ ok: true, tee: "sim", simulated: true });
    expect(verdict.checks.map((check) => check.name)).toEqual([
      "policy.tee-type",
      "sim.parse",
      "sim.platform-key",
      "sim.signature",
      "policy.min-tcb",
      "policy.measurement",
      "policy.debug-disabled",
      "binding.report-data",
      "nonce.fresh",
    ]);
    expect(verdict.claims).toMatchObject({ measurement: measurement.toString("hex"), debug: false, tcb: { svn: 3 }, artifactDigests: [`sha256:${"a".repeat(64)}`] });
    expect(verdict.checks.find((check) => check.name === "sim.platform-key")?.detail).toContain("no hardware protection");
  });

  it("rejects a replayed report (evidence for an earlier nonce) as nonce.fresh only", async () => {
    const earlier = randomBytes(32);
    const evidence = await attest(earlier);
    const verdict = verify(evidence, randomBytes(32), { reportedNonce: earlier });
    expect(verdict.ok).toBe(false);
    expect(failedChecks(verdict)).toEqual(["nonce.fresh"]);
  });

  it("rejects a report claiming this nonce but binding another as binding.report-data", async () => {
    const nonce = randomBytes(32);
    const verdict = verify(await attest(randomBytes(32)), nonce);
    expect(failedChecks(verdict)).toEqual(["binding.report-data"]);
  });

  it("rejects evidence binding other keys as binding.report-data only", async () => {
    const nonce = randomBytes(32);
    const evidence = await attest(nonce);
    const verdict = verify(evidence, nonce, { keys: { ...keys, hpkeKey: randomBytes(32) } });
    expect(failedChecks(verdict)).toEqual(["binding.report-data"]);
  });

  it("without a reported nonce, a replay fails both binding and freshness, saying they cannot be told apart", async () => {
    const verdict = verifyEvidence(await attest(randomBytes(32)), { policy: parsePolicy(policyInput), nonce: randomBytes(32), keys, trustAnchors: anchors });
    expect(failedChecks(verdict)).toEqual(["binding.report-data", "nonce.fresh"]);
    expect(verdict.checks.at(-1)?.detail).toContain("look alike");
  });

  it("rejects an unexpected measurement as policy.measurement only", async () => {
    const nonce = randomBytes(32);
    const verdict = verify(await attest(nonce, { measurement: Buffer.alloc(32, 0x01) }), nonce);
    expect(failedChecks(verdict)).toEqual(["policy.measurement"]);
    expect(verdict.claims.measurement).toBe("01".repeat(32));
  });

  it("rejects debug mode as policy.debug-disabled only, unless the policy allows debug", async () => {
    const nonce = randomBytes(32);
    const evidence = await attest(nonce, { debug: true });
    expect(failedChecks(verify(evidence, nonce))).toEqual(["policy.debug-disabled"]);
    const lenient = verify(evidence, nonce, { policy: parsePolicy({ ...policyInput, allowDebug: true }) });
    expect(lenient.ok).toBe(true);
    expect(lenient.checks.find((check) => check.name === "policy.debug-disabled")?.detail).toContain("debug is ON");
  });

  it("rejects an SVN below the minimum as policy.min-tcb only", async () => {
    const nonce = randomBytes(32);
    expect(failedChecks(verify(await attest(nonce, { svn: 1 }), nonce))).toEqual(["policy.min-tcb"]);
  });

  it("rejects tampered bytes: any flipped byte fails the signature (or the parse)", async () => {
    const nonce = randomBytes(32);
    const evidence = await attest(nonce);
    for (let offset = 0; offset < evidence.bytes.length; offset++) {
      const bytes = new Uint8Array(evidence.bytes);
      bytes[offset] = (bytes[offset] as number) ^ 0x04;
      const verdict = verify({ ...evidence, bytes }, nonce);
      expect(verdict.ok).toBe(false);
      const failed = failedChecks(verdict);
      if (!failed.includes("sim.signature") && !failed.includes("sim.parse")) throw new Error(`flip at ${offset} failed only ${failed.join(", ")}`);
    }
    const tamperedMeasurement = new Uint8Array(evidence.bytes);
    tamperedMeasurement[114] = 0x01;
    expect(failedChecks(verify({ ...evidence, bytes: tamperedMeasurement }, nonce))).toEqual(["sim.signature", "policy.measurement"]);
  });

  it("rejects evidence from a platform key that is not pinned, or with no sim anchor at all", async () => {
    const nonce = randomBytes(32);
    const otherDir = await mkdtemp(join(tmpdir(), "tfaas-other-platform-"));
    try {
      const other = await createSimBackend({ dataDir: otherDir, measurement, svn: 3 });
      const evidence = await other.evidence(bindingReportData(keys, nonce));
      expect(failedChecks(verify(evidence, nonce))).toEqual(["sim.platform-key"]);
      expect(failedChecks(verify(evidence, nonce, { trustAnchors: {} }))).toEqual(["sim.platform-key"]);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  it("rejects a TEE type the policy does not allow, and unparseable evidence, naming the check", async () => {
    const nonce = randomBytes(32);
    const evidence = await attest(nonce);
    const snpOnly = parsePolicy({ tee: { "sev-snp": { measurements: ["00".repeat(48)] } } });
    expect(failedChecks(verify(evidence, nonce, { policy: snpOnly }))).toEqual(["policy.tee-type"]);
    const garbage = verify({ ...evidence, bytes: new Uint8Array(10) }, nonce);
    expect(failedChecks(garbage)).toEqual(["sim.parse"]);
    expect(garbage.checks.find((check) => check.name === "sim.parse")?.detail).toContain("field magic at offset 0x0");
  });
});

describe("verifyEvidence with hardware formats (synthetic evidence; test keys are not vendor-rooted)", () => {
  it("SEV-SNP: the chain fails without a vendor-rooted VCEK, while measurement, debug, TCB and binding are still judged", () => {
    const nonce = randomBytes(32);
    const vcek = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const bytes = buildSevSnpReport({ reportData: bindingReportData(keys, nonce), vcek: vcek.privateKey, measurement: Buffer.alloc(48, 0x11), tcb: [3, 0, 8, 115], debug: true });
    const verdict = verifyEvidence(
      { type: "sev-snp", bytes, certificates: [] },
      {
        policy: parsePolicy({ tee: { "sev-snp": { measurements: ["11".repeat(48)], minTcb: { bootloader: 3, tee: 0, snp: 9, microcode: 115 } } } }),
        nonce,
        reportedNonce: nonce,
        keys,
        trustAnchors: {},
      },
    );
    expect(failedChecks(verdict)).toEqual(["sev-snp.collateral", "policy.min-tcb", "policy.debug-disabled"]);
    expect(verdict.claims.tcb).toMatchObject({ bootloader: 3, snp: 8, microcode: 115 });
  });

  it("TDX: RTMR and MRTD expectations are checked register by register", () => {
    const nonce = randomBytes(32);
    const attestation = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const bytes = buildTdxQuote({ attestationKey: attestation.privateKey, attestationPublicKey: attestation.publicKey, pckKey: attestation.privateKey, reportData: bindingReportData(keys, nonce), mrTd: Buffer.alloc(48, 0x7d) });
    const verdict = verifyEvidence(
      { type: "tdx", bytes, certificates: [] },
      { policy: parsePolicy({ tee: { tdx: { mrtd: ["7d".repeat(48)], rtmr2: ["00".repeat(48)] } } }), nonce, reportedNonce: nonce, keys, trustAnchors: {} },
    );
    expect(failedChecks(verdict)).toEqual(["tdx.collateral", "policy.rtmr2", "policy.min-tcb"]);
    expect(verdict.claims.registers.rtmr2).toBe("22".repeat(48));
  });

  it("SGX: MRENCLAVE, MRSIGNER, ISVPRODID and minimum ISVSVN are each checked", () => {
    const nonce = randomBytes(32);
    const attestation = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const bytes = buildSgxQuote({ attestationKey: attestation.privateKey, attestationPublicKey: attestation.publicKey, pckKey: attestation.privateKey, reportData: bindingReportData(keys, nonce), mrEnclave: Buffer.alloc(32, 0xe1), isvProdId: 4, isvSvn: 2 });
    const verdict = verifyEvidence(
      { type: "sgx", bytes, certificates: [] },
      { policy: parsePolicy({ tee: { sgx: { mrenclave: ["e1".repeat(32)], mrsigner: ["00".repeat(32)], isvProdId: 5, minIsvSvn: 1 } } }), nonce, reportedNonce: nonce, keys, trustAnchors: {} },
    );
    expect(failedChecks(verdict)).toEqual(["sgx.collateral", "policy.mrsigner", "policy.isv-prod-id", "policy.min-tcb"]);
    expect(verdict.claims).toMatchObject({ measurement: "e1".repeat(32), debug: false, tcb: { isvSvn: 2, isvProdId: 4, status: "unknown" } });
  });
});

const shared = TEE_SAMPLES;
describe.skipIf(!teeSamplesPresent)("verifyEvidence with the real samples (needs ../shared/tee-evidence, skipped when absent)", () => {
  it("SEV-SNP: signature and chain checks pass; the sample's debug policy, its measurement and the binding fail", () => {
    const askArk = readFileSync(`${shared}/sev-snp/ask_ark_milan.pem`, "utf8");
    const bytes = new Uint8Array(readFileSync(`${shared}/sev-snp/attestation.bin`));
    const nonce = randomBytes(32);
    const verdict = verifyEvidence(
      { type: "sev-snp", bytes, certificates: [new Uint8Array(readFileSync(`${shared}/sev-snp/vcek.testcer`))] },
      { policy: parsePolicy({ tee: { "sev-snp": { measurements: ["00".repeat(48)] } } }), nonce, reportedNonce: nonce, keys, trustAnchors: { sevSnp: { ark: askArk, ask: askArk } }, now: new Date("2024-01-01T00:00:00Z") },
    );
    expect(failedChecks(verdict)).toEqual(["policy.measurement", "policy.debug-disabled", "binding.report-data"]);
    expect(verdict.claims.measurement).toBe("b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01");
  });

  it("TDX: the quote, QE and PCK chain verify; the unsigned sample collateral and old platform TCB fail, as do binding and measurement", () => {
    const tdx = `${shared}/tdx`;
    const nonce = randomBytes(32);
    const verdict = verifyEvidence(
      { type: "tdx", bytes: new Uint8Array(readFileSync(`${tdx}/tdx_prod_quote_SPR_E4.dat`)), certificates: [] },
      {
        policy: parsePolicy({ tee: { tdx: { mrtd: ["00".repeat(48)] } } }),
        nonce,
        reportedNonce: nonce,
        keys,
        trustAnchors: {
          intel: {
            rootCa: readFileSync(`${tdx}/trusted_root.pem`, "utf8"),
            tcbInfo: readFileSync(`${tdx}/sample_tcbInfo_response`, "utf8"),
            qeIdentity: readFileSync(`${tdx}/sample_qeIdentity_response`, "utf8"),
            rootCrl: new Uint8Array(readFileSync(`${tdx}/rootcrl.der`)),
            pckCrl: new Uint8Array(readFileSync(`${tdx}/pckcrl`)),
          },
        },
        now: new Date("2023-06-20T00:00:00Z"),
      },
    );
    expect(failedChecks(verdict)).toEqual([
      "tdx.tcb-signing-chain",
      "tdx.tcb-info-signature",
      "tdx.qe-identity-signature",
      "tdx.tcb-level",
      "policy.min-tcb",
      "policy.measurement",
      "binding.report-data",
    ]);
    expect(verdict.claims).toMatchObject({ debug: false, tcb: { status: "NotSupported", teeTcbSvn: "03000400000000000000000000000000" } });
  });
});
