/** `tfaas usage`: what functions used, from the gateway's usage ledger. */
import type { Command } from "commander";
import { addGatewayOption, connect, type GatewayFlags } from "../connect.js";
import type { CliIo } from "../io.js";
import { formatTable, writeJson } from "../output.js";

interface UsageFlags extends GatewayFlags {
  name?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

export function registerUsage(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("usage")
      .description("show usage totals per function: calls, fuel, peak memory, I/O bytes and wall time")
      .option("--name <name>", "only this function")
      .option("--since <time>", "from this RFC 3339 time or duration ago (e.g. 1h), inclusive")
      .option("--until <time>", "up to this RFC 3339 time or duration ago, exclusive")
      .option("--json", "print the gateway's answer as JSON"),
  ).action(async (flags: UsageFlags) => {
    const client = await connect(io, flags);
    const totals = await client.usage({
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
      ...(flags.until !== undefined ? { until: flags.until } : {}),
    });
    if (flags.json === true) return writeJson(io, totals);
    const rows = totals.map((t) => [
      t.name,
      String(t.calls),
      t.fuel,
      String(t.memoryPeakBytes),
      String(t.ioBytesIn),
      String(t.ioBytesOut),
      t.wallSeconds.toFixed(3),
    ]);
    io.stdout.write(formatTable(["Function", "Calls", "Fuel", "Peak memory (B)", "In (B)", "Out (B)", "Wall (s)"], rows));
  });
}
