/**
 * `tfaas usage`: what functions used, from the gateway's usage ledger. With `--verify`, the bill is
 * recomputed from the workers' signed receipts alone, under keys from cached attestation results,
 * and compared with the ledger's totals; gaps, forks and invalid receipts are flagged.
 */
import type { Command } from "commander";
import { recomputeBill, type Bill } from "../../crypto/index.js";
import { TfaasError } from "../../shared/errors.js";
import type { GatewayClient, UsageTotals } from "../client.js";
import { addGatewayOption, connect, type GatewayFlags } from "../connect.js";
import type { CliIo } from "../io.js";
import { formatTable, writeJson } from "../output.js";
import { sinceToTimestamp } from "../since.js";
import { attestationCache, gatewayJson, gatewayOf } from "./attest.js";

interface UsageFlags extends GatewayFlags {
  name?: string;
  since?: string;
  until?: string;
  json?: boolean;
  verify?: boolean;
}

export function registerUsage(program: Command, io: CliIo): void {
  addGatewayOption(
    program
      .command("usage")
      .description("show usage totals per function: calls, fuel, peak memory, I/O bytes and wall time")
      .option("--name <name>", "only this function")
      .option("--since <time>", "from this RFC 3339 time or duration ago (e.g. 1h), inclusive")
      .option("--until <time>", "up to this RFC 3339 time or duration ago, exclusive")
      .option("--json", "print the gateway's answer as JSON")
      .option("--verify", "recompute the bill from signed receipts (keys from `tfaas attest`) and flag gaps and forks"),
  ).action(async (flags: UsageFlags) => {
    const client = await connect(io, flags);
    if (flags.verify === true) return verifyUsage(io, flags, client);
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

/** Receipts near a range's edges may be stamped a little before the ledger records their call. */
const EDGE_MS = 60_000;

async function verifyUsage(io: CliIo, flags: UsageFlags, client: GatewayClient): Promise<void> {
  const from = flags.since !== undefined ? new Date(sinceToTimestamp(flags.since)) : new Date(0);
  const to = flags.until !== undefined ? new Date(sinceToTimestamp(flags.until)) : new Date(Date.now() + EDGE_MS);
  const query = {
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.since !== undefined ? { since: from.toISOString() } : {}),
    ...(flags.until !== undefined ? { until: to.toISOString() } : {}),
  };
  const wide = new URLSearchParams({ since: new Date(from.getTime() - EDGE_MS).toISOString(), until: new Date(to.getTime() + EDGE_MS).toISOString(), limit: "100000" });
  if (flags.name !== undefined) wide.set("name", flags.name);
  const gateway = await gatewayOf(io, flags);
  const receipts = await gatewayJson(gateway, `/system/receipts?${wide.toString()}`, "list receipts");
  const results = await attestationCache(io).results(gateway.url, "issued");
  const keys = new Map(results.map((result) => [result.workerId, new Uint8Array(Buffer.from(result.boundKeys.receipt, "base64url"))]));
  const bill = recomputeBill(Array.isArray(receipts) ? receipts : [], { from, to, keys });
  const ledger = await client.usage(query);
  const mismatches = compare(bill, ledger);
  const ok = bill.ok && mismatches.length === 0;
  if (flags.json === true) writeJson(io, { ok, bill, ledger, mismatches });
  else {
    const rows = bill.functions.map((f) => {
      const fromLedger = ledger.find((t) => `${t.name}.${t.namespace}` === f.function);
      return [f.function, String(f.calls), String(fromLedger?.calls ?? 0), f.fuel, fromLedger?.fuel ?? "0", f.ioBytesIn, f.ioBytesOut, (Number(f.wallNanos) / 1e9).toFixed(3)];
    });
    io.stdout.write(formatTable(["Function", "Calls (receipts)", "Calls (ledger)", "Fuel (receipts)", "Fuel (ledger)", "In (B)", "Out (B)", "Wall (s)"], rows));
    for (const flag of bill.flags) io.stdout.write(`✗ ${flag.kind}${flag.workerId === null ? "" : ` ${flag.workerId}`}: ${flag.detail}\n`);
    for (const mismatch of mismatches) io.stdout.write(`✗ ledger: ${mismatch}\n`);
    if (keys.size === 0) io.stdout.write("no cached attestation results: run `tfaas attest` first so receipts can be checked against attested keys\n");
    io.stdout.write(ok ? `verdict: PASS (${bill.chain.workers.length} worker chains)\n` : "verdict: FAIL\n");
  }
  if (!ok) throw new TfaasError("conflict", `Cannot confirm the bill: ${bill.flags.length} receipt findings, ${mismatches.length} differences from the ledger`);
}

/** Where the ledger's totals differ from the receipts' (calls and fuel per function). */
function compare(bill: Bill, ledger: readonly UsageTotals[]): string[] {
  const problems: string[] = [];
  const names = new Set([...bill.functions.map((f) => f.function), ...ledger.map((t) => `${t.name}.${t.namespace}`)]);
  for (const name of names) {
    const fromReceipts = bill.functions.find((f) => f.function === name);
    const fromLedger = ledger.find((t) => `${t.name}.${t.namespace}` === name);
    const calls = [fromReceipts?.calls ?? 0, fromLedger?.calls ?? 0];
    const fuel = [fromReceipts?.fuel ?? "0", fromLedger?.fuel ?? "0"];
    if (calls[0] !== calls[1]) problems.push(`${name}: ${calls[0]} calls in receipts, ${calls[1]} in the ledger`);
    else if (fuel[0] !== fuel[1]) problems.push(`${name}: fuel ${fuel[0]} in receipts, ${fuel[1]} in the ledger`);
  }
  return problems;
}
