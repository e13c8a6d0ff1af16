/**
 * Open/closed state and error mapping shared by the NATS store's parts: every operation runs
 * through `run`, which refuses work after `close`, lets `close` wait for operations under way,
 * and turns NATS failures into TfaasErrors naming the server (`unavailable` when it cannot be
 * reached within the request timeout).
 */
import { TfaasError } from "../../shared/errors.js";
import { natsFailure } from "./connection.js";

export class Guard {
  readonly #what: string;
  readonly #server: string;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  /** `what` names the thing in messages ("store", "queue"); `server` is the redacted URL. */
  constructor(what: string, server: string) {
    this.#what = what;
    this.#server = server;
  }

  get server(): string {
    return this.#server;
  }

  get closed(): boolean {
    return this.#closed;
  }

  run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TfaasError("unavailable", `Cannot use the ${this.#what}: current state is closed`));
    const running = operation().catch((error: unknown) => {
      throw natsFailure(action, this.#server, error);
    });
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return running;
  }

  /** Idempotent; `release` runs once, after every operation under way has settled. */
  async close(release: () => Promise<void>): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#inFlight);
    await release();
  }
}
