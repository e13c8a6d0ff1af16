/**
 * Open/closed state and error mapping shared by the NATS store's parts: every operation runs
 * through `run`, which refuses work after `close`, lets `close` wait for operations under way,
 * and turns NATS failures into TfaasErrors naming the server (`unavailable` when it cannot be
 * reached within the request timeout).
 */
import { Lifecycle } from "../lifecycle.js";
import { natsFailure } from "./connection.js";

export class Guard {
  readonly #lifecycle: Lifecycle;
  readonly #server: string;

  /** `what` names the thing in messages ("store", "queue"); `server` is the redacted URL. */
  constructor(what: string, server: string) {
    this.#lifecycle = new Lifecycle(what);
    this.#server = server;
  }

  get server(): string {
    return this.#server;
  }

  get closed(): boolean {
    return this.#lifecycle.closed;
  }

  run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    if (this.#lifecycle.closed) return Promise.reject(this.#lifecycle.closedError());
    return this.#lifecycle.track(() =>
      operation().catch((error: unknown) => {
        throw natsFailure(action, this.#server, error);
      }),
    );
  }

  /** Idempotent; `release` runs once, after every operation under way has settled. */
  close(release: () => Promise<void>): Promise<void> {
    return this.#lifecycle.close(release);
  }
}
