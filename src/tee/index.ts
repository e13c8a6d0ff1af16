/**
 * TEE backends, evidence formats and the attestation verifier.
 *
 * Worker side — attest once per key set:
 *
 *   const backend = await createTeeBackend({ type: "sim", dataDir, measurement });   // or sev-snp | tdx | sgx
 *   const reportData = bindingReportData({ receiptKey, hpkeKey }, nonce);             // 64 bytes
 *   const evidence = await backend.evidence(reportData);                              // { type, bytes, certificates }
 *   backend.describe();                                                               // show it; sim says SIMULATED
 *
 * Verifier side — offline, against operator-supplied vendor roots and collateral:
 *
 *   const policy = await loadPolicy("policy.yaml");
 *   const verdict = verifyEvidence(evidence, { policy, nonce, reportedNonce, keys, trustAnchors, now });
 *   verdict.ok; verdict.checks.filter((check) => !check.ok);   // every failed check, named
 *
 * Evidence crossing a process boundary: send `type`, `bytes` and `certificates` (e.g. base64)
 * together with the bound public keys and the nonce the worker used (`reportedNonce`).
 *
 * Errors: malformed evidence, policy or collateral input → TfaasError `invalid-request` naming
 * the field (and offset); a missing or misbehaving TEE device → `unavailable`. Verification never
 * throws for bad evidence: it returns failed checks.
 *
 * Where the guarantees stop is written at the top of each module and in docs/attestation.md; the
 * `sim` backend protects nothing (the host reads worker memory and holds the platform key).
 */
export { TEE_TYPES, REPORT_DATA_LENGTH } from "./backend.js";
export type { Evidence, TeeBackend, TeeDescription, TeeType } from "./backend.js";

export { createTeeBackend } from "./backends/index.js";
export type { TeeBackendOptions } from "./backends/index.js";
export { createSimBackend, SIM_DOES_NOT_PROTECT } from "./sim/backend.js";
export type { SimBackend, SimBackendOptions } from "./sim/backend.js";
export { SIM_PLATFORM_KEY_FILE } from "./sim/platform-key.js";
export { createConfigfsTsmBackend, DEFAULT_TSM_REPORT_ROOT } from "./backends/configfs-tsm.js";
export type { ConfigfsTsmOptions } from "./backends/configfs-tsm.js";
export { createGramineBackend, DEFAULT_GRAMINE_ATTESTATION_ROOT } from "./backends/gramine.js";
export type { GramineOptions } from "./backends/gramine.js";
export type { DeviceFiles } from "./backends/device-files.js";

export { bindingReportData, BINDING_CONTEXT, NONCE_MIN_LENGTH, NONCE_MAX_LENGTH } from "./binding.js";
export type { BoundKeys } from "./binding.js";

export { policySchema, parsePolicy, parsePolicyText, loadPolicy } from "./policy.js";
export type { Policy, PolicyInput } from "./policy.js";
export { verifyEvidence } from "./verifier.js";
export type { Claims, TrustAnchors, Verdict, VerifyOptions } from "./verifier.js";
export type { Check } from "./check.js";

// Formats, for tools that show or check evidence piece by piece.
export { reportDataOf } from "./evidence.js";
export { parseSimEvidence } from "./sim/evidence.js";
export type { SimEvidence } from "./sim/evidence.js";
export { parseSevSnpReport } from "./sev-snp/report.js";
export type { SevSnpReport, SevSnpTcb } from "./sev-snp/report.js";
export { verifySevSnpReport } from "./sev-snp/verify.js";
export type { CertificateInput, SevSnpCollateral, SevSnpVerification } from "./sev-snp/verify.js";
export { parseDcapQuote } from "./dcap/quote.js";
export type { DcapQuote, QuoteHeader, QuoteSignatureData, SgxQuote, SgxReportBody, TdReportBody, TdxQuote } from "./dcap/quote.js";
export { verifyDcapQuote } from "./dcap/verify.js";
export type { DcapCollateral, DcapVerification } from "./dcap/verify.js";
export type { TcbEvaluation } from "./dcap/tcb.js";
