/**
 * Distributed mode on NATS JetStream (docs/distributed.md).
 *
 * Gateway side
 * - `openDistributedBackends({ url, replicas, secretKeyFile, maxDepth, ackWaitMs })` → the NATS
 *   Store, Queue and Dispatch on one connection (fails with `unavailable` naming the URL).
 * - `followCluster(…)`: function changes and async calls from other gateways.
 *
 * Worker side
 * - `startNatsWorker(options)`: the worker core on NATS, with heartbeat and /healthz.
 */
export { openDistributedBackends, type DistributedBackends, type DistributedOptions } from "./backends.js";
export { followCluster, QUEUE_POLL_MS, type FollowOptions } from "./follow.js";
export { NatsDispatch, type NatsDispatchOptions } from "./dispatch.js";
export { defaultInstanceName, startNatsWorker, type NatsWorker, type NatsWorkerOptions } from "./worker.js";
export { HEARTBEAT_MS } from "./heartbeat.js";
