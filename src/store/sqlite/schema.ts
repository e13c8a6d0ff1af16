/**
 * The database schema, versioned with `PRAGMA user_version`: migration i takes the schema from
 * version i to i + 1. Append new migrations; never edit a released one.
 */
import type { Database } from "better-sqlite3";
import { TfaasError } from "../../shared/errors.js";

const migrations: readonly string[] = [
  `
  CREATE TABLE functions (
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    deployment TEXT NOT NULL, -- the FunctionDeployment as JSON, so every field round-trips
    created_at TEXT NOT NULL,
    replicas   INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE secrets (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    nonce     BLOB NOT NULL,
    sealed    BLOB NOT NULL, -- AES-256-GCM ciphertext followed by its tag
    PRIMARY KEY (namespace, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE logs (
    id        INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    instance  TEXT NOT NULL,
    time_ms   INTEGER NOT NULL,
    text      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX logs_by_function_time ON logs (namespace, name, time_ms, id);

  -- Entries per function, kept beside the logs so trimming needs no count(*) scan.
  CREATE TABLE log_counts (
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    entries   INTEGER NOT NULL,
    PRIMARY KEY (namespace, name)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE artifacts (
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('wasm', 'javascript')),
    created_at TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  `
  -- The usage ledger: one row per invocation. fuel is TEXT because it is a 64-bit count.
  CREATE TABLE usage (
    call_id           TEXT NOT NULL,
    namespace         TEXT NOT NULL,
    name              TEXT NOT NULL,
    time_ms           INTEGER NOT NULL,
    status            INTEGER NOT NULL,
    fuel              TEXT,
    memory_peak_bytes INTEGER NOT NULL,
    io_bytes_in       INTEGER NOT NULL,
    io_bytes_out      INTEGER NOT NULL,
    wall_seconds      REAL NOT NULL,
    weights_version   TEXT,
    instance          TEXT NOT NULL,
    receipt           TEXT
  ) STRICT;
  CREATE INDEX usage_by_function_time ON usage (namespace, name, time_ms);
  CREATE INDEX usage_by_time ON usage (namespace, time_ms);
  CREATE INDEX usage_by_call ON usage (call_id);
  `,
];

export const SCHEMA_VERSION = migrations.length;

export function migrate(db: Database): void {
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new TfaasError(
        "internal",
        `Cannot open database ${db.name}: current schema version is ${current}, newer than this TFaaS understands (${SCHEMA_VERSION})`,
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(migrations[version] ?? "");
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
