/**
 * Attestation and receipts in the running platform: the glue between src/tee, src/crypto, the
 * workers, the gateway and the CLI. Formats and guarantees: docs/attestation.md, docs/receipts.md.
 *
 * Platform (gateway side)
 * - `attestationConfigSchema`, `attestationFromEnv(env)`: TFAAS_TEE (sim | sev-snp | tdx | sgx),
 *   TFAAS_RECEIPTS (each | batched | off), TFAAS_TEE_DEVICE_ROOT.
 * - `workerEnvironment(config, dataDir)`: what every worker process is started with.
 *
 * Worker side
 * - `createWorkerIdentity(workerSettingsFromEnv(process.env))` → keys, TEE backend, measurement,
 *   `attest(nonce)` and the receipts (`identity.receipts.begin()` per call, then
 *   `ticket.issue(facts)` or `ticket.abandon()`).
 * - `computeRuntimeMeasurement({ tee, receipts })`: the sim measurement, recomputable by operators.
 *
 * Verifier side (CLI, tests, benchmarks)
 * - `verifyAttestationAnswer(answer, options)`: every worker of GET /system/attestation checked
 *   against a policy, each with its failed checks named.
 * - `AttestationCache`: attestation results (signed by a client-side key) kept in the config dir.
 */
export { AttestationDefaults, RECEIPT_MODES, attestationConfigSchema, attestationFromEnv, workerEnvironment, workerSettingsFromEnv, WorkerEnv } from "./config.js";
export type { AttestationConfig, ReceiptsSetting, WorkerSettings } from "./config.js";
export { computeRuntimeMeasurement, defaultRuntimeRoot, MEASUREMENT_MANIFEST_HEADER, RUNTIME_FOLDERS } from "./measurement.js";
export type { MeasurementInput, RuntimeMeasurement } from "./measurement.js";
export { createWorkerIdentity, measurementOf } from "./identity.js";
export type { WorkerIdentity } from "./identity.js";
export { WORKER_BATCH_SIZE, WorkerReceipts } from "./worker-receipts.js";
export type { CallFacts, CallTicket } from "./worker-receipts.js";
export { SIM_PLATFORM_KEY_NOTICE, SIM_WARNING } from "./wire.js";
export type { AttestationAnswer, WireEvidence, WireReceipt, WorkerAttestation, WorkerIdentityInfo } from "./wire.js";
export { parseAttestationAnswer, policyHash, resultClaims, verifyAttestationAnswer } from "./verify-answer.js";
export type { AnswerVerification, VerifyAnswerOptions, WorkerVerdict } from "./verify-answer.js";
export { AttestationCache } from "./result-cache.js";
export type { CachedResult } from "./result-cache.js";
export { checkTeeDevice } from "./preflight.js";
