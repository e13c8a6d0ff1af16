/**
 * The queue database schema, versioned with `PRAGMA user_version`: migration i takes the schema
 * from version i to i + 1. Append new migrations; never edit a released one.
 */
import type { Database } from "better-sqlite3";
import { TfaasError } from "../../shared/errors.js";

const migrations: readonly string[] = [
  `
  CREATE TABLE calls (
    seq               INTEGER PRIMARY KEY,  -- arrival order
    call_id           TEXT NOT NULL UNIQUE,
    function          TEXT NOT NULL,        -- name.namespace
    name              TEXT NOT NULL,
    namespace         TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    not_before        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    -- The request, dropped once the call has finished.
    method            TEXT,
    path              TEXT,
    query             TEXT,
    headers           TEXT,                 -- JSON object
    body              BLOB,
    -- The last attempt's response.
    status_code       INTEGER,
    result_headers    TEXT,                 -- JSON object
    result_body       BLOB,
    duration_seconds  REAL,
    callback_url      TEXT,
    callback_state    TEXT CHECK (callback_state IN ('pending', 'delivered', 'failed')),
    callback_attempts INTEGER NOT NULL DEFAULT 0,
    callback_error    TEXT,
    callback_next_at  INTEGER
  ) STRICT;
  CREATE INDEX calls_queued ON calls (function, seq) WHERE state = 'queued';
  CREATE INDEX calls_running ON calls (state) WHERE state = 'running';
  CREATE INDEX calls_finished ON calls (finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX calls_callbacks_pending ON calls (callback_state) WHERE callback_state = 'pending';
  `,
];

export const QUEUE_SCHEMA_VERSION = migrations.length;

export function migrate(db: Database): void {
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > QUEUE_SCHEMA_VERSION) {
      throw new TfaasError(
        "internal",
        `Cannot open queue database ${db.name}: current schema version is ${current}, newer than this TFaaS understands (${QUEUE_SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < QUEUE_SCHEMA_VERSION; version++) db.exec(migrations[version] ?? "");
    db.pragma(`user_version = ${QUEUE_SCHEMA_VERSION}`);
  }).immediate();
}
