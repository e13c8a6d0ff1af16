/**
 * A worker's heartbeat, from a thread with its own NATS connection: a call that keeps the
 * worker's main thread busy for seconds (synchronous WebAssembly) must not make gateways think
 * the worker died, while a worker that did die (SIGKILL, lost host) falls silent at once.
 *
 * Guarantee stops here: heartbeats prove the process is alive, not that its main thread makes
 * progress; a call stuck beyond its deadline is the gateway's `timeout`, not a crash.
 */
import { Worker } from "node:worker_threads";

/** How often a worker says it is alive; gateways presume it dead after a few missed beats. */
export const HEARTBEAT_MS = 500;

export interface HeartbeatOptions {
  /** NATS server URLs (comma-separated, as `connectNats` takes them). */
  url: string;
  /** Where to publish, e.g. `tfaas.workers.alive.<instance>`. */
  subject: string;
  /** Connection name shown by the server. */
  name: string;
}

export interface Heartbeat {
  stop(): Promise<void>;
}

function threadEntry(): { url: URL; execArgv: string[] } {
  // Under the test runner the sources run as TypeScript; the thread then needs the same loader.
  if (import.meta.url.endsWith(".ts")) return { url: new URL("./heartbeat-thread.ts", import.meta.url), execArgv: ["--import", "tsx"] };
  return { url: new URL("./heartbeat-thread.js", import.meta.url), execArgv: [] };
}

/** Resolves once the thread has connected and sent its first beat; rejects when it cannot connect. */
export function startHeartbeat(options: HeartbeatOptions): Promise<Heartbeat> {
  const entry = threadEntry();
  const thread = new Worker(entry.url, { workerData: { ...options, intervalMs: HEARTBEAT_MS }, execArgv: entry.execArgv });
  return new Promise((resolve, reject) => {
    thread.once("error", reject);
    thread.once("message", (message: { ok: boolean; error?: string }) => {
      if (!message.ok) {
        void thread.terminate();
        reject(new Error(message.error ?? "heartbeat thread failed"));
        return;
      }
      thread.unref();
      resolve({ stop: async () => void (await thread.terminate()) });
    });
  });
}
