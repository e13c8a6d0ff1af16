/**
 * Open/closed state shared by the stores' and queues' parts (SQLite and NATS): operations after
 * `close` fail clearly instead of with a driver error, and `close` waits for the operations
 * under way to settle before it releases the connection.
 */
import { TfaasError } from "../shared/errors.js";

export class Lifecycle {
  readonly #what: string;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  /** `what` names the thing in messages ("store", "queue"). */
  constructor(what = "store") {
    this.#what = what;
  }

  get closed(): boolean {
    return this.#closed;
  }

  closedError(): TfaasError {
    return new TfaasError("unavailable", `Cannot use the ${this.#what}: current state is closed`);
  }

  assertOpen(): void {
    if (this.#closed) throw this.closedError();
  }

  /** Runs an operation that awaits between steps, so `close` can wait for it. */
  track<T>(operation: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const running = operation();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return running;
  }

  /** Idempotent; `release` runs once, after every tracked operation has settled. */
  async close(release: () => void | Promise<void>): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#inFlight);
    await release();
  }
}
