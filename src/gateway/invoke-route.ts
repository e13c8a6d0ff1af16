/**
 * /function/{name}[.{namespace}][/{path}]: synchronous invocation with any method, path and query.
 * This is the hot path: one map lookup, one bounded body read, one IPC round trip.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { DEFAULT_NAMESPACE, Headers } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import type { FunctionRegistry } from "./functions.js";
import { readBody, type Route } from "./http.js";
import type { Invoker } from "./invoker.js";

const CALL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's call id when it is well-formed, else a new one. */
export function callIdOf(headers: IncomingHttpHeaders): string {
  const sent = headers[Headers.callId];
  return typeof sent === "string" && CALL_ID.test(sent) ? sent : randomUUID();
}

/** Request headers as a function sees them: joined, and without the caller's credentials. */
export function functionHeaders(headers: IncomingHttpHeaders, callId: string): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name !== "authorization") flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  flat[Headers.callId] = callId;
  return flat;
}

export function invokeRoute(registry: FunctionRegistry, invoker: Invoker, maxRequestBytes: number): Route {
  return {
    pattern: /^\/function\/([^/.]+)(?:\.([^/]+))?(\/.*)?$/,
    auth: false,
    methods: {
      "*": async ({ req, res, url, params }) => {
        const callId = callIdOf(req.headers);
        // Set now so that error responses carry them too.
        res.setHeader(Headers.callId, callId);
        res.setHeader(Headers.startTime, `${BigInt(Date.now()) * 1_000_000n}`);
        const name = params[0]!;
        const namespace = params[1] ?? DEFAULT_NAMESPACE;
        const fn = registry.get(name, namespace);
        if (!fn) throw new TfaasError("function-not-found", `Cannot invoke ${name}: no such function in namespace ${namespace}`);
        const request = {
          method: req.method ?? "GET",
          path: params[2] ?? "/",
          query: url.search.slice(1),
          headers: functionHeaders(req.headers, callId),
        };
        const outcome = await invoker.call(fn, request, () => readBody(req, maxRequestBytes), callId);
        const body = outcome.body;
        res.writeHead(outcome.status, {
          ...outcome.headers,
          [Headers.durationSeconds]: outcome.seconds.toFixed(6),
          "content-length": typeof body === "string" ? Buffer.byteLength(body) : body.byteLength,
        });
        res.end(body);
      },
    },
  };
}
