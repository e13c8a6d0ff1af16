/**
 * The Store: everything the platform must not lose. Embedded mode implements it on SQLite plus
 * content-addressed files (`openSqliteStore`); distributed mode on NATS JetStream. Every
 * implementation passes the same contract suite (`store.contract.ts`).
 *
 * All methods are async so network-backed implementations fit the same interface.
 */
import type { FunctionRecord } from "../shared/function.js";

export { openSqliteStore } from "./sqlite/index.js";
export type { SqliteStoreOptions } from "./sqlite/index.js";

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
  /** RFC 3339; any offset is accepted on append, and queries return UTC with milliseconds (`toISOString()`). */
  timestamp: string;
  text: string;
}

export interface LogQuery {
  name: string;
  namespace: string;
  /** Only entries strictly after this RFC 3339 time; anything else fails with `invalid-request`. */
  since?: string;
  /** Only the last `tail` entries (after `since`); a whole number ≥ 0, else `invalid-request`. */
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
  /**
   * Appends entries all or nothing (a malformed timestamp fails the batch with `invalid-request`);
   * keeps at most the configured number of entries per function (oldest by timestamp dropped).
   */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Entries in time order; equal timestamps in arrival order. */
  query(query: LogQuery): Promise<LogEntry[]>;
  /** Drops a function's logs (on removal). */
  removeFunction(name: string, namespace: string): Promise<void>;
}

export interface ArtifactStore {
  /** Stores bytes under their digest; storing the same bytes twice returns the first record (its kind included) with `created: false`. */
  put(bytes: Uint8Array, kind: ArtifactKind): Promise<{ info: ArtifactInfo; created: boolean }>;
  /** A digest not spelled `sha256:<64 lower-case hex>` fails with `invalid-request`. */
  stat(digest: string): Promise<ArtifactInfo | undefined>;
  /**
   * Fails with `invalid-request` for a malformed digest, `artifact-not-found` for an unknown one,
   * and `internal` when the stored bytes no longer hash to the digest (never served corrupted).
   */
  read(digest: string): Promise<Uint8Array>;
}

/** What one invocation used, as the worker measured it; the ledger bills and receipts build on. */
export interface UsageRecord {
  callId: string;
  name: string;
  namespace: string;
  /** RFC 3339 with milliseconds: when the call finished. */
  timestamp: string;
  status: number;
  /** Weighted instructions (decimal string: fuel is a 64-bit count); null for engines that do not meter fuel. */
  fuel: string | null;
  memoryPeakBytes: number;
  ioBytesIn: number;
  ioBytesOut: number;
  wallSeconds: number;
  /** The metering weight table's version; null when fuel is null. */
  weightsVersion: string | null;
  /** The worker that ran the call. */
  instance: string;
  /** The call's signed receipt in its compact form (the `X-Tfaas-Receipt` value, docs/receipts.md), when the worker issued one. */
  receipt?: string;
}

export interface UsageTotals {
  name: string;
  namespace: string;
  calls: number;
  /** Sum of fuel over the calls that reported it (decimal string). */
  fuel: string;
  /** Largest peak memory of any call. */
  memoryPeakBytes: number;
  ioBytesIn: number;
  ioBytesOut: number;
  wallSeconds: number;
}

export interface UsageQuery {
  namespace: string;
  name?: string;
  /** Inclusive lower bound, RFC 3339. */
  since?: string;
  /** Exclusive upper bound, RFC 3339. */
  until?: string;
}

export interface UsageStore {
  append(records: readonly UsageRecord[]): Promise<void>;
  /** Totals per function over the range, ordered by name. */
  totals(query: UsageQuery): Promise<UsageTotals[]>;
  /** Records in the range in time order (at most `limit`, default 10,000). */
  list(query: UsageQuery & { limit?: number }): Promise<UsageRecord[]>;
  get(callId: string): Promise<UsageRecord | undefined>;
}

export interface Store {
  functions: FunctionStore;
  secrets: SecretStore;
  logs: LogStore;
  artifacts: ArtifactStore;
  usage: UsageStore;
  /** Idempotent; waits for writes under way. Afterwards every method fails with `unavailable`. */
  close(): Promise<void>;
}
