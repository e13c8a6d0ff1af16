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
import { Lifecycle } from "./lifecycle.js";
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

  const db = openDatabase(join(dataDir, "tfaas.db"));
  try {
    const lifecycle = new Lifecycle();
    return {
      functions: new SqliteFunctionStore(db, lifecycle),
      secrets: new SqliteSecretStore(db, cipher, lifecycle),
      logs: new SqliteLogStore(db, maxLogEntries, lifecycle),
      artifacts: new SqliteArtifactStore(db, files, lifecycle),
      usage: new SqliteUsageStore(db, lifecycle),
      close: () => lifecycle.close(() => db.close()),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

function openDatabase(path: string): Database.Database {
  const db = new Database(path, { timeout: 5_000 });
  try {
    db.pragma("journal_mode = WAL");
    // FULL, not NORMAL: in WAL mode NORMAL already survives a process crash, but a power loss or
    // kernel panic can roll back commits the platform has acknowledged (a deployment, a secret).
    // FULL fsyncs the WAL at every commit, as artifact files are fsynced; the store's writes are
    // control-plane rate and log appends are batched, so one fsync per commit is affordable.
    db.pragma("synchronous = FULL");
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
