/**
 * Offline verification of one receipt: needs the worker's public key and nothing of the worker's
 * state. What a passing result means, and what it does not, is spelled out in docs/receipts.md:
 * it shows that the holder of the key stated this content, not that the key belongs to a
 * measured worker (that is the attestation's part, checked elsewhere).
 */
import type { KeyObject } from "node:crypto";
import type { Check } from "../shared/check.js";
import { fromBase64Url } from "./bytes.js";
import { bodyDigest, encodeContent, hashEncoded } from "./canonical.js";
import { toPublicKey, type PublicKeyInput } from "./keys.js";
import { rootFromPath } from "./merkle.js";
import { parseReceipt, type SignedReceipt } from "./receipt.js";
import { batchMessage, receiptMessage, signatureVerifies } from "./signatures.js";

export type { Check };

export interface ReceiptVerification {
  ok: boolean;
  checks: Check[];
}

export interface VerifyReceiptOptions {
  publicKey: PublicKeyInput;
  /** The plaintext request body, to compare with `requestDigest`. */
  request?: Uint8Array;
  /** The plaintext response body, to compare with `responseDigest`. */
  response?: Uint8Array;
}

/** Batch signatures already verified under one key, so a chain pays one signature check per batch. Never share one across keys. */
export type BatchSignatureCache = Set<string>;

/**
 * The proof checks of a receipt whose receipt hash is `hash`: the signature in mode `each`;
 * the audit path and the root signature in mode `batched`.
 */
export function proofChecks(receipt: SignedReceipt, hash: Buffer, publicKey: KeyObject, cache?: BatchSignatureCache): Check[] {
  const { proof } = receipt;
  if (proof.mode === "each") {
    const ok = signatureVerifies(receiptMessage(hash), fromBase64Url(proof.signature, "receipt signature"), publicKey);
    return [{ name: "receipt.signature", ok, detail: ok ? "Ed25519 signature over the receipt hash verifies" : "Ed25519 signature over the receipt hash does not verify with the given key" }];
  }
  const siblings = proof.siblings.map((sibling) => Buffer.from(sibling, "hex"));
  const computed = rootFromPath(hash, proof.index, proof.size, siblings);
  const pathOk = computed !== null && computed.toString("hex") === proof.root;
  const pathDetail =
    computed === null
      ? `${siblings.length} sibling hashes are not an audit path for leaf ${proof.index} of ${proof.size}`
      : pathOk
        ? `receipt is leaf ${proof.index} of ${proof.size} under root ${proof.root}`
        : `receipt and audit path lead to root ${computed.toString("hex")}, not to the batch root ${proof.root}`;
  const cacheKey = `${proof.size}:${proof.root}:${proof.signature}`;
  let signatureOk = cache?.has(cacheKey) ?? false;
  if (!signatureOk) {
    signatureOk = signatureVerifies(batchMessage(proof.size, Buffer.from(proof.root, "hex")), fromBase64Url(proof.signature, "batch signature"), publicKey);
    if (signatureOk) cache?.add(cacheKey);
  }
  return [
    { name: "receipt.merkle-proof", ok: pathOk, detail: pathDetail },
    {
      name: "receipt.batch-signature",
      ok: signatureOk,
      detail: signatureOk ? `Ed25519 signature over batch root ${proof.root} (${proof.size} receipts) verifies` : `Ed25519 signature over batch root ${proof.root} does not verify with the given key`,
    },
  ];
}

function bodyCheck(name: string, digest: string, body: Uint8Array): Check {
  const actual = bodyDigest(body);
  const ok = actual === digest;
  return { name, ok, detail: ok ? `body of ${body.length} bytes matches ${digest}` : `body of ${body.length} bytes hashes to ${actual}, receipt says ${digest}` };
}

/** Every check that applies, each named; `ok` only when all pass. Never throws for a bad receipt. */
export function verifyReceipt(receipt: SignedReceipt, options: VerifyReceiptOptions): ReceiptVerification {
  let checked: SignedReceipt;
  let publicKey: KeyObject;
  try {
    publicKey = toPublicKey(options.publicKey);
  } catch (error) {
    return { ok: false, checks: [{ name: "receipt.public-key", ok: false, detail: (error as Error).message }] };
  }
  try {
    checked = parseReceipt(receipt);
  } catch (error) {
    return { ok: false, checks: [{ name: "receipt.format", ok: false, detail: (error as Error).message }] };
  }
  const checks = proofChecks(checked, hashEncoded(encodeContent(checked.content)), publicKey);
  if (options.request !== undefined) checks.push(bodyCheck("receipt.request-digest", checked.content.requestDigest, options.request));
  if (options.response !== undefined) checks.push(bodyCheck("receipt.response-digest", checked.content.responseDigest, options.response));
  return { ok: checks.every((check) => check.ok), checks };
}
