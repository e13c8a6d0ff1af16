/**
 * Asynchronous invocation over HTTP, on the queue (src/queue):
 *  - POST /async-function/{name}[.{namespace}][/{path}] → 202 + X-Call-Id once the request is
 *    durable (open, as /function/* is); other methods 405; unknown function 404; malformed or
 *    refused X-Callback-Url 400; full queue 429.
 *  - DELETE /async-function/{callId} (auth) → 202 cancels a queued call; 409 once it runs or
 *    has finished; 404 unknown.
 *  - GET /system/async/{callId} (auth) → the call's status as JSON, its result while retained.
 * Each attempt reaches the function with `X-Tfaas-Attempt: n` (HTTP_X_TFAAS_ATTEMPT).
 */
import type { IncomingMessage } from "node:http";
import { readRequestHeader } from "../confidential/index.js";
import { Gauge, type Registry } from "prom-client";
import type { PlatformConfig } from "../config/index.js";
import {
  CallbackPolicy,
  CallbackSender,
  Dispatcher,
  functionLimits,
  type CallRecord,
  type CallResult,
  type CallRunner,
  type ClaimedCall,
  type FunctionLimits,
  type Queue,
} from "../queue/index.js";
import { DEFAULT_NAMESPACE, Headers } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { refusePlaintext } from "./confidential-route.js";
import type { FunctionRegistry, LiveFunction } from "./functions.js";
import { readBody, sendJson, type Route } from "./http.js";
import { callIdOf, functionHeaders } from "./invoke-route.js";
import type { Invoker } from "./invoker.js";

export const AsyncHeaders = {
  callbackUrl: "x-callback-url",
  /** Which attempt of an async call this is, from 1: lets a function behave differently on a retry. */
  attempt: "x-tfaas-attempt",
} as const;

/** How long a stopping gateway waits for running async calls before leaving them to the next start. */
const DRAIN_MS = 5_000;
const CALLBACK_CONCURRENCY = 32;

export interface AsyncInvocationsOptions {
  config: PlatformConfig;
  queue: Queue;
  registry: FunctionRegistry;
  invoker: Invoker;
  authorized: (req: IncomingMessage) => boolean;
  /** Where to register the queue's gauges (tfaas_async_queue_depth, tfaas_async_running). */
  metrics?: Registry;
}

export interface AsyncInvocations {
  routes: Route[];
  dispatcher: Dispatcher;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** JSON of GET /system/async/{callId}. Times are RFC 3339. */
export interface AsyncCallStatus {
  callId: string;
  function: string;
  namespace: string;
  state: CallRecord["state"];
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  statusCode?: number;
  durationSeconds?: number;
  callback?: { url: string; state: string; attempts: number; lastError?: string; nextAttemptAt?: string };
  /** The function's output, while retained: text when it is valid UTF-8, else base64 (see resultEncoding). */
  result?: string;
  resultEncoding?: "utf8" | "base64";
  contentType?: string;
}

export function createAsyncInvocations({ config, queue, registry, invoker, authorized, metrics }: AsyncInvocationsOptions): AsyncInvocations {
  const settings = config.async;
  const defaults: FunctionLimits = { concurrency: settings.functionConcurrency, maxAttempts: settings.maxAttempts };
  const backoff = { baseMs: settings.retryBaseMs, maxMs: Math.max(settings.retryBaseMs, settings.retryMaxMs) };
  const policy = new CallbackPolicy({ allow: settings.callbackAllow, deny: settings.callbackDeny });
  const callbacks = new CallbackSender({
    queue,
    policy,
    maxAttempts: settings.callbackAttempts,
    backoff,
    timeoutMs: settings.callbackTimeoutMs,
    concurrency: CALLBACK_CONCURRENCY,
  });
  const dispatcher = new Dispatcher({
    queue,
    runner: invokerRunner(registry, invoker, defaults),
    callbacks,
    globalConcurrency: settings.concurrency,
    retry: backoff,
    retentionMs: settings.retentionMs,
    sweepIntervalMs: Math.min(60_000, Math.max(1_000, Math.floor(settings.retentionMs / 10))),
  });

  if (metrics !== undefined) {
    new Gauge({
      name: "tfaas_async_queue_depth",
      help: "Async calls queued (waiting to start or for a retry)",
      registers: [metrics],
      async collect() {
        this.set(await queue.depth().catch(() => 0));
      },
    });
    new Gauge({
      name: "tfaas_async_running",
      help: "Async calls running now",
      registers: [metrics],
      collect() {
        this.set(dispatcher.running);
      },
    });
  }

  const enqueueRoute: Route = {
    pattern: /^\/async-function\/([^/]+)(\/.*)?$/,
    auth: false,
    methods: {
      POST: async ({ req, res, url, params }) => {
        const callId = callIdOf(req.headers);
        res.setHeader(Headers.callId, callId);
        const segment = params[0]!;
        const dot = segment.indexOf(".");
        const name = dot < 0 ? segment : segment.slice(0, dot);
        const namespace = dot < 0 ? DEFAULT_NAMESPACE : segment.slice(dot + 1);
        const fn = registry.get(name, namespace);
        if (!fn) throw new TfaasError("function-not-found", `Cannot enqueue a call to ${name}: no such function in namespace ${namespace}`);
        functionLimits(metaOf(fn), defaults);
        // A confidential function's queue holds only ciphertext: plaintext is refused before it is read.
        refusePlaintext(name, fn.settings.confidential, req.headers["content-type"]);
        const callbackUrl = await checkedCallbackUrl(req, policy);
        const body = await readBody(req, config.maxRequestBytes);
        if (fn.settings.confidential) readRequestHeader(body);
        const request = { method: "POST", path: params[1] ?? "/", query: url.search.slice(1), headers: functionHeaders(req.headers, callId), body };
        await queue.enqueue({ callId, name, namespace, request, now: Date.now(), ...(callbackUrl === undefined ? {} : { callbackUrl }) });
        dispatcher.notify(name, namespace);
        res.writeHead(202, { "content-length": 0 });
        res.end();
      },
      DELETE: async ({ req, res, params }) => {
        if (!authorized(req)) throw new TfaasError("unauthorized", "Cannot authorize: missing or invalid credentials");
        const callId = params[0]!;
        if (params[1] !== undefined) throw new TfaasError("not-found", "Cannot cancel a call: DELETE takes /async-function/{callId}");
        const state = await queue.cancel(callId, Date.now());
        if (state === undefined) throw new TfaasError("not-found", `Cannot cancel call ${callId}: no such call (finished calls are forgotten after the retention time)`);
        if (state !== "queued") throw new TfaasError("conflict", `Cannot cancel call ${callId}: current state is ${state}; only queued calls can be cancelled`);
        res.writeHead(202, { [Headers.callId]: callId, "content-length": 0 });
        res.end();
      },
    },
  };

  const statusRoute: Route = {
    pattern: /^\/system\/async\/([^/]+)$/,
    auth: true,
    methods: {
      GET: async ({ res, params }) => {
        const callId = params[0]!;
        const record = await queue.get(callId);
        if (!record) throw new TfaasError("not-found", `Cannot find call ${callId}: no such call (finished calls are forgotten after the retention time)`);
        sendJson(res, 200, statusOf(record));
      },
    },
  };

  return {
    routes: [enqueueRoute, statusRoute],
    dispatcher,
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(DRAIN_MS),
  };
}

/** Syntax errors and policy refusals are the caller's 400; a name that does not resolve yet is checked again at delivery. */
async function checkedCallbackUrl(req: IncomingMessage, policy: CallbackPolicy): Promise<string | undefined> {
  const raw = req.headers[AsyncHeaders.callbackUrl];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw new TfaasError("invalid-request", "Cannot accept X-Callback-Url: current value is repeated, expected one URL");
  const url = CallbackPolicy.parseUrl(raw);
  try {
    await policy.check(url);
  } catch (error) {
    if (!(error instanceof TfaasError) || error.code !== "unavailable") throw error;
  }
  return url.href;
}

function metaOf(fn: LiveFunction): Record<string, string> {
  return { ...fn.record.deployment.labels, ...fn.record.deployment.annotations };
}

/** Runs attempts on the workers through the same Invoker as synchronous calls. */
function invokerRunner(registry: FunctionRegistry, invoker: Invoker, defaults: FunctionLimits): CallRunner {
  const warned = new Set<string>();
  return {
    async run(call: ClaimedCall): Promise<CallResult> {
      const fn = registry.get(call.name, call.namespace);
      if (!fn) {
        const body = new TextEncoder().encode(`Cannot invoke ${call.name}: no such function in namespace ${call.namespace}\n`);
        return { statusCode: 404, headers: { "content-type": "text/plain; charset=utf-8", [Headers.error]: "function-not-found" }, body, durationSeconds: 0 };
      }
      const { body, ...request } = call.request;
      const headers = { ...request.headers, [AsyncHeaders.attempt]: String(call.attempts) };
      const outcome = await invoker.call(fn, { ...request, headers }, () => Promise.resolve(body), call.callId);
      const output = typeof outcome.body === "string" ? new TextEncoder().encode(outcome.body) : outcome.body;
      return { statusCode: outcome.status, headers: outcome.headers, body: output, durationSeconds: outcome.seconds };
    },
    limits(name: string, namespace: string): FunctionLimits {
      const fn = registry.get(name, namespace);
      if (!fn) return defaults;
      try {
        return functionLimits(metaOf(fn), defaults);
      } catch (error) {
        // Enqueueing refuses such a function; this covers an update after calls were queued.
        const key = `${fn.id}@${fn.record.revision}`;
        if (!warned.has(key)) log.warn("using default async limits", { function: fn.id, reason: error });
        warned.add(key);
        return defaults;
      }
    },
  };
}

export function statusOf(record: CallRecord): AsyncCallStatus {
  const iso = (ms: number) => new Date(ms).toISOString();
  const status: AsyncCallStatus = {
    callId: record.callId,
    function: record.name,
    namespace: record.namespace,
    state: record.state,
    attempts: record.attempts,
    createdAt: iso(record.createdAt),
  };
  if (record.startedAt !== undefined) status.startedAt = iso(record.startedAt);
  if (record.finishedAt !== undefined) status.finishedAt = iso(record.finishedAt);
  if (record.statusCode !== undefined) status.statusCode = record.statusCode;
  if (record.callback) {
    const { url, state, attempts, lastError, nextAt } = record.callback;
    status.callback = { url, state, attempts };
    if (lastError !== undefined) status.callback.lastError = lastError;
    if (nextAt !== undefined && state === "pending") status.callback.nextAttemptAt = iso(nextAt);
  }
  if (record.result) {
    status.durationSeconds = record.result.durationSeconds;
    const contentType = record.result.headers["content-type"];
    if (contentType !== undefined) status.contentType = contentType;
    try {
      status.result = new TextDecoder("utf-8", { fatal: true }).decode(record.result.body);
      status.resultEncoding = "utf8";
    } catch {
      status.result = Buffer.from(record.result.body).toString("base64");
      status.resultEncoding = "base64";
    }
  }
  return status;
}
