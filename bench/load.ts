/** Closed-loop HTTP load generators: `concurrency` clients on keep-alive connections, each sending its next request when the last answers. */
import http from "node:http";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** One request of a load run, made as it is sent (so making it counts in its latency). */
export interface LoadRequest {
  body: Uint8Array;
  contentType?: string;
  /** Checks the answer's body (read whole); false counts as an error. Unset: the body is discarded. */
  check?(answer: Buffer): boolean;
}

/**
 * For `durationMs`, POSTs `request` (the same bytes every time, or a new request from the function
 * each time); a call counts when it answers 200 (and passes the request's check), else as an error.
 */
export async function runLoad(url: string, request: Buffer | (() => LoadRequest), concurrency: number, durationMs: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const { body, contentType, check } = typeof request === "function" ? request() : { body: request, contentType: undefined, check: undefined };
      const headers = { "content-length": body.length, ...(contentType !== undefined ? { "content-type": contentType } : {}) };
      const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers }, (res) => {
        const chunks: Buffer[] = [];
        if (check === undefined) res.resume();
        else res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          if (res.statusCode === 200 && (check === undefined || check(Buffer.concat(chunks)))) latencies.push(performance.now() - started);
          else errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/**
 * POSTs `body` `count` times over `concurrency` keep-alive connections (each sending its next
 * request when the last answers); answers the seconds taken and how many answered `expect`.
 */
export async function runCalls(url: string, body: Buffer, count: number, concurrency: number, expect: number, headers: Record<string, string> = {}): Promise<{ seconds: number; ok: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  let next = 0;
  let ok = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers: { ...headers, "content-length": body.length } },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === expect) ok++;
            resolve();
          });
        },
      );
      req.on("error", () => resolve());
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        await one();
      }
    }),
  );
  agent.destroy();
  return { seconds: (performance.now() - started) / 1000, ok };
}
