/**
 * Receipts and attestation results: the public face of src/crypto.
 *
 * Worker side
 * - `generateSigningKeyPair()` → Ed25519 keys; bind `rawPublicKey(publicKey)` (32 bytes) into
 *   the attestation evidence.
 * - `new ReceiptSigner({ workerId, privateKey, mode: "each" | "batched", batchSize?, batchDelayMs? })`,
 *   then per call `await signer.issue(input)` → `SignedReceipt` (in batched mode it settles when
 *   the batch closes, ≤ batchDelayMs later; call `signer.flush()` when no further call is queued
 *   so an idle worker pays no batching latency); `signer.close()` before exit. `workerId` must be
 *   new for every key. Issued receipts are frozen.
 * - `bodyDigest(bytes)` → `sha256:<hex>` for `requestDigest` / `responseDigest`.
 * - `encodeReceiptHeader(receipt)` → the `X-Tfaas-Receipt` value (`RECEIPT_HEADER`).
 *
 * Gateway, ledger, CLI
 * - A `SignedReceipt` is plain JSON: store and serve it as-is; read it back with
 *   `parseReceipt(json)`, or from a header with `decodeReceiptHeader(value)` (both strict, both
 *   fail with `invalid-request`). `receiptHash(content)` is the chain hash (`prev` of the next).
 * - `verifyReceipt(receipt, { publicKey, request?, response? })` → `{ ok, checks }`.
 * - `verifyChain(receipts, keyOrKeysByWorker)` → gaps, forks, reordered, duplicates, invalid, checks.
 * - `recomputeBill(receipts, { from, to, keys })` → totals per function and flags.
 *
 * Verifier
 * - `issueAttestationResult(claims, verifierPrivateKey, ttlSeconds)` → JWT;
 *   `verifyAttestationResult(token, verifierPublicKey, { now? })` → claims, or `unauthorized`
 *   naming why (expired, not yet valid, different key, altered, malformed).
 *
 * Formats, and what a verified receipt does and does not prove: docs/receipts.md.
 */
export {
  RECEIPT_HEADER,
  RECEIPT_VERSION,
  MAX_BATCH_SIZE,
  parseReceipt,
  type BatchProof,
  type EachProof,
  type ReceiptContent,
  type ReceiptInput,
  type ReceiptMode,
  type ReceiptProof,
  type ReceiptUsage,
  type SignedReceipt,
} from "./receipt.js";
export { bodyDigest, encodeContent as encodeReceiptContent, receiptHash } from "./canonical.js";
export { generateSigningKeyPair, publicKeyFromRaw, rawPublicKey, type PublicKeyInput } from "./keys.js";
export { DEFAULT_BATCH_DELAY_MS, DEFAULT_BATCH_SIZE, ReceiptSigner, type ReceiptSignerOptions } from "./signer.js";
export { decodeReceiptHeader, encodeReceiptHeader } from "./header.js";
export { verifyReceipt, type Check, type ReceiptVerification, type VerifyReceiptOptions } from "./verify.js";
export {
  verifyChain,
  type ChainDuplicate,
  type ChainFork,
  type ChainGap,
  type ChainKeys,
  type ChainReorder,
  type ChainVerification,
  type InvalidReceipt,
  type WorkerChain,
} from "./chain.js";
export { recomputeBill, type Bill, type BillFlag, type BillFlagKind, type BillOptions, type FunctionTotals } from "./bill.js";
export {
  ATTESTATION_RESULT_TYPE,
  DEFAULT_ATTESTATION_ISSUER,
  MAX_ATTESTATION_RESULT_TTL_SECONDS,
  issueAttestationResult,
  verifyAttestationResult,
  type AttestationResultClaims,
  type IssueAttestationResultOptions,
  type VerifiedAttestationResult,
  type VerifyAttestationResultOptions,
} from "./attestation-result.js";
