/**
 * The usage ledger on SQLite. Appends come in batches (the gateway buffers them), so one
 * transaction covers many invocations. Fuel sums are exact: they are added as BigInts
 * (../usage-ledger.ts), not as SQLite doubles.
 */
import type { Database } from "better-sqlite3";
import type { UsageQuery, UsageRecord, UsageStore, UsageTotals } from "../index.js";
import { formatLogTime, parseLogTime } from "../log-time.js";
import { checkUsageFuel, totalUsage, usageListLimit, type TotalledUsage } from "../usage-ledger.js";
import type { Lifecycle } from "../lifecycle.js";

interface UsageRow {
  call_id: string;
  namespace: string;
  name: string;
  time_ms: number;
  status: number;
  fuel: string | null;
  memory_peak_bytes: number;
  io_bytes_in: number;
  io_bytes_out: number;
  wall_seconds: number;
  weights_version: string | null;
  instance: string;
  receipt: string | null;
}

interface RangeParams {
  namespace: string;
  name: string | null;
  sinceMs: number;
  untilMs: number;
  limit: number;
}


export class SqliteUsageStore implements UsageStore {
  readonly #lifecycle: Lifecycle;
  readonly #appendBatch;
  readonly #range;
  readonly #byCall;

  constructor(db: Database, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    const insert = db.prepare<UsageRow>(
      `INSERT INTO usage (call_id, namespace, name, time_ms, status, fuel, memory_peak_bytes, io_bytes_in, io_bytes_out,
                          wall_seconds, weights_version, instance, receipt)
       VALUES (:call_id, :namespace, :name, :time_ms, :status, :fuel, :memory_peak_bytes, :io_bytes_in, :io_bytes_out,
               :wall_seconds, :weights_version, :instance, :receipt)`,
    );
    this.#appendBatch = db.transaction((rows: readonly UsageRow[]) => rows.forEach((row) => insert.run(row)));
    this.#range = db.prepare<RangeParams, UsageRow>(
      `SELECT * FROM usage
       WHERE namespace = :namespace AND (:name IS NULL OR name = :name) AND time_ms >= :sinceMs AND time_ms < :untilMs
       ORDER BY time_ms, rowid LIMIT :limit`,
    );
    this.#byCall = db.prepare<{ callId: string }, UsageRow>("SELECT * FROM usage WHERE call_id = :callId ORDER BY rowid DESC LIMIT 1");
  }

  async append(records: readonly UsageRecord[]): Promise<void> {
    this.#lifecycle.assertOpen();
    const rows = records.map(toRow);
    if (rows.length > 0) this.#appendBatch.immediate(rows);
  }

  async totals(query: UsageQuery): Promise<UsageTotals[]> {
    this.#lifecycle.assertOpen();
    return totalUsage(totalledRows(this.#range.iterate(rangeParams(query, -1))));
  }

  async list(query: UsageQuery & { limit?: number }): Promise<UsageRecord[]> {
    this.#lifecycle.assertOpen();
    return this.#range.all(rangeParams(query, usageListLimit(query))).map(fromRow);
  }

  async get(callId: string): Promise<UsageRecord | undefined> {
    this.#lifecycle.assertOpen();
    const row = this.#byCall.get({ callId });
    return row ? fromRow(row) : undefined;
  }
}

/** Rows as the totals read them, one at a time (a range can be the whole ledger). */
function* totalledRows(rows: Iterable<UsageRow>): Generator<TotalledUsage> {
  for (const row of rows) {
    yield { name: row.name, namespace: row.namespace, fuel: row.fuel, memoryPeakBytes: row.memory_peak_bytes, ioBytesIn: row.io_bytes_in, ioBytesOut: row.io_bytes_out, wallSeconds: row.wall_seconds };
  }
}

function rangeParams(query: UsageQuery, limit: number): RangeParams {
  return {
    namespace: query.namespace,
    name: query.name ?? null,
    sinceMs: query.since === undefined ? Number.MIN_SAFE_INTEGER : parseLogTime(query.since, "usage since"),
    untilMs: query.until === undefined ? Number.MAX_SAFE_INTEGER : parseLogTime(query.until, "usage until"),
    limit,
  };
}

function toRow(record: UsageRecord): UsageRow {
  checkUsageFuel(record);
  return {
    call_id: record.callId,
    namespace: record.namespace,
    name: record.name,
    time_ms: parseLogTime(record.timestamp, "usage timestamp"),
    status: record.status,
    fuel: record.fuel,
    memory_peak_bytes: record.memoryPeakBytes,
    io_bytes_in: record.ioBytesIn,
    io_bytes_out: record.ioBytesOut,
    wall_seconds: record.wallSeconds,
    weights_version: record.weightsVersion,
    instance: record.instance,
    receipt: record.receipt ?? null,
  };
}

function fromRow(row: UsageRow): UsageRecord {
  return {
    callId: row.call_id,
    name: row.name,
    namespace: row.namespace,
    timestamp: formatLogTime(row.time_ms),
    status: row.status,
    fuel: row.fuel,
    memoryPeakBytes: row.memory_peak_bytes,
    ioBytesIn: row.io_bytes_in,
    ioBytesOut: row.io_bytes_out,
    wallSeconds: row.wall_seconds,
    weightsVersion: row.weights_version,
    instance: row.instance,
    ...(row.receipt !== null ? { receipt: row.receipt } : {}),
  };
}
