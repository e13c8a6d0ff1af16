/**
 * Confidential calls inside the worker: the `message/ohttp-req` body is decrypted here with the
 * worker's attested HPKE key (its OhttpKeyring), the inner request must name the function being
 * run, the function sees only the inner request, and its answer leaves encrypted to the caller.
 *
 * Where the guarantee stops (docs/confidential.md): what the gateway relays around the ciphertext
 * (usage, timing, sizes, the receipt with its digests and status) is visible to it; the function's
 * stderr is withheld rather than encrypted, so a confidential function has no readable log; with
 * the sim TEE the host reads worker memory anyway.
 */
import { decodeBhttpRequest, encodeBhttpResponse, OHTTP_MEDIA_TYPES, OhttpKeyring, type BhttpField } from "../confidential/index.js";
import type { InvocationRequest, InvocationResult } from "../sandbox/index.js";
import { DEFAULT_NAMESPACE, Headers } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";

/** The environment variable the gateway's WorkerPool passes each worker process its key id in. */
export const OHTTP_KEY_ID_ENV = "TFAAS_WORKER_OHTTP_KEY_ID";

/** The key id given in the environment, or undefined when none is (such a worker takes no confidential calls). */
export function ohttpKeyIdFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env[OHTTP_KEY_ID_ENV];
  if (text === undefined || text === "") return undefined;
  const id = Number(text);
  if (!/^[0-9]{1,3}$/.test(text) || id > 255) throw new TfaasError("invalid-request", `Cannot start worker: ${OHTTP_KEY_ID_ENV} must be 0–255, current value is ${JSON.stringify(text.slice(0, 20))}`);
  return id;
}

export interface ConfidentialCall {
  /** The inner request, as the function sees it. */
  request: InvocationRequest;
  /** The function's result as the outer answer: 200 with the encrypted response; stderr withheld. */
  seal(result: Omit<InvocationResult, "usage">): { status: number; headers: Record<string, string>; body: Uint8Array; stderr: string };
}

const VALUE = /^[^\0\r\n]*$/;

function joinFields(fields: readonly BhttpField[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  return headers;
}

/** Response fields binary HTTP can carry: lowercase names, values without NUL/CR/LF, trimmed. */
function responseFields(headers: Record<string, string>): BhttpField[] {
  const fields: BhttpField[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const trimmed = value.trim();
    if (VALUE.test(trimmed)) fields.push([name.toLowerCase(), trimmed]);
  }
  return fields;
}

/** `/function/<name>[.<namespace>][/rest][?query]` → the rest and query, if it names this function. */
function targetOf(innerPath: string, name: string, namespace: string): { path: string; query: string } {
  const match = /^\/function\/([^/.?]+)(?:\.([^/?]+))?(\/[^?]*)?(?:\?(.*))?$/.exec(innerPath);
  const named = match?.[1];
  const space = match?.[2] ?? DEFAULT_NAMESPACE;
  if (match === null || named !== name || space !== namespace) {
    // The path is part of the encrypted request: say only that it does not match, not what it was.
    throw new TfaasError("invalid-request", `Cannot run confidential call: the encrypted request does not target ${name}.${namespace} (the gateway routed it to another function, or the client addressed another one)`);
  }
  return { path: match[3] ?? "/", query: match[4] ?? "" };
}

/**
 * Decrypts `outer.body` with the keyring (refusals: see src/confidential/rejection.ts) and checks
 * the inner request targets `functionId` (`name.namespace`) before anything runs.
 */
export function openConfidentialCall(keyring: OhttpKeyring, outer: InvocationRequest, name: string, functionId: string): ConfidentialCall {
  const decapsulated = keyring.decapsulate(outer.body);
  const inner = decodeBhttpRequest(decapsulated.request);
  const namespace = functionId.slice(name.length + 1);
  const target = targetOf(inner.path, name, namespace);
  const callId = outer.headers[Headers.callId];
  const request: InvocationRequest = {
    method: inner.method,
    path: target.path,
    query: target.query,
    headers: { ...joinFields(inner.headers), ...(callId !== undefined ? { [Headers.callId]: callId } : {}) },
    body: inner.content,
  };
  return {
    request,
    seal(result) {
      const headers = { ...result.headers, ...(result.error ? { [Headers.error]: result.error.code } : {}) };
      const response = encodeBhttpResponse({ informational: [], status: result.status, headers: responseFields(headers), content: result.body, trailers: [] });
      const stderr = result.stderr === "" ? "" : `(${Buffer.byteLength(result.stderr)} bytes of stderr withheld: confidential function)\n`;
      return { status: 200, headers: { "content-type": OHTTP_MEDIA_TYPES.response }, body: decapsulated.respond(response), stderr };
    },
  };
}
