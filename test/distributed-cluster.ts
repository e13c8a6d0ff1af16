/**
 * Distributed mode for tests and benchmarks: gateways (`tfaas up` with TFAAS_NATS_URL) and
 * workers (`tfaas worker`) from the built package against nats-server(s) from test/nats/launcher.ts.
 * Everything started here is killed, and its temporary directory removed, by `dispose()`.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot, startPlatform, startUntilReady, type Platform } from "./harness.js";

export interface WorkerProcess {
  instance: string;
  healthUrl: string;
  process: ChildProcess;
  output(): string;
  /** Sends the signal (default SIGKILL) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DistributedSetup {
  /** A temporary directory with the shared secrets key. */
  root: string;
  keyFile: string;
  gateways: Platform[];
  workers: WorkerProcess[];
  startGateway(env?: Record<string, string>): Promise<Platform>;
  startWorker(instance: string, env?: Record<string, string>): Promise<WorkerProcess>;
  dispose(): Promise<void>;
}

export function distributedSetup(natsUrl: string, common: Record<string, string> = {}): DistributedSetup {
  const root = mkdtempSync(path.join(os.tmpdir(), "tfaas-dist-"));
  const keyFile = path.join(root, "secrets.key");
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const env = { TFAAS_NATS_URL: natsUrl, TFAAS_SECRETS_KEY_FILE: keyFile, TFAAS_LOG_LEVEL: "warn", ...common };
  const setup: DistributedSetup = {
    root,
    keyFile,
    gateways: [],
    workers: [],
    async startGateway(extra = {}) {
      const gateway = await startPlatform({ dataDir: mkdtempSync(path.join(root, "gw-")), env: { ...env, ...extra } });
      setup.gateways.push(gateway);
      return gateway;
    },
    async startWorker(instance, extra = {}) {
      const worker = await startWorker(instance, mkdtempSync(path.join(root, "wk-")), { ...env, ...extra });
      setup.workers.push(worker);
      return worker;
    },
    async dispose() {
      await Promise.all([...setup.gateways.map((gateway) => gateway.stop()), ...setup.workers.map((worker) => worker.stop())]);
      rmSync(root, { recursive: true, force: true });
    },
  };
  return setup;
}

async function startWorker(instance: string, dataDir: string, env: Record<string, string>): Promise<WorkerProcess> {
  const { child, url, output, stop } = await startUntilReady(
    `worker ${instance}`,
    ["--no-node-snapshot", path.join(repoRoot, "bin", "tfaas.js"), "worker", "--health-port", "0", "--health-host", "127.0.0.1", "--data-dir", dataDir, "--instance", instance],
    env,
  );
  return { instance, healthUrl: url, process: child, output, stop };
}

/** Polls `check` every 50 ms until it answers true or `timeoutMs` passes. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
