/**
 * The embedded Store: one data directory holding `tfaas.db` (SQLite: functions, sealed secrets,
 * logs, artifact metadata, the usage ledger), `secrets.key` (the key that seals secrets) and
 * `artifacts/sha256/<hex>` (artifact bytes).
 */
import Database from "better-sqlite3";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { Defaults } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";
import type { Store } from "../index.js";
import { SecretCipher } from "../secret-cipher.js";
import { loadOrCreateSecretKey } from "../secret-key.js";
import { ArtifactFiles } from "./artifact-files.js";
import { SqliteArtifactStore } from "./artifacts.js";
import { SqliteFunctionStore } from "./functions.js";
import { Lifecycle } from "../lifecycle.js";
import { SqliteLogStore } from "./logs.js";
import { migrate } from "./schema.js";
import { SqliteSecretStore } from "./secrets.js";
import { SqliteUsageStore } from "./usage.js";

export interface SqliteStoreOptions {
  /** Created (mode 0700) when missing. */
  dataDir: string;
  /** Oldest entries beyond this many per function are dropped; default `Defaults.maxLogLinesPerFunction`. */
  maxLogEntriesPerFunction?: number;
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const maxLogEntries = options.maxLogEntriesPerFunction ?? Defaults.maxLogLinesPerFunction;
  if (!Number.isSafeInteger(maxLogEntries) || maxLogEntries < 1) {
    throw new TfaasError(
      "invalid-request",
      `Cannot open store: current maxLogEntriesPerFunction is ${maxLogEntries}, expected a whole number ≥ 1`,
    );
  }
  const { dataDir } = options;
  const artifactRoot = join(dataDir, "artifacts", "sha256");
  await fs.mkdir(artifactRoot, { recursive: true, mode: 0o700 });
  const cipher = new SecretCipher(await loadOrCreateSecretKey(join(dataDir, "secrets.key")));
  const files = new ArtifactFiles(artifactRoot);
  await files.removeStaleTemporaries();

  const path = join(dataDir, "tfaas.db");
  const db = openDatabase(path, "FULL");
  let records: Database.Database | undefined;
  try {
    records = openDatabase(path, "NORMAL");
    const lifecycle = new Lifecycle();
    const recordsDb = records;
    return {
      functions: new SqliteFunctionStore(db, lifecycle),
      secrets: new SqliteSecretStore(db, cipher, lifecycle),
      logs: new SqliteLogStore(recordsDb, maxLogEntries, lifecycle),
      artifacts: new SqliteArtifactStore(db, files, lifecycle),
      usage: new SqliteUsageStore(recordsDb, lifecycle),
      close: () =>
        lifecycle.close(() => {
          recordsDb.close();
          db.close();
        }),
    };
  } catch (error) {
    records?.close();
    db.close();
    throw error;
  }
}

/**
 * Two connections to one WAL database, differing only in durability:
 * - FULL for what the platform acknowledges (deployments, secrets, artifacts): in WAL mode
 *   NORMAL already survives a process crash, but a power loss or kernel panic could roll back
 *   a commit a client was told about; FULL fsyncs the WAL at every commit, as artifact files
 *   are fsynced, and these writes come at control-plane rate.
 * - NORMAL for the per-call records (logs, the usage ledger), written in batches on the
 *   invocation path: an fsync there would stall the gateway's event loop for milliseconds per
 *   batch. They survive a process crash; a power loss can lose the last batches, which the
 *   gateway's batching already allows for a crash (docs/architecture.md).
 */
function openDatabase(path: string, synchronous: "FULL" | "NORMAL"): Database.Database {
  const db = new Database(path, { timeout: 5_000 });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
