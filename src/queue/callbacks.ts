/**
 * Callback delivery: when a call with an X-Callback-Url finishes, its result is POSTed there —
 * the function's output as the body, with X-Call-Id, X-Function-Status, X-Function-Name,
 * X-Duration-Seconds and the outcome's X-Tfaas-* headers. Every attempt is counted in the queue
 * before it is made, the target is re-checked against the callback policy and the connection
 * goes to the checked address. Failures are retried with capped exponential backoff until
 * `maxAttempts`; any 2xx answer is delivery. Delivery is at least once: a crash after the
 * receiver answered but before the queue recorded it repeats the delivery, with the same
 * X-Call-Id, so receivers can deduplicate.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { backoffDelayMs, type Backoff } from "./backoff.js";
import type { CallbackPolicy, CallbackTarget } from "./callback-policy.js";
import type { CallRecord, Queue } from "./queue.js";

export interface CallbackOptions {
  queue: Queue;
  policy: CallbackPolicy;
  maxAttempts: number;
  backoff: Backoff;
  /** Deadline of one delivery attempt, connection included. */
  timeoutMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
  now?: () => number;
}

export const CallbackHeaders = {
  callId: "x-call-id",
  functionStatus: "x-function-status",
  functionName: "x-function-name",
  durationSeconds: "x-duration-seconds",
} as const;

/** A keep-alive pool per scheme; every socket in it was opened to an address the policy accepted. */
const agents = { "http:": new http.Agent({ keepAlive: true, maxSockets: 64 }), "https:": new https.Agent({ keepAlive: true, maxSockets: 64 }) };

export class CallbackSender {
  readonly #options: CallbackOptions;
  readonly #now: () => number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #ready: string[] = [];
  readonly #active = new Set<Promise<void>>();
  #stopped = false;

  constructor(options: CallbackOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Resumes deliveries left pending (e.g. by a restart). */
  async resume(): Promise<void> {
    for (const record of await this.#options.queue.pendingCallbacks()) this.schedule(record.callId, record.callback?.nextAt ?? this.#now());
  }

  /** Delivers the callback of a finished call at `at` (or now, when that has passed). */
  schedule(callId: string, at: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timers.get(callId));
    const delay = at - this.#now();
    if (delay <= 0) {
      this.#timers.delete(callId);
      this.#ready.push(callId);
      this.#drain();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(callId);
      this.#ready.push(callId);
      this.#drain();
    }, delay);
    timer.unref();
    this.#timers.set(callId, timer);
  }

  /** Stops scheduling; waits up to `drainMs` for deliveries in flight. Pending ones resume at the next start. */
  async stop(drainMs: number): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#ready.length = 0;
    await settleWithin([...this.#active], drainMs);
  }

  #drain(): void {
    while (!this.#stopped && this.#active.size < this.#options.concurrency && this.#ready.length > 0) {
      const callId = this.#ready.shift()!;
      const task = this.#deliver(callId)
        .catch((error: unknown) => {
          if (!this.#stopped) log.error("cannot deliver callback", { call: callId, error });
        })
        .finally(() => {
          this.#active.delete(task);
          this.#drain();
        });
      this.#active.add(task);
    }
  }

  async #deliver(callId: string): Promise<void> {
    const { queue, policy, maxAttempts, backoff } = this.#options;
    const record = await queue.get(callId);
    if (record?.callback?.state !== "pending" || record.result === undefined) return;
    const attempt = await queue.startCallback(callId);
    let target: CallbackTarget;
    try {
      target = await policy.check(new URL(record.callback.url));
    } catch (error) {
      const failure = error instanceof TfaasError ? error : new TfaasError("internal", "Cannot check the callback target", { cause: error });
      // A refusal will not change by retrying; a name that does not resolve now might.
      if (failure.code === "invalid-request") return this.#settle(record, "failed", failure.message, attempt);
      return this.#retryOrFail(record, failure.message, attempt, maxAttempts, backoff);
    }
    let problem: string;
    try {
      const status = await post(target, callbackHeaders(record), record.result.body, this.#options.timeoutMs);
      if (status >= 200 && status < 300) return this.#settle(record, "delivered", undefined, attempt);
      problem = `the receiver answered ${status}`;
    } catch (error) {
      problem = `the request failed: ${networkReason(error)}`;
    }
    return this.#retryOrFail(record, problem, attempt, maxAttempts, backoff);
  }

  async #retryOrFail(record: CallRecord, problem: string, attempt: number, maxAttempts: number, backoff: Backoff): Promise<void> {
    if (attempt >= maxAttempts) return this.#settle(record, "failed", problem, attempt);
    const nextAt = this.#now() + backoffDelayMs(attempt, backoff);
    await this.#options.queue.settleCallback(record.callId, "pending", problem, nextAt);
    this.schedule(record.callId, nextAt);
  }

  async #settle(record: CallRecord, state: "delivered" | "failed", problem: string | undefined, attempt: number): Promise<void> {
    await this.#options.queue.settleCallback(record.callId, state, problem, undefined);
    if (state === "failed") {
      // The host only: a callback URL's path or query may carry a token.
      const host = URL.canParse(record.callback!.url) ? new URL(record.callback!.url).host : "?";
      log.warn("callback not delivered", { call: record.callId, function: record.name, host, attempts: attempt, reason: problem });
    }
  }
}

export function callbackHeaders(record: CallRecord): Record<string, string> {
  const result = record.result!;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers)) {
    if (name.startsWith("x-tfaas-") || name === "content-type") headers[name] = value;
  }
  headers[CallbackHeaders.callId] = record.callId;
  headers[CallbackHeaders.functionStatus] = String(result.statusCode);
  headers[CallbackHeaders.functionName] = record.name;
  headers[CallbackHeaders.durationSeconds] = result.durationSeconds.toFixed(6);
  return headers;
}

/** One POST to the checked address; answers the status. Never follows redirects and never uses a proxy. */
function post(target: CallbackTarget, headers: Record<string, string>, body: Uint8Array, timeoutMs: number): Promise<number> {
  const { url, address } = target;
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all === true) callback(null, [{ address: address.address, family: address.family }]);
    else callback(null, address.address, address.family);
  };
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: "POST",
        agent: url.protocol === "https:" ? agents["https:"] : agents["http:"],
        lookup: pinned,
        headers: { ...headers, "content-length": String(body.byteLength) },
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
        response.once("error", reject);
      },
    );
    request.once("error", reject);
    request.end(body);
  });
}

function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) return "no answer in time";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.message : String(error);
}

/** Waits for the promises to settle, but no longer than `ms`. */
export async function settleWithin(promises: ReadonlyArray<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(promises), deadline]);
  clearTimeout(timer);
}
