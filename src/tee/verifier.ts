/**
 * verifyEvidence: evidence + policy + what the attester claims (bound keys, nonce) → a Verdict that
 * lists every check performed and its outcome. `ok` is true only when every check passed.
 *
 * Check names are stable: `<tee>.*` for the format's own verification (signatures, chains,
 * collateral), `policy.*` for the policy, `binding.report-data` for the key binding and
 * `nonce.fresh` for freshness. A replayed report fails `nonce.fresh`; wrong keys fail
 * `binding.report-data`; a wrong measurement `policy.measurement`; debug `policy.debug-disabled`;
 * tampered bytes the format's signature check (or its parse check).
 *
 * Guarantee stops here: the verdict is only as good as the trust anchors passed in (ARK, Intel
 * root, sim platform keys) and the policy's expected measurements. Sim evidence never means
 * hardware protection: `simulated` says so on every verdict.
 */
import { timingSafeEqual } from "node:crypto";
import type { Evidence, TeeType } from "./backend.js";
import { bindingReportData, type BoundKeys } from "./binding.js";
import { toHex } from "./bytes.js";
import { CheckList, type Check } from "./check.js";
import { verifyDcapQuote, type DcapCollateral } from "./dcap/verify.js";
import type { Policy } from "./policy.js";
import { verifySevSnpReport, type SevSnpCollateral } from "./sev-snp/verify.js";
import { verifySimEvidence } from "./sim/verify.js";

export interface TrustAnchors {
  /** Raw Ed25519 public keys (32 bytes) of simulated platforms whose evidence may be accepted. */
  sim?: { platformKeys: Uint8Array[] };
  /** AMD ARK and ASK (and optionally the VCEK) for SEV-SNP. */
  sevSnp?: SevSnpCollateral;
  /** Intel SGX Root CA and PCS collateral for TDX and SGX. */
  intel?: DcapCollateral;
}

export interface VerifyOptions {
  policy: Policy;
  /** The nonce this verifier chose for this request (16–64 bytes). */
  nonce: Uint8Array;
  /** The public keys the attester says its evidence binds. */
  keys: BoundKeys;
  /**
   * The nonce the attester says it bound, when it sends one (GET /system/attestation does). With
   * it a replayed report fails `nonce.fresh` and wrong keys fail `binding.report-data` separately;
   * without it the binding is checked against `nonce` and the two failures look alike.
   */
  reportedNonce?: Uint8Array;
  trustAnchors: TrustAnchors;
  /** Clock for certificate and collateral validity; default now. */
  now?: Date;
}

export interface Claims {
  /** Hex: sim measurement, SEV-SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE. */
  measurement?: string;
  debug?: boolean;
  /** Hex of the 64 bytes of report data. */
  reportData?: string;
  /** TCB facts of the format: SVNs, SPLs, Intel TCB status. */
  tcb: Record<string, number | string>;
  /** Further measurement registers (hex): TDX RTMRs, MRCONFIGID…, SGX MRSIGNER, SEV-SNP HOST_DATA… */
  registers: Record<string, string>;
  /** The policy's allowed artifact digests, passed through for receipt checks. */
  artifactDigests?: string[];
}

export interface Verdict {
  ok: boolean;
  tee: TeeType;
  /** True for sim evidence: nothing here is protected by hardware. */
  simulated: boolean;
  claims: Claims;
  checks: Check[];
}

interface Facts {
  measurement: Uint8Array;
  debug: boolean;
  reportData: Uint8Array;
  tcb: Record<string, number | string>;
  registers: Record<string, string>;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function verifyFormat(evidence: Evidence, options: VerifyOptions, checks: CheckList): Facts | undefined {
  const now = options.now ?? new Date();
  const anchors = options.trustAnchors;
  const rules = options.policy.tee;
  switch (evidence.type) {
    case "sim": {
      const result = verifySimEvidence(evidence.bytes, anchors.sim?.platformKeys);
      checks.checks.push(...result.checks);
      const parsed = result.evidence;
      if (parsed === undefined) return undefined;
      const rule = rules.sim;
      if (rule !== undefined) checks.add("policy.min-tcb", parsed.svn >= rule.minSvn, `svn ${parsed.svn}; minimum ${rule.minSvn}`);
      return { measurement: parsed.measurement, debug: parsed.debug, reportData: parsed.reportData, tcb: { svn: parsed.svn }, registers: {} };
    }
    case "sev-snp": {
      const result = verifySevSnpReport(evidence.bytes, anchors.sevSnp, { evidenceCertificates: evidence.certificates, now });
      checks.checks.push(...result.checks);
      const report = result.report;
      if (report === undefined) return undefined;
      const tcb = report.reportedTcb;
      const rule = rules["sev-snp"];
      if (rule !== undefined) {
        const min = rule.minTcb;
        const tcbOk = min === undefined || (tcb.bootloader >= min.bootloader && tcb.tee >= min.tee && tcb.snp >= min.snp && tcb.microcode >= min.microcode);
        const svnOk = report.guestSvn >= rule.minGuestSvn;
        checks.add(
          "policy.min-tcb",
          tcbOk && svnOk,
          `reported_tcb bootloader ${tcb.bootloader}, tee ${tcb.tee}, snp ${tcb.snp}, microcode ${tcb.microcode}; minimum ${min === undefined ? "(none)" : JSON.stringify(min)}; guest_svn ${report.guestSvn}, minimum ${rule.minGuestSvn}`,
        );
      }
      return {
        measurement: report.measurement,
        debug: report.debugAllowed,
        reportData: report.reportData,
        tcb: { bootloader: tcb.bootloader, tee: tcb.tee, snp: tcb.snp, microcode: tcb.microcode, guestSvn: report.guestSvn, vmpl: report.vmpl },
        registers: { hostData: toHex(report.hostData), idKeyDigest: toHex(report.idKeyDigest), authorKeyDigest: toHex(report.authorKeyDigest), familyId: toHex(report.familyId), imageId: toHex(report.imageId), policy: report.policy.toString(16) },
      };
    }
    case "tdx":
    case "sgx": {
      const result = verifyDcapQuote(evidence.bytes, evidence.type, anchors.intel, { now });
      checks.checks.push(...result.checks);
      const quote = result.quote;
      if (quote === undefined) return undefined;
      const status = result.tcb?.status;
      if (quote.kind === "tdx") {
        const body = quote.body;
        const rule = rules.tdx;
        const registers: Record<string, string> = {
          mrtd: toHex(body.mrTd),
          rtmr0: toHex(body.rtmrs[0]),
          rtmr1: toHex(body.rtmrs[1]),
          rtmr2: toHex(body.rtmrs[2]),
          rtmr3: toHex(body.rtmrs[3]),
          mrConfigId: toHex(body.mrConfigId),
          mrOwner: toHex(body.mrOwner),
          mrOwnerConfig: toHex(body.mrOwnerConfig),
          mrSeam: toHex(body.mrSeam),
          tdAttributes: toHex(body.tdAttributes),
          xfam: toHex(body.xfam),
        };
        if (rule !== undefined) {
          for (const index of [0, 1, 2, 3] as const) {
            const expected = rule[`rtmr${index}`];
            if (expected !== undefined) {
              const actual = registers[`rtmr${index}`] as string;
              checks.add(`policy.rtmr${index}`, expected.includes(actual), `RTMR${index} ${actual}${expected.includes(actual) ? " is expected" : " is not among the expected values"}`);
            }
          }
          checks.add("policy.min-tcb", status !== undefined && rule.tcbStatus.includes(status), `TCB status ${status ?? "(not evaluated)"}; accepted ${rule.tcbStatus.join(", ")}`);
        }
        return { measurement: body.mrTd, debug: body.debug, reportData: body.reportData, tcb: { status: status ?? "unknown", teeTcbSvn: toHex(body.teeTcbSvn) }, registers };
      }
      const body = quote.body;
      const rule = rules.sgx;
      if (rule !== undefined) {
        if (rule.mrsigner !== undefined) {
          const actual = toHex(body.mrSigner);
          checks.add("policy.mrsigner", rule.mrsigner.includes(actual), `MRSIGNER ${actual}${rule.mrsigner.includes(actual) ? " is expected" : " is not among the expected values"}`);
        }
        if (rule.isvProdId !== undefined) checks.add("policy.isv-prod-id", body.isvProdId === rule.isvProdId, `ISVPRODID ${body.isvProdId}; expected ${rule.isvProdId}`);
        checks.add(
          "policy.min-tcb",
          body.isvSvn >= rule.minIsvSvn && status !== undefined && rule.tcbStatus.includes(status),
          `ISVSVN ${body.isvSvn}, minimum ${rule.minIsvSvn}; TCB status ${status ?? "(not evaluated)"}, accepted ${rule.tcbStatus.join(", ")}`,
        );
      }
      return {
        measurement: body.mrEnclave,
        debug: body.debug,
        reportData: body.reportData,
        tcb: { status: status ?? "unknown", isvSvn: body.isvSvn, isvProdId: body.isvProdId },
        registers: { mrsigner: toHex(body.mrSigner), attributes: toHex(body.attributes) },
      };
    }
  }
}

function expectedMeasurements(policy: Policy, tee: TeeType): string[] | undefined {
  switch (tee) {
    case "sim":
      return policy.tee.sim?.measurements;
    case "sev-snp":
      return policy.tee["sev-snp"]?.measurements;
    case "tdx":
      return policy.tee.tdx?.mrtd;
    case "sgx":
      return policy.tee.sgx?.mrenclave;
  }
}

export function verifyEvidence(evidence: Evidence, options: VerifyOptions): Verdict {
  const checks = new CheckList();
  const { policy } = options;
  const allowed = Object.entries(policy.tee)
    .filter(([, rule]) => rule !== undefined)
    .map(([type]) => type);
  checks.add("policy.tee-type", allowed.includes(evidence.type), `evidence is ${evidence.type}; policy allows ${allowed.join(", ")}`);

  const facts = verifyFormat(evidence, options, checks);
  const claims: Claims = { tcb: facts?.tcb ?? {}, registers: facts?.registers ?? {} };
  if (policy.artifactDigests !== undefined) claims.artifactDigests = [...policy.artifactDigests];
  if (facts !== undefined) {
    claims.measurement = toHex(facts.measurement);
    claims.debug = facts.debug;
    claims.reportData = toHex(facts.reportData);

    const expected = expectedMeasurements(policy, evidence.type);
    if (expected !== undefined) {
      const matches = expected.includes(claims.measurement);
      checks.add("policy.measurement", matches, `measurement ${claims.measurement}${matches ? " is expected" : " is not among the policy's expected values"}`);
    }
    checks.add(
      "policy.debug-disabled",
      !facts.debug || policy.allowDebug,
      facts.debug ? (policy.allowDebug ? "debug is ON (allowed by policy: the host can read TEE memory)" : "debug is ON: the host can read and change TEE memory") : "debug is off",
    );

    const bound = checks.run("binding.report-data", () => {
      const ok = equalBytes(bindingReportData(options.keys, options.reportedNonce ?? options.nonce), facts.reportData);
      return { ok, detail: ok ? "report data binds the receipt and HPKE keys with the nonce" : "report data does not bind these keys with the reported nonce" };
    });
    if (options.reportedNonce === undefined) {
      checks.add("nonce.fresh", bound, bound ? "the report data binds this request's nonce" : "the report data does not bind this request's nonce (no reported nonce: a replay and wrong keys look alike)");
    } else {
      const fresh = equalBytes(options.reportedNonce, options.nonce);
      checks.add("nonce.fresh", fresh, fresh ? "the evidence answers this request's nonce" : "the evidence answers another nonce: replayed or stale");
    }
  }
  return { ok: checks.ok, tee: evidence.type, simulated: evidence.type === "sim", claims, checks: checks.checks };
}
