/**
 * What one gateway learns from the others in distributed mode:
 * - function records: a watch on the functions bucket refreshes the registry after any change
 *   (and a timer every `REFRESH_MS`, in case that refresh failed),
 *   so a function deployed (scaled, removed) through one gateway is served by every gateway
 *   within milliseconds; deployment stays eventually consistent across gateways, as the
 *   OpenFaaS API's 202 Accepted allows;
 * - async calls: another gateway's enqueue does not notify this one's dispatcher, so the queue's
 *   `waiting()` is polled and ready functions are passed on.
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FunctionRegistry } from "../gateway/functions.js";
import type { Dispatcher, Queue } from "../queue/index.js";
import { log } from "../shared/log.js";

/** How often this gateway looks for async calls other gateways enqueued. */
export const QUEUE_POLL_MS = 250;
/** A refresh also runs this often, in case one after a change failed (NATS briefly unavailable). */
export const REFRESH_MS = 10_000;

export interface FollowOptions {
  connection: NatsConnection;
  prefix: string;
  registry: FunctionRegistry;
  queue: Queue;
  dispatcher: Dispatcher;
}

export async function followCluster({ connection, prefix, registry, queue, dispatcher }: FollowOptions): Promise<{ stop(): void }> {
  const functions = await new Kvm(jetstream(connection)).open(`${prefix}_functions`);
  const watch = await functions.watch({ include: KvWatchInclude.UpdatesOnly, headers_only: true });
  let refreshing: Promise<void> | undefined;
  let again = false;
  const refresh = (): void => {
    if (refreshing !== undefined) {
      again = true;
      return;
    }
    refreshing = (async () => {
      do {
        again = false;
        await registry.refresh().catch((error: unknown) => log.error("cannot refresh functions from NATS", { error }));
      } while (again);
      refreshing = undefined;
    })();
  };
  void (async () => {
    for await (const _change of watch) refresh();
  })();
  const refresher = setInterval(refresh, REFRESH_MS);
  refresher.unref();

  let polling = false;
  const poller = setInterval(() => {
    if (polling) return;
    polling = true;
    queue
      .waiting()
      .then((waiting) => {
        const now = Date.now();
        for (const due of waiting) if (due.readyAt <= now) dispatcher.notify(due.name, due.namespace);
      })
      .catch((error: unknown) => log.warn("cannot poll the async queue", { error }))
      .finally(() => (polling = false));
  }, QUEUE_POLL_MS);
  poller.unref();

  return {
    stop: () => {
      clearInterval(poller);
      clearInterval(refresher);
      watch.stop();
    },
  };
}
