/**
 * `tfaas up`: the embedded platform (gateway and workers) in this process, until SIGINT/SIGTERM.
 * Only flags are read here; the platform's configuration loader applies the environment and defaults.
 */
import type { Command } from "commander";
import { Defaults } from "../../shared/constants.js";
import { parseInteger } from "../parse-flags.js";

interface UpFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  workers?: number;
  tee?: string;
  receipts?: string;
  nats?: string;
}

export function registerUp(program: Command): void {
  program
    .command("up")
    .description("run the platform (gateway and workers) on this machine until interrupted")
    .option("--port <port>", `port to listen on (env: TFAAS_PORT; default: ${Defaults.port})`, parseInteger(0, 65_535))
    .option("--host <host>", `address to listen on (env: TFAAS_HOST; default: ${Defaults.host})`)
    .option("--data-dir <dir>", `directory for the platform's state (env: TFAAS_DATA_DIR; default: ${Defaults.dataDir})`)
    .option("--workers <n>", "number of worker processes (env: TFAAS_WORKERS; default: one per CPU)", parseInteger(1, 256))
    .option("--tee <type>", "workers' TEE: sim (SIMULATED, no protection), sev-snp, tdx or sgx (env: TFAAS_TEE; default: sim)")
    .option("--receipts <mode>", "signed receipts per call: each, batched or off (env: TFAAS_RECEIPTS; default: batched)")
    .option("--nats <url>", "distributed mode: NATS JetStream URL(s), comma-separated; workers join with `tfaas worker` (env: TFAAS_NATS_URL)")
    .action(async (flags: UpFlags) => {
      // Loaded on demand: the platform's modules are heavy and no other command needs them.
      const { up } = await import("../../main.js");
      await up({ port: flags.port, host: flags.host, dataDir: flags.dataDir, workers: flags.workers, tee: flags.tee, receipts: flags.receipts, nats: flags.nats });
    });
}
