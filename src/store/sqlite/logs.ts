/**
 * Function logs: appends are one transaction per batch; each function keeps at most `maxEntries`
 * entries, the oldest (by timestamp, then arrival) dropped first. A per-function counter makes the
 * bound cost nothing until it is reached, and then only the excess rows are touched.
 */
import type { Database } from "better-sqlite3";
import { TfaasError } from "../../shared/errors.js";
import type { LogEntry, LogQuery, LogStore } from "../index.js";
import { formatLogTime, parseLogTime } from "../log-time.js";
import type { Lifecycle } from "../lifecycle.js";

interface LogRow {
  namespace: string;
  name: string;
  instance: string;
  time_ms: number;
  text: string;
}

interface FunctionKey {
  namespace: string;
  name: string;
}

export class SqliteLogStore implements LogStore {
  readonly #lifecycle: Lifecycle;
  readonly #maxEntries: number;
  readonly #insert;
  readonly #count;
  readonly #trimOldest;
  readonly #query;
  readonly #deleteEntries;
  readonly #deleteCount;
  readonly #appendBatch;
  readonly #removeFunction;

  constructor(db: Database, maxEntries: number, lifecycle: Lifecycle) {
    this.#lifecycle = lifecycle;
    this.#maxEntries = maxEntries;
    this.#insert = db.prepare<LogRow>(
      "INSERT INTO logs (namespace, name, instance, time_ms, text) VALUES (:namespace, :name, :instance, :time_ms, :text)",
    );
    this.#count = db
      .prepare<FunctionKey & { added: number }, number>(
        `INSERT INTO log_counts (namespace, name, entries) VALUES (:namespace, :name, :added)
         ON CONFLICT (namespace, name) DO UPDATE SET entries = entries + excluded.entries
         RETURNING entries`,
      )
      .pluck();
    this.#trimOldest = db.prepare<FunctionKey & { excess: number }>(
      `DELETE FROM logs WHERE id IN (
         SELECT id FROM logs WHERE namespace = :namespace AND name = :name ORDER BY time_ms, id LIMIT :excess)`,
    );
    this.#query = db.prepare<FunctionKey & { afterMs: number; limit: number }, LogRow>(
      `SELECT * FROM (
         SELECT namespace, name, instance, time_ms, text, id FROM logs
         WHERE namespace = :namespace AND name = :name AND time_ms > :afterMs
         ORDER BY time_ms DESC, id DESC LIMIT :limit)
       ORDER BY time_ms, id`,
    );
    this.#deleteEntries = db.prepare<FunctionKey>("DELETE FROM logs WHERE namespace = :namespace AND name = :name");
    this.#deleteCount = db.prepare<FunctionKey>("DELETE FROM log_counts WHERE namespace = :namespace AND name = :name");
    this.#appendBatch = db.transaction((rows: readonly LogRow[]) => this.#appendRows(rows));
    this.#removeFunction = db.transaction((key: FunctionKey) => {
      this.#deleteEntries.run(key);
      this.#deleteCount.run(key);
    });
  }

  async append(entries: readonly LogEntry[]): Promise<void> {
    this.#lifecycle.assertOpen();
    // Validate the whole batch before writing any of it.
    const rows = entries.map((entry) => ({
      namespace: entry.namespace,
      name: entry.name,
      instance: entry.instance,
      time_ms: parseLogTime(entry.timestamp, "log entry timestamp"),
      text: entry.text,
    }));
    if (rows.length > 0) this.#appendBatch.immediate(rows);
  }

  async query(query: LogQuery): Promise<LogEntry[]> {
    this.#lifecycle.assertOpen();
    const { tail } = query;
    if (tail !== undefined && !(Number.isSafeInteger(tail) && tail >= 0)) {
      throw new TfaasError("invalid-request", `Cannot query logs: current tail is ${tail}, expected a whole number ≥ 0`);
    }
    const rows = this.#query.all({
      namespace: query.namespace,
      name: query.name,
      afterMs: query.since === undefined ? Number.MIN_SAFE_INTEGER : parseLogTime(query.since, "logs since"),
      // A negative LIMIT means no limit to SQLite.
      limit: tail ?? -1,
    });
    return rows.map((row) => ({
      name: row.name,
      namespace: row.namespace,
      instance: row.instance,
      timestamp: formatLogTime(row.time_ms),
      text: row.text,
    }));
  }

  async removeFunction(name: string, namespace: string): Promise<void> {
    this.#lifecycle.assertOpen();
    this.#removeFunction.immediate({ namespace, name });
  }

  #appendRows(rows: readonly LogRow[]): void {
    const added = new Map<string, FunctionKey & { added: number }>();
    for (const row of rows) {
      this.#insert.run(row);
      const id = JSON.stringify([row.namespace, row.name]);
      const key = added.get(id) ?? { namespace: row.namespace, name: row.name, added: 0 };
      key.added += 1;
      added.set(id, key);
    }
    for (const key of added.values()) {
      const entries = this.#count.get(key) ?? 0;
      const excess = entries - this.#maxEntries;
      if (excess > 0) {
        this.#trimOldest.run({ namespace: key.namespace, name: key.name, excess });
        this.#count.get({ namespace: key.namespace, name: key.name, added: -excess });
      }
    }
  }
}
