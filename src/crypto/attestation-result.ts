/**
 * Attestation results: after a verifier has checked a worker's evidence against a policy, it
 * signs what it concluded as a short-lived JWT (EdDSA, via jose), so clients can cache the
 * verdict instead of re-verifying evidence. The token says only what the verifier concluded at
 * `iat`; trusting it means trusting the verifier's key and its policy (named by `policy_hash`).
 *
 * Token header: `{"alg":"EdDSA","typ":"tfaas-ar+jwt","kid":<RFC 7638 thumbprint of the verifier key>}`.
 * Claims: `iss`, `sub` (worker id), `iat`, `nbf`, `exp`, `jti`, `tee_type`, `measurement`,
 * `bound_keys` ({receipt, hpke?}: raw public keys, base64url) and `policy_hash`.
 */
import { createPublicKey, randomUUID, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWK, type JWTPayload } from "jose";
import { TfaasError } from "../shared/errors.js";
import { fromBase64Url } from "./bytes.js";
import { expectPrivateSigningKey, toPublicKey, type PublicKeyInput } from "./keys.js";
import { DIGEST } from "./receipt.js";

export const ATTESTATION_RESULT_TYPE = "tfaas-ar+jwt";
export const DEFAULT_ATTESTATION_ISSUER = "tfaas-verifier";
/** "Short-lived": a result older than this is re-verified, whatever the caller asks for. */
export const MAX_ATTESTATION_RESULT_TTL_SECONDS = 86_400;

export interface AttestationResultClaims {
  workerId: string;
  /** The TEE type the evidence came from: `sim`, `sev-snp`, `tdx` or `sgx`. */
  teeType: string;
  /** The verified measurement, lowercase hex. */
  measurement: string;
  /** Raw public keys the evidence binds, base64url: Ed25519 for receipts, X25519 for HPKE. */
  boundKeys: { receipt: string; hpke?: string };
  /** `sha256:<hex>` of the policy the evidence satisfied. */
  policyHash: string;
}

export interface VerifiedAttestationResult extends AttestationResultClaims {
  issuer: string;
  issuedAt: Date;
  notBefore: Date;
  expiresAt: Date;
}

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;
const HEX = /^(?:[0-9a-f]{2}){1,128}$/;

function invalidClaims(field: string, value: unknown, expected: string): TfaasError {
  const shown = typeof value === "string" && value.length <= 80 ? JSON.stringify(value) : `a ${typeof value}`;
  return new TfaasError("invalid-request", `Cannot accept attestation result claims: ${field} must be ${expected}, current value is ${shown}`);
}

function checkKey(field: string, value: unknown): string {
  let ok = false;
  try {
    ok = typeof value === "string" && fromBase64Url(value, field).length === 32;
  } catch {
    ok = false;
  }
  if (!ok) throw invalidClaims(field, value, "a 32-byte raw public key in base64url");
  return value as string;
}

function checkClaims(claims: Record<string, unknown>): AttestationResultClaims {
  const { workerId, teeType, measurement, boundKeys, policyHash } = claims;
  if (typeof workerId !== "string" || !IDENTIFIER.test(workerId)) throw invalidClaims("workerId", workerId, "an identifier");
  if (typeof teeType !== "string" || !IDENTIFIER.test(teeType)) throw invalidClaims("teeType", teeType, "an identifier");
  if (typeof measurement !== "string" || !HEX.test(measurement)) throw invalidClaims("measurement", measurement, "lowercase hex of at most 128 bytes");
  if (typeof policyHash !== "string" || !DIGEST.test(policyHash)) throw invalidClaims("policyHash", policyHash, "sha256:<64 lowercase hex>");
  if (typeof boundKeys !== "object" || boundKeys === null) throw invalidClaims("boundKeys", boundKeys, "an object");
  const { receipt, hpke, ...rest } = boundKeys as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalidClaims("boundKeys", Object.keys(rest).join(", "), "only receipt and hpke");
  const keys: AttestationResultClaims["boundKeys"] = { receipt: checkKey("boundKeys.receipt", receipt) };
  if (hpke !== undefined) keys.hpke = checkKey("boundKeys.hpke", hpke);
  return { workerId, teeType, measurement, boundKeys: keys, policyHash };
}

async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({ format: "jwk" }) as JWK);
}

export interface IssueAttestationResultOptions {
  issuer?: string;
  /** Issue time (default: now); tests and replays of a verification use it. */
  now?: Date;
}

/** Signs a verifier's verdict about one worker as a JWT valid from now for `ttlSeconds`. */
export async function issueAttestationResult(
  claims: AttestationResultClaims,
  signingKey: KeyObject,
  ttlSeconds: number,
  options: IssueAttestationResultOptions = {},
): Promise<string> {
  expectPrivateSigningKey(signingKey, "attestation result signing key");
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_ATTESTATION_RESULT_TTL_SECONDS) {
    throw new TfaasError("invalid-request", `Cannot issue attestation result: ttlSeconds must be 1 to ${MAX_ATTESTATION_RESULT_TTL_SECONDS}, current value is ${ttlSeconds}`);
  }
  const checked = checkClaims({ ...claims });
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const kid = await keyId(createPublicKey(signingKey));
  return new SignJWT({ tee_type: checked.teeType, measurement: checked.measurement, bound_keys: checked.boundKeys, policy_hash: checked.policyHash })
    .setProtectedHeader({ alg: "EdDSA", typ: ATTESTATION_RESULT_TYPE, kid })
    .setIssuer(options.issuer ?? DEFAULT_ATTESTATION_ISSUER)
    .setSubject(checked.workerId)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(signingKey);
}

export interface VerifyAttestationResultOptions {
  /** Current time (default: now). */
  now?: Date;
  /** When given, `iss` must equal it. */
  issuer?: string;
}

function rejected(reason: string, cause?: unknown): TfaasError {
  return new TfaasError("unauthorized", `Cannot accept attestation result: ${reason}`, { cause });
}

function isoSeconds(seconds: unknown): string {
  return typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : "an unknown time";
}

/**
 * The claims of a valid token. Fails with `unauthorized` and a message naming the reason:
 * malformed, signed by a different key (by key id), altered (signature fails under the right key
 * id), expired, not yet valid, wrong issuer or type, or claims of the wrong shape.
 */
export async function verifyAttestationResult(token: string, publicKey: PublicKeyInput, options: VerifyAttestationResultOptions = {}): Promise<VerifiedAttestationResult> {
  const key = toPublicKey(publicKey);
  const now = options.now ?? new Date();
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (error) {
    throw rejected("token is not a well-formed JWS", error);
  }
  if (header.alg !== "EdDSA") throw rejected(`token algorithm must be EdDSA, current value is ${String(header.alg)}`);
  if (header.typ !== ATTESTATION_RESULT_TYPE) throw rejected(`token type must be ${ATTESTATION_RESULT_TYPE}, current value is ${String(header.typ)}`);
  const expectedKid = await keyId(key);
  // The key id is not authenticated on its own; it only tells "another key" from "altered" once the signature fails either way.
  if (header.kid !== expectedKid) throw rejected(`token was signed by a different key (key id ${String(header.kid)}, expected ${expectedKid})`);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      typ: ATTESTATION_RESULT_TYPE,
      currentDate: now,
      requiredClaims: ["iss", "sub", "iat", "nbf", "exp"],
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    }));
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) throw rejected("token signature does not verify: its header or claims were altered", error);
    if (error instanceof errors.JWTExpired) throw rejected(`token expired at ${isoSeconds(error.payload.exp)}; current time is ${now.toISOString()}`, error);
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "nbf") {
      throw rejected(`token is not valid before ${isoSeconds(error.payload.nbf)}; current time is ${now.toISOString()}`, error);
    }
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "iss") throw rejected(`token issuer is not ${options.issuer}`, error);
    throw rejected(`token is invalid: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  let claims: AttestationResultClaims;
  try {
    claims = checkClaims({ workerId: payload.sub, teeType: payload["tee_type"], measurement: payload["measurement"], boundKeys: payload["bound_keys"], policyHash: payload["policy_hash"] });
  } catch (error) {
    throw rejected(`token claims are malformed: ${(error as Error).message}`, error);
  }
  return {
    ...claims,
    issuer: payload.iss!,
    issuedAt: new Date(payload.iat! * 1000),
    notBefore: new Date(payload.nbf! * 1000),
    expiresAt: new Date(payload.exp! * 1000),
  };
}
