/** `tfaas up`: the embedded platform (gateway and workers) in this process, until SIGINT/SIGTERM. */
import type { Command } from "commander";
import { Defaults } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";
import type { CliIo } from "../io.js";
import { parseInteger } from "../parse-flags.js";

interface UpFlags {
  port?: number;
  host?: string;
  dataDir?: string;
  workers?: number;
}

export function registerUp(program: Command, io: CliIo): void {
  program
    .command("up")
    .description("run the platform (gateway and workers) on this machine until interrupted")
    .option("--port <port>", `port to listen on (env: TFAAS_PORT; default: ${Defaults.port})`, parseInteger(0, 65_535))
    .option("--host <host>", `address to listen on (env: TFAAS_HOST; default: ${Defaults.host})`)
    .option("--data-dir <dir>", `directory for the platform's state (env: TFAAS_DATA_DIR; default: ${Defaults.dataDir})`)
    .option("--workers <n>", "number of worker processes (default: chosen by the platform)", parseInteger(1, 1024))
    .action(async (flags: UpFlags) => {
      const options: { port: number; host: string; dataDir: string; workers?: number } = {
        port: flags.port ?? portFromEnv(io.env.TFAAS_PORT) ?? Defaults.port,
        host: flags.host ?? nonEmpty(io.env.TFAAS_HOST) ?? Defaults.host,
        dataDir: flags.dataDir ?? nonEmpty(io.env.TFAAS_DATA_DIR) ?? Defaults.dataDir,
      };
      if (flags.workers !== undefined) options.workers = flags.workers;
      // Loaded on demand: the platform's modules are heavy and no other command needs them.
      const { up } = await import("../../main.js");
      await up(options);
    });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function portFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new TfaasError("invalid-request", `Cannot use TFAAS_PORT: current value is ${JSON.stringify(value)}; expected a port number from 0 to 65535`);
  }
  return port;
}
