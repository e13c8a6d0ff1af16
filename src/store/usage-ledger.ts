/** What both usage ledgers (SQLite, NATS) do the same way: the fuel check on append, totals per function, the list limit. */
import { TfaasError } from "../shared/errors.js";
import type { UsageRecord, UsageTotals } from "./index.js";

const DEFAULT_LIST_LIMIT = 10_000;
/** A 64-bit unsigned count in decimal, without leading zeros. */
const FUEL = /^(0|[1-9][0-9]{0,19})$/;

/** Refuses a record whose fuel is not a decimal count (`invalid-request`). */
export function checkUsageFuel(record: UsageRecord): void {
  if (record.fuel !== null && !FUEL.test(record.fuel)) {
    throw new TfaasError("invalid-request", `Cannot record usage: current fuel is ${JSON.stringify(record.fuel)}, expected a decimal count`);
  }
}

/** The fields of one ledger record that its function's totals are made of. */
export interface TotalledUsage {
  name: string;
  namespace: string;
  /** Decimal string; null when the call reported none. */
  fuel: string | null;
  memoryPeakBytes: number;
  ioBytesIn: number;
  ioBytesOut: number;
  wallSeconds: number;
}

/** Totals per function, ordered by name; fuel summed exactly (BigInt). */
export function totalUsage(records: Iterable<TotalledUsage>): UsageTotals[] {
  const totals = new Map<string, UsageTotals & { fuelSum: bigint }>();
  for (const record of records) {
    let entry = totals.get(record.name);
    if (entry === undefined) {
      entry = { name: record.name, namespace: record.namespace, calls: 0, fuel: "0", fuelSum: 0n, memoryPeakBytes: 0, ioBytesIn: 0, ioBytesOut: 0, wallSeconds: 0 };
      totals.set(record.name, entry);
    }
    entry.calls++;
    if (record.fuel !== null) entry.fuelSum += BigInt(record.fuel);
    entry.memoryPeakBytes = Math.max(entry.memoryPeakBytes, record.memoryPeakBytes);
    entry.ioBytesIn += record.ioBytesIn;
    entry.ioBytesOut += record.ioBytesOut;
    entry.wallSeconds += record.wallSeconds;
  }
  return [...totals.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map(({ fuelSum, ...entry }) => ({ ...entry, fuel: fuelSum.toString() }));
}

/** The query's limit (10,000 by default); `invalid-request` unless a whole number ≥ 1. */
export function usageListLimit(query: { limit?: number }): number {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TfaasError("invalid-request", `Cannot list usage: current limit is ${limit}, expected a whole number ≥ 1`);
  }
  return limit;
}
