/**
 * The Store: everything the platform must not lose. Embedded mode implements it on SQLite plus
 * content-addressed files (`openSqliteStore`); distributed mode on NATS JetStream. Every
 * implementation passes the same contract suite (`store.contract.ts`).
 *
 * All methods are async so network-backed implementations fit the same interface.
 */
import type { FunctionRecord } from "../shared/function.js";

export type ArtifactKind = "wasm" | "javascript";

export interface ArtifactInfo {
  /** `sha256:<64 hex>` of the bytes. */
  digest: string;
  size: number;
  kind: ArtifactKind;
  /** RFC 3339. */
  createdAt: string;
}

export interface LogEntry {
  name: string;
  namespace: string;
  instance: string;
  /** RFC 3339 with milliseconds. */
  timestamp: string;
  text: string;
}

export interface LogQuery {
  name: string;
  namespace: string;
  /** Only entries strictly after this RFC 3339 time. */
  since?: string;
  /** Only the last `tail` entries (after `since`). */
  tail?: number;
}

export interface FunctionStore {
  list(namespace: string): Promise<FunctionRecord[]>;
  get(name: string, namespace: string): Promise<FunctionRecord | undefined>;
  /** Fails with `conflict` when the function exists. */
  create(record: FunctionRecord): Promise<void>;
  /** Replaces the record; fails with `function-not-found` when it does not exist. */
  update(record: FunctionRecord): Promise<void>;
  /** Returns false when there was nothing to remove. */
  remove(name: string, namespace: string): Promise<boolean>;
}

export interface SecretStore {
  /** Names only; values never leave the store except through `values`. */
  list(namespace: string): Promise<string[]>;
  /** Fails with `conflict` when the secret exists. */
  create(name: string, namespace: string, value: Uint8Array): Promise<void>;
  /** Fails with `secret-not-found` when it does not exist. */
  update(name: string, namespace: string, value: Uint8Array): Promise<void>;
  remove(name: string, namespace: string): Promise<boolean>;
  /** Decrypted values of the named secrets; fails with `secret-not-found` naming the first missing one. */
  values(names: readonly string[], namespace: string): Promise<Map<string, Uint8Array>>;
}

export interface LogStore {
  /** Appends entries; keeps at most the configured number of entries per function (oldest dropped). */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Entries in time order. */
  query(query: LogQuery): Promise<LogEntry[]>;
  /** Drops a function's logs (on removal). */
  removeFunction(name: string, namespace: string): Promise<void>;
}

export interface ArtifactStore {
  /** Stores bytes under their digest; storing the same bytes twice returns the first record. */
  put(bytes: Uint8Array, kind: ArtifactKind): Promise<{ info: ArtifactInfo; created: boolean }>;
  stat(digest: string): Promise<ArtifactInfo | undefined>;
  /** Fails with `artifact-not-found`. */
  read(digest: string): Promise<Uint8Array>;
}

export interface Store {
  functions: FunctionStore;
  secrets: SecretStore;
  logs: LogStore;
  artifacts: ArtifactStore;
  close(): Promise<void>;
}
