/**
 * Confidential functions at the gateway (docs/confidential.md). The gateway never decrypts: for a
 * function annotated `com.tfaas.confidential: "true"` it accepts only `message/ohttp-req` bodies,
 * reads the key id from their 7-byte header and routes each to the one worker holding that key;
 * plaintext calls are refused before they reach a worker or the queue. GET /system/ohttp-keys
 * publishes the running workers' key configurations (`application/ohttp-keys`); a client trusts
 * one only after matching its public key with an HPKE key bound in verified attestation evidence
 * (GET /system/attestation).
 */
import { OHTTP_MEDIA_TYPES, encodeKeyConfigs, readRequestHeader, type OhttpKeyConfig } from "../confidential/index.js";
import { Annotations } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import type { FunctionDeployment } from "../shared/function.js";
import type { Route } from "./http.js";

/** RFC 9458 §5.3: the problem type for a request sealed to a key configuration the gateway does not serve. */
export const OHTTP_KEY_PROBLEM = "https://iana.org/assignments/http-problem-types#ohttp-key";

/** Whether a deployment is confidential; any value other than "true" or "false" is refused at deploy time. */
export function confidentialSetting(deployment: FunctionDeployment): boolean {
  const value = deployment.annotations?.[Annotations.confidential];
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new TfaasError("invalid-request", `Cannot deploy ${deployment.service}: annotation ${Annotations.confidential} must be "true" or "false", current value is ${JSON.stringify(value.slice(0, 40))}`);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/**
 * Refuses a plaintext call to a confidential function; call it before a body is read or queued.
 * Nothing about the body goes into the message.
 */
export function refusePlaintext(service: string, confidential: boolean, contentType: string | undefined): void {
  if (!confidential || mediaType(contentType) === OHTTP_MEDIA_TYPES.request) return;
  throw new TfaasError(
    "invalid-request",
    `Cannot invoke ${service}: it is a confidential function and accepts only ${OHTTP_MEDIA_TYPES.request} bodies encrypted to an attested worker key (GET /system/ohttp-keys; tfaas invoke --confidential), current Content-Type is ${JSON.stringify(mediaType(contentType) || "(none)")}`,
  );
}

/**
 * Where a confidential call goes: the worker holding the key its header names. Undefined for other
 * functions. `routable`: whether the dispatch can route by key (it publishes keys); if not, the call
 * is refused rather than handed to a worker that would treat ciphertext as the body.
 */
export function ohttpRouteOf(service: string, confidential: boolean, contentType: string | undefined, body: Uint8Array, routable: boolean): { ohttpKeyId: number } | undefined {
  if (!confidential) return undefined;
  refusePlaintext(service, confidential, contentType);
  const { keyId } = readRequestHeader(body);
  if (!routable) throw new TfaasError("unavailable", `Cannot invoke ${service}: confidential calls need workers that publish OHTTP keys, and the current dispatch publishes none`);
  return { ohttpKeyId: keyId };
}

/** The body of an `ohttp-key` refusal, as RFC 9458 §5.3 suggests (application/problem+json). */
export function ohttpKeyProblem(message: string): string {
  return JSON.stringify({ type: OHTTP_KEY_PROBLEM, title: "key identifier unknown", detail: message }) + "\n";
}

export function ohttpKeysRoute(keys: () => OhttpKeyConfig[]): Route {
  return {
    pattern: /^\/system\/ohttp-keys$/,
    // Public keys, as open as /function/*: trust comes from attestation, not from who may read them.
    auth: false,
    methods: {
      GET: ({ res }) => {
        const body = encodeKeyConfigs(keys());
        res.writeHead(200, { "content-type": OHTTP_MEDIA_TYPES.keys, "content-length": body.byteLength, "cache-control": "no-store" });
        res.end(body);
      },
    },
  };
}
