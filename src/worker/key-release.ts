/**
 * The key-release protocol between a worker and a function owner's key broker (src/kbs), and the
 * worker's side of it. Two JSON requests over HTTP(S):
 *
 *   POST <broker>/kbs/v1/challenge  { artifactDigest }                       → { nonce }  (base64url, 32 bytes, single use)
 *   POST <broker>/kbs/v1/key        { artifactDigest, nonce, workerId,
 *                                     evidence: { type, bytes, certificates }, reportedNonce,
 *                                     boundKeys: { receipt, hpke } }         → { wrappedKey } (base64url)
 *
 * The evidence binds the worker's receipt and HPKE keys to the broker's nonce (src/tee/binding.ts);
 * the broker wraps the artifact key to that HPKE key under that nonce and digest
 * (src/confidential/key-wrap.ts), so only this worker, in this exchange, can unwrap it. The worker
 * then opens the sealed code under its digest and never writes the key or the plaintext anywhere.
 *
 * Where the guarantee stops: the broker's URL comes from the deployment (the gateway could point
 * the worker elsewhere, but a broker that is not the owner's holds no key for this digest); the
 * transport is whatever the URL says (use https between hosts: the exchange needs no secrecy from
 * the network, but a plain-HTTP broker can be impersonated towards the worker, denying service).
 */
import { z } from "zod";
import type { WireEvidence, WorkerIdentity } from "../attestation/index.js";
import { decodeSealedUpload } from "../artifacts/index.js";
import { openArtifact, unwrapKey } from "../confidential/index.js";
import { TfaasError, isErrorCode } from "../shared/errors.js";
import type { ArtifactKind } from "../store/index.js";

export const KEY_RELEASE_PATHS = { challenge: "/kbs/v1/challenge", key: "/kbs/v1/key" } as const;
export const KEY_RELEASE_NONCE_LENGTH = 32;
/** A broker that takes longer than this is reported, not waited for: loading blocks the function's first call. */
const BROKER_TIMEOUT_MS = 15_000;

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/, "expected base64url");
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 lowercase hex>");

export const challengeRequestSchema = z.strictObject({ artifactDigest: digest });
export const challengeAnswerSchema = z.object({ nonce: base64url });
export const keyRequestSchema = z.strictObject({
  artifactDigest: digest,
  nonce: base64url,
  workerId: z.string().min(1).max(200),
  evidence: z.strictObject({ type: z.string(), bytes: base64url, certificates: z.array(base64url) }),
  reportedNonce: base64url,
  boundKeys: z.strictObject({ receipt: base64url, hpke: base64url }),
});
export const keyAnswerSchema = z.object({ wrappedKey: base64url });
export type KeyRequest = z.infer<typeof keyRequestSchema>;

const b64u = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");

/** The JSON body of a key request for `evidence` (exported for tests that replay one). */
export function keyRequestBody(artifactDigest: string, nonce: Uint8Array, identity: WorkerIdentity, evidence: WireEvidence): KeyRequest {
  return {
    artifactDigest,
    nonce: b64u(nonce),
    workerId: identity.info.workerId,
    evidence: { type: evidence.type, bytes: b64u(evidence.bytes), certificates: evidence.certificates.map(b64u) },
    reportedNonce: b64u(evidence.nonce),
    boundKeys: identity.info.boundKeys,
  };
}

export function checkBrokerUrl(url: string | undefined, functionName: string): URL {
  if (url === undefined || url === "") {
    throw new TfaasError("invalid-artifact", `Cannot load ${functionName}: its code is sealed and no key broker is named; set annotation com.tfaas.kbs to the owner's broker URL`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TfaasError("invalid-artifact", `Cannot load ${functionName}: annotation com.tfaas.kbs is not a URL, current value is ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TfaasError("invalid-artifact", `Cannot load ${functionName}: annotation com.tfaas.kbs must be an http(s) URL, current scheme is ${parsed.protocol}`);
  }
  return parsed;
}

async function post<T>(broker: URL, path: string, body: unknown, schema: z.ZodType<T>, action: string): Promise<T> {
  const url = new URL(path, broker);
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(BROKER_TIMEOUT_MS) });
  } catch (cause) {
    throw new TfaasError("unavailable", `Cannot ${action}: the key broker at ${broker.origin} is unreachable`, { cause });
  }
  const text = await response.text();
  if (!response.ok) {
    const sent = response.headers.get("x-tfaas-error");
    const reason = text.trim().slice(0, 500);
    // A refusal is the owner's policy speaking: the function cannot run here, whoever asked.
    const code = response.status === 403 ? "forbidden" : sent !== null && isErrorCode(sent) ? sent : "unavailable";
    throw new TfaasError(code, `Cannot ${action}: the key broker at ${broker.origin} answered ${response.status}${reason === "" ? "" : `: ${reason}`}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TfaasError("unavailable", `Cannot ${action}: the key broker's answer is not JSON`, { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new TfaasError("unavailable", `Cannot ${action}: the key broker's answer is malformed`);
  return parsed.data;
}

export interface OpenedCode {
  kind: ArtifactKind;
  /** `sha256:<hex>` of the plaintext, checked: the measurement receipts carry. */
  digest: string;
  plaintext: Uint8Array<ArrayBuffer>;
}

/**
 * Opens a sealed upload inside the worker: a fresh challenge from the broker, evidence bound to
 * it, the wrapped key unwrapped with this worker's HPKE key and that nonce, the code opened and
 * checked against its digest. Refusals keep the broker's reason in the message (never a key).
 */
export async function openSealedCode(envelope: Uint8Array, brokerUrl: string | undefined, functionName: string, identity: WorkerIdentity): Promise<OpenedCode> {
  const upload = decodeSealedUpload(envelope);
  const broker = checkBrokerUrl(brokerUrl, functionName);
  const action = `release the key of ${functionName} (${upload.digest})`;
  const challenge = await post(broker, KEY_RELEASE_PATHS.challenge, { artifactDigest: upload.digest }, challengeAnswerSchema, action);
  const nonce = new Uint8Array(Buffer.from(challenge.nonce, "base64url"));
  if (nonce.length !== KEY_RELEASE_NONCE_LENGTH) throw new TfaasError("unavailable", `Cannot ${action}: the broker's nonce is ${nonce.length} bytes, expected ${KEY_RELEASE_NONCE_LENGTH}`);
  const evidence = await identity.attest(nonce);
  const answer = await post(broker, KEY_RELEASE_PATHS.key, keyRequestBody(upload.digest, nonce, identity, evidence), keyAnswerSchema, action);
  const key = unwrapKey(new Uint8Array(Buffer.from(answer.wrappedKey, "base64url")), identity.hpkePrivateKey, { artifactDigest: upload.digest, nonce });
  try {
    return { kind: upload.kind, digest: upload.digest, plaintext: openArtifact(upload.ciphertext, key, upload.digest) };
  } finally {
    key.fill(0);
  }
}
