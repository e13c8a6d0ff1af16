/**
 * Why an Oblivious HTTP message was refused. Each reason has its own message and error code, and
 * the reason itself rides in the error's `cause` (in-process only: across IPC a TfaasError keeps
 * its code and message, which are enough to tell the cases apart).
 */
import { TfaasError, type ErrorCode } from "../shared/errors.js";

export const OHTTP_REJECTIONS = {
  /** Truncated, over-long or otherwise not the wire format. */
  malformed: "invalid-request",
  /** A KEM, KDF or AEAD other than X25519 / HKDF-SHA256 / AES-128-GCM. */
  "unsupported-suite": "invalid-request",
  /** A key id this worker never held. */
  "unknown-key": "not-found",
  /** A key id this worker held and has retired: the client must fetch fresh key configurations. */
  "retired-key": "not-found",
  /** An `enc` seen before within the replay window. */
  replayed: "conflict",
  /** The request's AEAD tag did not verify: altered bytes, or sealed to another key. */
  "request-not-authentic": "invalid-request",
  /** The response's AEAD tag did not verify: altered bytes, or the response to another request. */
  "response-mismatch": "invalid-request",
} as const satisfies Record<string, ErrorCode>;

export type OhttpRejection = keyof typeof OHTTP_REJECTIONS;

interface RejectionCause {
  ohttpRejection: OhttpRejection;
}

export function reject(reason: OhttpRejection, message: string): TfaasError {
  const cause: RejectionCause = { ohttpRejection: reason };
  return new TfaasError(OHTTP_REJECTIONS[reason], message, { cause });
}

/** The reason an error from this module was raised, or `undefined` for any other error. */
export function ohttpRejectionOf(error: unknown): OhttpRejection | undefined {
  if (!(error instanceof TfaasError)) return undefined;
  const cause: unknown = error.cause;
  if (typeof cause !== "object" || cause === null || !("ohttpRejection" in cause)) return undefined;
  const reason = cause.ohttpRejection;
  return typeof reason === "string" && Object.hasOwn(OHTTP_REJECTIONS, reason) ? (reason as OhttpRejection) : undefined;
}
