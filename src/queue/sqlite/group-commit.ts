/**
 * Group commit: every write asked for during one turn of the event loop runs in one SQLite
 * transaction, so one fsync (synchronous=FULL) covers them all and a burst of enqueues costs
 * one disk flush instead of one each. Each write runs in its own savepoint: a write that throws
 * is rolled back alone and rejects only its own caller. Promises settle after the commit.
 */
import type { Database } from "better-sqlite3";

interface PendingWrite {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit {
  #pending: PendingWrite[] = [];
  #scheduled = false;
  #idle: Array<() => void> = [];

  constructor(
    private readonly db: Database,
    /** Called when a whole batch fails to commit, so in-memory state can be rebuilt from the database. */
    private readonly onBatchFailed: () => void,
  ) {}

  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
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
      this.db.transaction(() => {
        for (const { write } of batch) {
          try {
            // A nested better-sqlite3 transaction is a savepoint.
            outcomes.push({ ok: true, value: this.db.transaction(write)() });
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
