/** `tfaas logs`: a function's log lines (its stderr), optionally followed as they come. */
import type { Command } from "commander";
import { addGatewayOption, connect } from "../connect.js";
import type { GatewayFlags } from "../connect.js";
import type { LogsQuery } from "../client.js";
import type { CliIo } from "../io.js";
import { writeChunk } from "../io.js";
import { parseInteger } from "../parse-flags.js";
import { sinceToTimestamp } from "../since.js";

interface LogsFlags extends GatewayFlags {
  follow?: boolean;
  tail?: number;
  since?: string;
}

export function registerLogs(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("logs")
      .description("print a function's log lines as `timestamp name (instance) text`")
      .argument("<name>", "function name")
      .option("-f, --follow", "keep printing new lines until interrupted")
      .option("--tail <n>", "only the last n lines", parseInteger(0, Number.MAX_SAFE_INTEGER))
      .option("--since <time>", "only lines since an RFC 3339 time or a duration ago (30s, 5m, 1h30m)"),
  ).action(async (name: string, flags: LogsFlags) => {
    const query: LogsQuery = { name, follow: flags.follow === true };
    if (flags.tail !== undefined) query.tail = flags.tail;
    if (flags.since !== undefined) query.since = sinceToTimestamp(flags.since);
    const client = await connect(io, flags);
    for await (const entry of client.logs(query)) {
      await writeChunk(io.stdout, `${entry.timestamp} ${entry.name} (${entry.instance}) ${entry.text.replace(/\n$/, "")}\n`);
    }
  });
}
