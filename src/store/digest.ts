/**
 * Artifact digests: `sha256:<64 lower-case hex>`, the one spelling used in deployments, receipts
 * and policies. Parsing is strict so two spellings of the same digest cannot name two artifacts.
 */
import { createHash } from "node:crypto";
import { TfaasError } from "../shared/errors.js";

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** The hex part of a well-formed digest; fails with `invalid-request` otherwise. */
export function digestHex(digest: string): string {
  const hex = DIGEST.exec(digest)?.[1];
  if (hex === undefined) {
    throw new TfaasError(
      "invalid-request",
      `Cannot use artifact digest: current value is ${JSON.stringify(digest.slice(0, 80))}, expected sha256:<64 lower-case hex>`,
    );
  }
  return hex;
}
