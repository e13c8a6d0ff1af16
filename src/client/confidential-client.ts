/**
 * One confidential call in one method: pick a published OHTTP key bound to a worker that passed
 * the policy (cached attestation result, else a fresh attestation), encrypt the request to it as
 * binary HTTP, send it, decrypt the answer, and verify the call's receipt under that worker's
 * attested receipt key, with digests of the plaintext this client sent and received.
 *
 * Where the guarantee stops: the answer is authentic (only the holder of the attested key could
 * produce it) and private from the gateway, as far as the worker's TEE protects its key (sim: not
 * at all). Sizes, timing and which function is called remain visible (docs/confidential.md).
 */
import { decodeBhttpResponse, encapsulateRequest, encodeBhttpRequest, type BhttpField } from "../confidential/index.js";
import { RECEIPT_HEADER, decodeReceiptHeader, verifyReceipt, type Check, type SignedReceipt } from "../crypto/index.js";
import { DEFAULT_NAMESPACE } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import { AttestedKeys, type AttestedKeysOptions, type AttestedWorker } from "./attested-keys.js";
import { gatewayFetch, type GatewayTarget } from "./http.js";

export interface ConfidentialClientOptions extends AttestedKeysOptions, GatewayTarget {}

export interface ConfidentialRequest {
  /** Default POST. */
  method?: string;
  /** Below the function's root, e.g. "/items"; default "/". */
  path?: string;
  /** Raw query string without "?". */
  query?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

export interface ReceiptOutcome {
  /** False when the gateway runs with receipts off (no receipt to check). */
  present: boolean;
  ok: boolean;
  checks: Check[];
  receipt?: SignedReceipt;
}

export interface ConfidentialResponse {
  /** The function's own status, headers and body (decrypted). */
  status: number;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer>;
  /** The worker the request was encrypted to. */
  worker: Omit<AttestedWorker, "config" | "receiptKey">;
  receipt: ReceiptOutcome;
  callId: string | undefined;
}

function fieldsOf(headers: Record<string, string> = {}): BhttpField[] {
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value] as const);
}

function joined(fields: readonly BhttpField[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of fields) out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  return out;
}

export class ConfidentialClient {
  readonly #target: GatewayTarget;
  readonly #keys: AttestedKeys;
  #workers: AttestedWorker[] | undefined;
  #next = 0;

  constructor(options: ConfidentialClientOptions) {
    this.#target = { url: options.url.replace(/\/+$/, ""), ...(options.credentials !== undefined ? { credentials: options.credentials } : {}) };
    this.#keys = new AttestedKeys(this.#target, options);
  }

  /** The attested workers this client encrypts to (fetched and verified on first use). */
  async workers(): Promise<AttestedWorker[]> {
    this.#workers ??= await this.#keys.workers();
    return this.#workers;
  }

  /** Calls `name` (`name` or `name.namespace`) confidentially; a stale key is refreshed once. */
  async invoke(name: string, request: ConfidentialRequest = {}): Promise<ConfidentialResponse> {
    try {
      return await this.#invokeOnce(name, request);
    } catch (error) {
      if (!(error instanceof TfaasError) || error.code !== "ohttp-key") throw error;
      // The worker holding the key restarted: fresh keys, fresh attestation if they are new.
      this.#workers = undefined;
      return this.#invokeOnce(name, request);
    }
  }

  async #invokeOnce(name: string, request: ConfidentialRequest): Promise<ConfidentialResponse> {
    const workers = await this.workers();
    const worker = workers[this.#next++ % workers.length]!;
    const body = typeof request.body === "string" ? new TextEncoder().encode(request.body) : (request.body ?? new Uint8Array(0));
    const path = request.path ?? "/";
    const query = request.query === undefined || request.query === "" ? "" : `?${request.query}`;
    const inner = encodeBhttpRequest({
      method: request.method ?? "POST",
      scheme: new URL(this.#target.url).protocol.replace(":", ""),
      authority: new URL(this.#target.url).host,
      path: `/function/${name}${path === "/" ? "" : path}${query}`,
      headers: fieldsOf(request.headers),
      content: body,
      trailers: [],
    });
    const sealed = encapsulateRequest(worker.config, inner);
    const response = await gatewayFetch(this.#target, `/function/${name}`, { method: "POST", headers: { "content-type": "message/ohttp-req" }, body: sealed.bytes }, `invoke ${name} confidentially`);
    const answer = decodeBhttpResponse(sealed.context.openResponse(new Uint8Array(await response.arrayBuffer())));
    const qualified = name.includes(".") ? name : `${name}.${DEFAULT_NAMESPACE}`;
    const { config: _config, receiptKey, ...shown } = worker;
    return {
      status: answer.status,
      headers: joined(answer.headers),
      body: new Uint8Array(answer.content),
      worker: shown,
      receipt: checkReceipt(response.headers.get(RECEIPT_HEADER), { receiptKey, workerId: worker.workerId, function: qualified, request: body, response: answer.content }),
      callId: response.headers.get("x-call-id") ?? undefined,
    };
  }
}

function checkReceipt(header: string | null, expected: { receiptKey: Uint8Array; workerId: string; function: string; request: Uint8Array; response: Uint8Array }): ReceiptOutcome {
  if (header === null) return { present: false, ok: true, checks: [] };
  let receipt: SignedReceipt;
  try {
    receipt = decodeReceiptHeader(header);
  } catch (error) {
    return { present: true, ok: false, checks: [{ name: "receipt.format", ok: false, detail: (error as Error).message }] };
  }
  const verification = verifyReceipt(receipt, { publicKey: expected.receiptKey, request: expected.request, response: expected.response });
  const checks: Check[] = [
    ...verification.checks,
    { name: "receipt.worker", ok: receipt.content.workerId === expected.workerId, detail: `receipt names worker ${receipt.content.workerId}; the request was encrypted to ${expected.workerId}` },
    { name: "receipt.function", ok: receipt.content.function === expected.function, detail: `receipt names ${receipt.content.function}; called ${expected.function}` },
  ];
  return { present: true, ok: checks.every((check) => check.ok), checks, receipt };
}
