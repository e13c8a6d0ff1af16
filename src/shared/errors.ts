/**
 * One error type for the whole platform. Every failure a client or operator can see carries a
 * stable `code` (part of the API: documented in docs/api.md) and the HTTP status it maps to.
 * The message is public and must never contain secrets, keys, tokens or request bodies;
 * internal detail goes into `cause`, which is logged but never sent.
 */
export const ErrorCodes = {
  "invalid-request": 400,
  "invalid-name": 400,
  "invalid-artifact": 400,
  /** An Oblivious HTTP request names a key no running worker holds (RFC 9458 §5.3): fetch fresh key configurations. */
  "ohttp-key": 400,
  "unauthorized": 401,
  /** A key broker refused to release a key: the requester's evidence does not satisfy the owner's policy. */
  "forbidden": 403,
  "not-found": 404,
  "function-not-found": 404,
  "secret-not-found": 404,
  "artifact-not-found": 404,
  "method-not-allowed": 405,
  "conflict": 409,
  "fuel-exhausted": 402,
  "payload-too-large": 413,
  "unsupported-media-type": 415,
  "build-failed": 422,
  "too-many-requests": 429,
  "function-failed": 500,
  "output-too-large": 500,
  "internal": 500,
  "worker-crashed": 502,
  "unavailable": 503,
  "timeout": 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ErrorCodes;

export class TfaasError extends Error {
  override readonly name = "TfaasError";
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = ErrorCodes[code];
  }

  /** The shape that crosses process boundaries (IPC, NATS, HTTP bodies). `cause` stays behind. */
  toJSON(): EncodedError {
    return { code: this.code, message: this.message };
  }

  static fromJSON(encoded: EncodedError): TfaasError {
    const code = isErrorCode(encoded.code) ? encoded.code : "internal";
    return new TfaasError(code, encoded.message);
  }
}

export interface EncodedError {
  code: string;
  message: string;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ErrorCodes, value);
}

/** Any thrown value as a TfaasError; unknown failures become `internal` with the original as cause. */
export function asTfaasError(error: unknown): TfaasError {
  if (error instanceof TfaasError) return error;
  return new TfaasError("internal", "Internal error", { cause: error });
}
