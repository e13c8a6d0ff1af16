/**
 * Group commit: every write asked for during one turn of the event loop runs in one SQLite
 * transaction, so one fsync covers them all and a burst of enqueues costs one disk flush instead
 * of one each. Each write runs in its own savepoint: a write that throws is rolled back alone and
 * rejects only its own caller. Promises settle after the commit.
 *
 * Durability per batch: with `fsyncDurable`, a batch holding any `durable` write (one a client is
 * told about, e.g. a 202) commits with synchronous=FULL, fsyncing the WAL; every other batch
 * commits with NORMAL, which survives a process crash but not a power loss. The WAL is ordered,
 * so a FULL commit also makes every earlier NORMAL commit durable. An fsync blocks the event
 * loop (better-sqlite3 is synchronous), which is why it is spent only where it is promised.
 */
import type { Database } from "better-sqlite3";

interface PendingWrite {
  write: () => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  #pending: PendingWrite[] = [];
  #scheduled = false;
  #idle: Array<() => void> = [];
  #synchronous: "FULL" | "NORMAL" | undefined;
  /** Runs a write inside the batch's transaction as a savepoint (one wrapper, reused). */
  readonly #savepoint: (write: () => unknown) => unknown;

  constructor(
    private readonly db: Database,
    private readonly fsyncDurable: boolean,
    /** Called when a whole batch fails to commit, so in-memory state can be rebuilt from the database. */
    private readonly onBatchFailed: () => void,
  ) {
    this.#savepoint = db.transaction((write: () => unknown) => write());
  }

  run<T>(write: () => T, durable: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, durable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Resolves once every write asked for so far has been committed or rejected. */
  drained(): Promise<void> {
    if (!this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      const synchronous = this.fsyncDurable && batch.some((pending) => pending.durable) ? "FULL" : "NORMAL";
      if (synchronous !== this.#synchronous) {
        this.db.pragma(`synchronous = ${synchronous}`);
        this.#synchronous = synchronous;
      }
      this.db.transaction(() => {
        for (const { write } of batch) {
          try {
            outcomes.push({ ok: true, value: this.#savepoint(write) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      this.onBatchFailed();
      for (const { reject } of batch) reject(error);
      this.#notifyIdle();
      return;
    }
    batch.forEach(({ resolve, reject }, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) resolve(outcome.value);
      else reject(outcome.error);
    });
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#scheduled) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
