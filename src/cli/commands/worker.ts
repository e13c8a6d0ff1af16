/**
 * `tfaas worker --nats <url>`: a worker process for distributed mode, joining the gateways
 * through NATS JetStream (docs/distributed.md). Only flags are read here.
 */
import type { Command } from "commander";
import { parseInteger } from "../parse-flags.js";

interface WorkerCommandFlags {
  nats?: string;
  concurrency?: number;
  healthPort?: number;
  healthHost?: string;
  dataDir?: string;
  instance?: string;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run a worker for distributed mode: take calls from NATS until interrupted")
    .option("--nats <url>", "NATS JetStream URL(s), comma-separated (env: TFAAS_NATS_URL)")
    .option("--concurrency <n>", "calls run at once (default: 1; run one worker per core)", parseInteger(1, 1000))
    .option("--health-port <port>", "port of GET /healthz (default: 8081; 0 picks one)", parseInteger(0, 65_535))
    .option("--health-host <host>", "address of GET /healthz (default: 0.0.0.0)")
    .option("--data-dir <dir>", "directory for the worker's state: the sim TEE key, the default secrets.key (env: TFAAS_DATA_DIR)")
    .option("--instance <name>", "this worker's name in logs, usage and attestation (default: <host>-<pid>)")
    .action(async (flags: WorkerCommandFlags) => {
      // Loaded on demand: the worker's modules are heavy and no other command needs them.
      const { runWorker } = await import("../../distributed/run-worker.js");
      await runWorker(flags);
    });
}
