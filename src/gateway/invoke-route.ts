/**
 * /function/{name}[.{namespace}][/{path}]: synchronous invocation with any method, path and query.
 * This is the hot path: one map lookup, one bounded body read, one IPC round trip.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { DEFAULT_NAMESPACE, Headers } from "../shared/constants.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import type { InvocationRequest } from "../sandbox/index.js";
import type { WorkerPool } from "../worker/pool.js";
import type { FunctionRegistry } from "./functions.js";
import { readBody, type Route } from "./http.js";
import type { FunctionLogs } from "./logs.js";
import type { GatewayMetrics } from "./metrics.js";

export interface InvokeDeps {
  registry: FunctionRegistry;
  pool: WorkerPool;
  logs: FunctionLogs;
  metrics: GatewayMetrics;
  maxRequestBytes: number;
}

const CALL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name !== "authorization") flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

export function invokeRoute({ registry, pool, logs, metrics, maxRequestBytes }: InvokeDeps): Route {
  return {
    pattern: /^\/function\/([^/.]+)(?:\.([^/]+))?(\/.*)?$/,
    auth: false,
    methods: {
      "*": async ({ req, res, url, params }) => {
        const started = process.hrtime.bigint();
        const startTime = `${BigInt(Date.now()) * 1_000_000n}`;
        const sent = req.headers[Headers.callId];
        const callId = typeof sent === "string" && CALL_ID.test(sent) ? sent : randomUUID();
        const name = params[0]!;
        const namespace = params[1] ?? DEFAULT_NAMESPACE;
        // Set now so that error responses carry them too.
        res.setHeader(Headers.callId, callId);
        res.setHeader(Headers.startTime, startTime);
        const fn = registry.get(name, namespace);
        if (!fn) throw new TfaasError("function-not-found", `Cannot invoke ${name}: no such function in namespace ${namespace}`);
        const max = fn.settings.maxInflight;
        if (max !== undefined && fn.inflight >= max) {
          throw new TfaasError("too-many-requests", `Cannot invoke ${name}: ${max} calls already in flight (max_inflight)`);
        }

        const label = fn.id;
        fn.inflight++;
        metrics.invocationStarted.labels(label).inc();
        let status: number;
        let responseHeaders: Record<string, string>;
        let body: Uint8Array | string;
        try {
          const requestBody = await readBody(req, maxRequestBytes);
          if (fn.record.replicas === 0) await registry.scale(fn, 1);
          const request: InvocationRequest = {
            method: req.method ?? "GET",
            path: params[2] ?? "/",
            query: url.search.slice(1),
            headers: { ...flattenHeaders(req.headers), [Headers.callId]: callId },
            body: requestBody,
          };
          const result = await pool.invoke(fn.id, request, fn.settings.execTimeoutMs);
          if (result.stderr) logs.record(fn.record.name, fn.record.namespace, result.instance, result.stderr);
          status = result.status;
          body = result.body;
          responseHeaders = result.headers;
          if (!hasHeader(responseHeaders, "content-type")) {
            responseHeaders["content-type"] = fn.settings.contentType ?? req.headers["content-type"] ?? "text/plain; charset=utf-8";
          }
          if (result.error) responseHeaders[Headers.error] = result.error.code;
        } catch (error) {
          const failure = asTfaasError(error);
          if (failure.code === "timeout" || failure.code === "worker-crashed" || failure.code === "internal") {
            logs.record(fn.record.name, fn.record.namespace, "gateway", `call ${callId} failed: ${failure.message}`);
          }
          status = failure.status;
          body = failure.message + "\n";
          responseHeaders = { "content-type": "text/plain; charset=utf-8", [Headers.error]: failure.code };
        } finally {
          fn.inflight--;
        }
        fn.invocations++;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.invocationTotal.labels(label, String(status)).inc();
        metrics.functionSeconds.labels(label, String(status)).observe(seconds);
        res.writeHead(status, {
          ...responseHeaders,
          [Headers.durationSeconds]: seconds.toFixed(6),
          "content-length": typeof body === "string" ? Buffer.byteLength(body) : body.byteLength,
        });
        res.end(body);
      },
    },
  };
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}
