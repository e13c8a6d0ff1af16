/**
 * The embedded Queue: `<dataDir>/queue.db`, SQLite in WAL mode with synchronous=FULL, its own
 * file so queue traffic never contends with the store's database. Writes are group-committed
 * (one transaction and one fsync per event-loop turn); reads go straight to the database and
 * see only committed calls.
 *
 * Opening the queue is recovery: calls a crash left `running` go back to `queued` with their
 * attempts kept, so they run again (delivery is at least once). One process owns the file.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { TfaasError } from "../../shared/errors.js";
import { Lifecycle } from "../../store/lifecycle.js";
import type {
  CallRecord,
  CallRequest,
  CallResult,
  CallState,
  CallbackState,
  Claim,
  FinishedState,
  NewCall,
  Queue,
  WaitingFunction,
} from "../queue.js";
import { GroupCommit } from "./group-commit.js";
import { migrate } from "./schema.js";

export interface SqliteQueueOptions {
  /** Created (mode 0700) when missing. */
  dataDir: string;
  /** Queued calls beyond this many are refused with `too-many-requests`. */
  maxDepth: number;
  /**
   * `full` (default): what a client is told (an enqueue's or a cancellation's 202) is fsynced
   * first, so it survives a power loss. `normal`: nothing is fsynced at commit; an acknowledged
   * call still survives any crash of the process (SIGKILL, OOM), but a power loss or kernel
   * panic can lose the last ones. Internal transitions always commit with NORMAL.
   */
  synchronous?: "full" | "normal";
}

interface CallRow {
  seq: number;
  call_id: string;
  name: string;
  namespace: string;
  state: CallState;
  attempts: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  method: string | null;
  path: string | null;
  query: string | null;
  headers: string | null;
  body: Buffer | null;
  status_code: number | null;
  result_headers: string | null;
  result_body: Buffer | null;
  duration_seconds: number | null;
  callback_url: string | null;
  callback_state: CallbackState | null;
  callback_attempts: number;
  callback_error: string | null;
  callback_next_at: number | null;
}

export function openSqliteQueue(options: SqliteQueueOptions): Promise<Queue> {
  const { dataDir, maxDepth } = options;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
    return Promise.reject(new TfaasError("invalid-request", `Cannot open queue: current maxDepth is ${maxDepth}, expected a whole number ≥ 1`));
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, "queue.db"), { timeout: 5_000 });
  try {
    db.pragma("journal_mode = WAL");
    // GroupCommit sets synchronous per batch: FULL where a client is told (see `synchronous`),
    // NORMAL for internal transitions (claims, results, callback bookkeeping). A process crash
    // loses none of those; a power loss can lose the last few, and the call then runs or is
    // delivered again — at least once either way.
    db.pragma("synchronous = FULL");
    migrate(db);
    db.prepare("UPDATE calls SET state = 'queued' WHERE state = 'running'").run();
    return Promise.resolve(new SqliteQueue(db, maxDepth, (options.synchronous ?? "full") === "full"));
  } catch (error) {
    db.close();
    return Promise.reject(error);
  }
}

/** Writes whose acknowledgement a client sees; they are fsynced before it does. */
const DURABLE = true;
const INTERNAL = false;

const json = (value: Record<string, string>): string => JSON.stringify(value);
const parseHeaders = (text: string | null): Record<string, string> => (text === null ? {} : (JSON.parse(text) as Record<string, string>));

class SqliteQueue implements Queue {
  readonly #db: Database.Database;
  readonly #writes: GroupCommit;
  readonly #maxDepth: number;
  #depth: number;
  readonly #lifecycle = new Lifecycle("queue");
  readonly #sql;

  constructor(db: Database.Database, maxDepth: number, fsyncAcknowledged: boolean) {
    this.#db = db;
    this.#maxDepth = maxDepth;
    this.#sql = {
      countQueued: db.prepare<[], number>("SELECT count(*) FROM calls WHERE state = 'queued'").pluck(),
      exists: db.prepare<[string], number>("SELECT 1 FROM calls WHERE call_id = ?").pluck(),
      insert: db.prepare(
        `INSERT INTO calls (call_id, function, name, namespace, state, not_before, created_at, method, path, query, headers, body, callback_url)
         VALUES (@callId, @function, @name, @namespace, 'queued', @now, @now, @method, @path, @query, @headers, @body, @callbackUrl)`,
      ),
      nextReady: db.prepare<[string, number], CallRow>(
        "SELECT * FROM calls WHERE function = ? AND state = 'queued' AND not_before <= ? ORDER BY seq LIMIT 1",
      ),
      earliest: db.prepare<[string], number | null>("SELECT min(not_before) FROM calls WHERE function = ? AND state = 'queued'").pluck(),
      start: db.prepare("UPDATE calls SET state = 'running', attempts = attempts + 1, started_at = ? WHERE seq = ?"),
      waiting: db.prepare<[], { name: string; namespace: string; readyAt: number }>(
        "SELECT name, namespace, min(not_before) AS readyAt FROM calls WHERE state = 'queued' GROUP BY function",
      ),
      state: db.prepare<[string], CallState>("SELECT state FROM calls WHERE call_id = ?").pluck(),
      retry: db.prepare(
        `UPDATE calls SET state = 'queued', not_before = @notBefore, status_code = @statusCode,
           result_headers = @headers, result_body = @body, duration_seconds = @seconds
         WHERE call_id = @callId AND state = 'running'`,
      ),
      finish: db.prepare(
        `UPDATE calls SET state = @state, finished_at = @now, status_code = @statusCode, result_headers = @headers,
           result_body = @body, duration_seconds = @seconds, method = NULL, path = NULL, query = NULL, headers = NULL, body = NULL,
           callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END,
           callback_next_at = CASE WHEN callback_url IS NULL THEN NULL ELSE @now END
         WHERE call_id = @callId AND state = 'running'`,
      ),
      cancel: db.prepare(
        `UPDATE calls SET state = 'cancelled', finished_at = ?, method = NULL, path = NULL, query = NULL, headers = NULL, body = NULL,
           callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'failed' END,
           callback_error = CASE WHEN callback_url IS NULL THEN NULL ELSE 'not sent: the call was cancelled' END
         WHERE call_id = ? AND state = 'queued'`,
      ),
      get: db.prepare<[string], CallRow>("SELECT * FROM calls WHERE call_id = ?"),
      startCallback: db.prepare<[string], number>(
        "UPDATE calls SET callback_attempts = callback_attempts + 1 WHERE call_id = ? AND callback_state = 'pending' RETURNING callback_attempts",
      ).pluck(),
      settleCallback: db.prepare(
        "UPDATE calls SET callback_state = ?, callback_error = ?, callback_next_at = ? WHERE call_id = ? AND callback_url IS NOT NULL",
      ),
      pendingCallbacks: db.prepare<[], CallRow>("SELECT * FROM calls WHERE callback_state = 'pending' ORDER BY seq"),
      sweep: db.prepare(
        "DELETE FROM calls WHERE finished_at IS NOT NULL AND finished_at < ? AND (callback_state IS NULL OR callback_state != 'pending')",
      ),
    };
    this.#depth = this.#sql.countQueued.get() ?? 0;
    this.#writes = new GroupCommit(db, fsyncAcknowledged, () => {
      this.#depth = this.#sql.countQueued.get() ?? 0;
    });
  }

  enqueue(call: NewCall): Promise<void> {
    return this.#write(DURABLE, () => {
      if (this.#depth >= this.#maxDepth) {
        throw new TfaasError("too-many-requests", `Cannot enqueue call to ${call.name}: the queue is full (${this.#maxDepth} calls queued)`);
      }
      if (this.#sql.exists.get(call.callId) !== undefined) {
        throw new TfaasError("conflict", `Cannot enqueue call ${call.callId}: a call with this id exists`);
      }
      const { request } = call;
      this.#sql.insert.run({
        callId: call.callId,
        function: `${call.name}.${call.namespace}`,
        name: call.name,
        namespace: call.namespace,
        now: call.now,
        method: request.method,
        path: request.path,
        query: request.query,
        headers: json(request.headers),
        body: Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength),
        callbackUrl: call.callbackUrl ?? null,
      });
      this.#depth++;
    });
  }

  claim(name: string, namespace: string, now: number): Promise<Claim> {
    const fn = `${name}.${namespace}`;
    return this.#write(INTERNAL, (): Claim => {
      const row = this.#sql.nextReady.get(fn, now);
      if (row === undefined) {
        const next = this.#sql.earliest.get(fn);
        return next === null || next === undefined ? {} : { nextReadyAt: next };
      }
      this.#sql.start.run(now, row.seq);
      this.#depth--;
      const request: CallRequest = {
        method: row.method ?? "POST",
        path: row.path ?? "/",
        query: row.query ?? "",
        headers: parseHeaders(row.headers),
        body: row.body ?? new Uint8Array(0),
      };
      const call = { callId: row.call_id, name: row.name, namespace: row.namespace, attempts: row.attempts + 1, request };
      return { call: row.callback_url === null ? call : { ...call, callbackUrl: row.callback_url } };
    });
  }

  waiting(): Promise<WaitingFunction[]> {
    return this.#read(() => this.#sql.waiting.all());
  }

  retry(callId: string, result: CallResult, notBefore: number): Promise<void> {
    return this.#write(INTERNAL, () => {
      const changed = this.#sql.retry.run({ callId, notBefore, ...resultParams(result) }).changes;
      if (changed === 0) throw notRunning(callId, this.#sql.state.get(callId));
      this.#depth++;
    });
  }

  finish(callId: string, state: FinishedState, result: CallResult, now: number): Promise<void> {
    return this.#write(INTERNAL, () => {
      const changed = this.#sql.finish.run({ callId, state, now, ...resultParams(result) }).changes;
      if (changed === 0) throw notRunning(callId, this.#sql.state.get(callId));
    });
  }

  cancel(callId: string, now: number): Promise<CallState | undefined> {
    return this.#write(DURABLE, () => {
      const state = this.#sql.state.get(callId);
      if (state === "queued") {
        this.#sql.cancel.run(now, callId);
        this.#depth--;
      }
      return state;
    });
  }

  get(callId: string): Promise<CallRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.get.get(callId);
      return row === undefined ? undefined : recordOf(row);
    });
  }

  startCallback(callId: string): Promise<number> {
    return this.#write(INTERNAL, () => {
      const attempt = this.#sql.startCallback.get(callId);
      if (attempt === undefined) throw new TfaasError("conflict", `Cannot deliver the callback of call ${callId}: it is not pending`);
      return attempt;
    });
  }

  settleCallback(callId: string, state: CallbackState, lastError: string | undefined, nextAt: number | undefined): Promise<void> {
    return this.#write(INTERNAL, () => {
      this.#sql.settleCallback.run(state, lastError ?? null, nextAt ?? null, callId);
    });
  }

  pendingCallbacks(): Promise<CallRecord[]> {
    return this.#read(() => this.#sql.pendingCallbacks.all().map(recordOf));
  }

  sweep(finishedBefore: number): Promise<number> {
    return this.#write(INTERNAL, () => this.#sql.sweep.run(finishedBefore).changes);
  }

  depth(): Promise<number> {
    return this.#read(() => this.#depth);
  }

  close(): Promise<void> {
    return this.#lifecycle.close(async () => {
      await this.#writes.drained();
      this.#db.close();
    });
  }

  #write<T>(durable: boolean, write: () => T): Promise<T> {
    if (this.#lifecycle.closed) return Promise.reject(this.#lifecycle.closedError());
    return this.#writes.run(write, durable);
  }

  #read<T>(read: () => T): Promise<T> {
    if (this.#lifecycle.closed) return Promise.reject(this.#lifecycle.closedError());
    try {
      return Promise.resolve(read());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function notRunning(callId: string, state: CallState | undefined): TfaasError {
  return new TfaasError("conflict", `Cannot record an attempt of call ${callId}: current state is ${state ?? "unknown"}, not running`);
}

function resultParams(result: CallResult) {
  return {
    statusCode: result.statusCode,
    headers: json(result.headers),
    body: Buffer.from(result.body.buffer, result.body.byteOffset, result.body.byteLength),
    seconds: result.durationSeconds,
  };
}

function recordOf(row: CallRow): CallRecord {
  const record: CallRecord = {
    callId: row.call_id,
    name: row.name,
    namespace: row.namespace,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
  if (row.started_at !== null) record.startedAt = row.started_at;
  if (row.finished_at !== null) record.finishedAt = row.finished_at;
  if (row.status_code !== null) record.statusCode = row.status_code;
  if (row.finished_at !== null && row.status_code !== null) {
    record.result = {
      statusCode: row.status_code,
      headers: parseHeaders(row.result_headers),
      body: row.result_body ?? new Uint8Array(0),
      durationSeconds: row.duration_seconds ?? 0,
    };
  }
  if (row.callback_url !== null) {
    record.callback = { url: row.callback_url, state: row.callback_state ?? "pending", attempts: row.callback_attempts };
    if (row.callback_error !== null) record.callback.lastError = row.callback_error;
    if (row.callback_next_at !== null) record.callback.nextAt = row.callback_next_at;
  }
  return record;
}
