/**
 * Open/closed state shared by the store's parts: operations after `close` fail clearly instead of
 * with a driver error, and `close` waits for writes already under way (artifact files) to finish.
 */
import { TfaasError } from "../../shared/errors.js";

export class Lifecycle {
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  assertOpen(): void {
    if (this.#closed) throw new TfaasError("unavailable", "Cannot use the store: current state is closed");
  }

  /** Runs an operation that awaits between database steps, so `close` can wait for it. */
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
  async close(release: () => void): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#inFlight);
    release();
  }
}
