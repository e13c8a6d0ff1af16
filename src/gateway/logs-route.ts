/** GET /system/logs: a function's logs as NDJSON, with `tail`, `since` and `follow`, as faas-cli reads them. */
import { TfaasError } from "../shared/errors.js";
import { parseTimeOrAgo } from "../shared/units.js";
import type { LogEntry, LogStore } from "../store/index.js";
import { checkNamespace, type FunctionRegistry } from "./functions.js";
import type { Route } from "./http.js";
import type { FunctionLogs } from "./logs.js";

/** A time query parameter (RFC 3339 or a duration ago); absent → undefined, malformed → 400. */
export function timeParam(params: URLSearchParams, name: string, action: string): string | undefined {
  const text = params.get(name);
  if (!text) return undefined;
  const time = parseTimeOrAgo(text);
  if (time === undefined) {
    throw new TfaasError("invalid-request", `Cannot ${action}: ${name} must be an RFC 3339 time or a duration like 5m, got ${JSON.stringify(text)}`);
  }
  return time;
}

function tailOf(text: string | null): number | undefined {
  if (text === null || text === "" || text === "-1") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new TfaasError("invalid-request", `Cannot read logs: tail must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

export function logsRoute(registry: FunctionRegistry, store: LogStore, logs: FunctionLogs): Route {
  return {
    pattern: /^\/system\/logs$/,
    auth: true,
    methods: {
      GET: async ({ req, res, url }) => {
        const params = url.searchParams;
        const name = params.get("name");
        if (!name) throw new TfaasError("invalid-request", "Cannot read logs: query parameter name is required");
        const namespace = checkNamespace(params.get("namespace") ?? undefined);
        registry.require(name, namespace);
        const follow = params.get("follow") === "true" || params.get("follow") === "1";
        const since = timeParam(params, "since", "read logs");
        const tail = tailOf(params.get("tail"));
        const line = (entry: LogEntry) =>
          JSON.stringify({ name: entry.name, namespace: entry.namespace, instance: entry.instance, timestamp: entry.timestamp, text: entry.text }) + "\n";

        // Subscribe before reading history so nothing written in between is missed.
        const buffered: LogEntry[] = [];
        let live: ((entry: LogEntry) => void) | undefined;
        const stop = follow ? logs.follow(name, namespace, (entry) => (live ? live(entry) : buffered.push(entry))) : undefined;
        try {
          await logs.flush();
          const history = await store.query({ name, namespace, ...(since ? { since } : {}), ...(tail !== undefined ? { tail } : {}) });
          res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
          for (const entry of history) res.write(line(entry));
          if (!stop) return void res.end();
          res.flushHeaders();
          for (const entry of buffered) res.write(line(entry));
          live = (entry) => res.write(line(entry));
          await new Promise<void>((resolve) => res.once("close", resolve));
        } finally {
          stop?.();
        }
      },
    },
  };
}
