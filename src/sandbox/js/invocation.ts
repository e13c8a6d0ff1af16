/**
 * What both JavaScript engines share on the host side: the request as the prelude's dispatcher
 * takes it, the function's log, the host functions behind console and crypto, and turning a
 * dispatch outcome into an InvocationResult.
 */
import { createHash, randomBytes } from "node:crypto";
import type { InvocationContext, InvocationRequest, InvocationResult, InvocationUsage } from "../index.js";
import { TfaasError } from "../../shared/errors.js";
import { STDERR_LIMIT_BYTES } from "../wasm/index.js";

/** The module specifier functions are evaluated under; stack traces name it. */
export const MODULE_NAME = "function.js";

const utf8 = new TextEncoder();

/** The dispatcher's `meta` argument: everything but the body, as JSON. */
export function requestMeta(request: InvocationRequest, context: InvocationContext): string {
  const env: Record<string, string> = { ...context.env };
  const decoder = new TextDecoder();
  for (const [name, value] of context.secrets) env[name] = decoder.decode(value);
  const query = request.query === "" ? "" : `?${request.query}`;
  return JSON.stringify({
    method: request.method,
    url: `http://function${request.path}${query}`,
    headers: Object.entries(request.headers),
    env,
  });
}

/**
 * The bytes of a view as their own ArrayBuffer. Never `view.slice().buffer` or `view.buffer`: a
 * Node Buffer is often a window on a shared pool, whose other bytes must not enter the sandbox.
 */
export function exactBuffer(view: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(view.byteLength);
  new Uint8Array(copy).set(view);
  return copy;
}

/** The function's console output, bounded like a wasm function's stderr. */
export class FunctionLog {
  #text = "";
  #bytes = 0;
  #truncated = false;

  line(text: string): void {
    if (this.#truncated) return;
    const size = utf8.encode(text).length + 1;
    if (this.#bytes + size > STDERR_LIMIT_BYTES) {
      this.#truncated = true;
      return;
    }
    this.#bytes += size;
    this.#text += `${text}\n`;
  }

  get bytes(): number {
    return this.#bytes;
  }

  text(): string {
    return this.#truncated ? `${this.#text}[log truncated at ${STDERR_LIMIT_BYTES} bytes]\n` : this.#text;
  }
}

const DIGESTS: Record<string, string> = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

/** Host side of crypto.subtle.digest; the prelude has checked the name against the same list. */
export function hostDigest(algorithm: string, data: Uint8Array): Uint8Array {
  const name = DIGESTS[algorithm];
  if (name === undefined) throw new TfaasError("invalid-request", `Cannot digest: algorithm is ${algorithm}`);
  return createHash(name).update(data).digest();
}

/** Host side of crypto.getRandomValues (the prelude caps a request at 65,536 bytes). */
export function hostRandom(length: number): Uint8Array {
  return randomBytes(Math.min(Math.max(0, Math.trunc(length)), 65_536));
}

/** Host side of the prelude's UTF-8 encoder (lone surrogates become U+FFFD, as TextEncoder does). */
export function hostEncode(text: string): Uint8Array {
  return utf8.encode(text);
}

const lenientUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const fatalUtf8 = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** Host side of the prelude's UTF-8 decoder; `fatal` throws a TypeError on malformed input. */
export function hostDecode(data: Uint8Array, fatal: boolean): string {
  return (fatal ? fatalUtf8 : lenientUtf8).decode(data);
}

/** The dispatcher's settled value. */
export interface DispatchOutput {
  status: number;
  headersJson: string;
  body: Uint8Array;
}

export function successResult(output: DispatchOutput, context: InvocationContext, log: FunctionLog, usage: InvocationUsage): InvocationResult {
  if (output.body.length > context.maxOutputBytes) {
    return failureResult(
      new TfaasError("output-too-large", `Cannot return the function's output: it exceeds the limit of ${context.maxOutputBytes} bytes`),
      log,
      usage,
    );
  }
  const headers: Record<string, string> = {};
  let pairs: Array<[string, string]>;
  try {
    pairs = JSON.parse(output.headersJson) as Array<[string, string]>;
    if (!Array.isArray(pairs) || typeof output.status !== "number") throw new TypeError("not a header list");
  } catch (error) {
    return failureResult(new TfaasError("function-failed", "Cannot complete the call: the sandbox returned a malformed response", { cause: error }), log, usage);
  }
  for (const [name, value] of pairs) {
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: output.status, headers, body: output.body, stderr: log.text(), usage: { ...usage, ioBytesOut: output.body.length + log.bytes } };
}

export function failureResult(failure: TfaasError, log: FunctionLog, usage: InvocationUsage): InvocationResult {
  return {
    status: failure.status,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body: utf8.encode(failure.message),
    stderr: log.text(),
    usage: { ...usage, ioBytesOut: log.bytes },
    error: failure,
  };
}

/** An exception the function let escape: its text goes to the log, a generic message to the caller. */
export function thrownByFunction(log: FunctionLog, description: string): TfaasError {
  log.line(`Uncaught ${description}`);
  return new TfaasError("function-failed", "Cannot complete the call: the function threw an exception (see its logs)");
}

export function fuelExhausted(limit: bigint | undefined): TfaasError {
  return new TfaasError("fuel-exhausted", `Cannot complete the call: it exhausted its fuel budget of ${limit} (deterministic; retrying does not help)`);
}

export function timedOut(timeoutMs: number): TfaasError {
  return new TfaasError("timeout", `Cannot complete the call: it exceeded its time limit of ${Math.round(timeoutMs)} ms`);
}

export function outOfMemory(limitBytes: number): TfaasError {
  return new TfaasError("function-failed", `Cannot complete the call: the function exceeded its memory limit of ${limitBytes} bytes`);
}

/** A function's source text; the upload checked it parses, the worker checks it is UTF-8. */
export function decodeSource(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new TfaasError("invalid-artifact", "Cannot prepare: JavaScript source is not valid UTF-8", { cause: error });
  }
}

/** Default heap limit of a JavaScript function without limits.memory. */
export const DEFAULT_JS_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * A call each engine runs once when it starts (before any function's first call) through the
 * same path as a function's calls, so that lazily compiled engine code and the prelude's
 * functions are compiled then, not during a function's first call. Expected status: 201.
 */
export const WARM_UP_SOURCE = `export default { async fetch(request, env) {
  const url = new URL(request.url), headers = new Headers(request.headers), text = await request.text();
  console.log(url.searchParams.get("q"), headers.get("x-a"), new TextDecoder().decode(new TextEncoder().encode(text)));
  return Response.json({ path: url.pathname, text, env, r: Math.random() }, { status: 201, headers: { "x-b": "1" } });
} };`;
export const WARM_UP_REQUEST: InvocationRequest = { method: "POST", path: "/warm", query: "q=1", headers: { "x-a": "a" }, body: utf8.encode("warm") };
export const WARM_UP_CONTEXT: InvocationContext = { env: {}, secrets: new Map(), maxOutputBytes: 1 << 20, fuelLimit: undefined };
