/**
 * The distributed Queue on NATS JetStream. With the default prefix `tfaas` it keeps:
 *
 * - stream `tfaas_calls` (work-queue retention, subjects `tfaas.calls.<ns>.<name>`): one ticket
 *   per call carrying its request, published with `Nats-Msg-Id` = call id. Each function has a
 *   durable pull consumer `tfaas_fn_<ns>_<name>` with explicit acks, `ack_wait`, `backoff`
 *   and `max_deliver`;
 * - KV `tfaas_calls`: each call's state (compare-and-set), KV `tfaas_call_results`: result
 *   bodies, Object Store `tfaas_call_bodies`: request and result bodies too large for a message.
 *
 * Guarantees and their limits:
 * - **At least once, same call id.** A claimed ticket stays unacknowledged while the call runs or
 *   waits for its retry: that is the claiming instance's lease, renewed every third of the
 *   shortest lease. If the instance dies, JetStream redelivers the ticket once the lease lapses
 *   (`ackWaitMs`, growing along `backoffMs` with each redelivery) and the next claim runs it
 *   again with one more attempt. `close()` releases leases at once instead. A ticket delivered
 *   `maxDeliveries` times is not run again but finished as failed (500, "abandoned"), since
 *   JetStream would never deliver it once more. Graceful restarts count as deliveries too.
 * - **Order.** Per function in arrival order, except that a redelivered call comes before newer
 *   ones, and a call waiting for its retry stays with the instance that retried it (its lease).
 * - **Depth and `maxDepth`.** `depth()` is the stream's ticket count minus the calls this
 *   instance is running, so with several gateways it also counts the calls the others are
 *   running (at most their async concurrency). Admission is exact within one instance; gateways
 *   admitting at the same moment can together overshoot `maxDepth` by their in-flight enqueues.
 *   It is backpressure, not a hard cap.
 * - **`waiting()`** lists functions with undelivered tickets, tickets held elsewhere or awaiting
 *   redelivery (`readyAt` 0: ready as far as this instance can tell) and calls this instance
 *   holds for a retry (`readyAt` their retry time). A dispatcher in distributed mode should poll
 *   it, since another gateway's enqueues do not notify it.
 * - **Scans.** `pendingCallbacks()` and `sweep()` read every retained call's state (small
 *   documents, no bodies): run them at start and on the sweep interval, not per call.
 * - **Gap.** An instance that dies between creating a call's state and publishing its ticket
 *   (no 202 was sent) leaves a `queued` state without a ticket, which nothing runs or sweeps.
 *
 * Call state is not encrypted: callers that need confidentiality send ciphertext bodies.
 */
import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { TfaasError } from "../../shared/errors.js";
import { connectNats, DEFAULT_REQUEST_TIMEOUT_MS, ensureStream, Guard, natsFailure, redactNatsUrl, type NatsTarget } from "../../store/nats/index.js";
import type { Queue } from "../queue.js";
import { Bodies } from "./bodies.js";
import { NatsQueue } from "./queue.js";

export type NatsQueueOptions = NatsTarget & {
  /** Queued calls beyond this many are refused with `too-many-requests` (see above for several gateways). */
  maxDepth: number;
  /** Copies of the stream and buckets: 1 (single server, default), 3 or 5 (cluster). */
  replicas?: number;
  /** Names the stream, buckets (`<prefix>_…`) and subjects (`<prefix>.…`); default `tfaas`. */
  prefix?: string;
  /** The first lease on a claimed call; default 30,000 ms. */
  ackWaitMs?: number;
  /** Leases for the 1st, 2nd, … redelivery (JetStream `backoff`); default ackWait × 1, 2, 4, 8. */
  backoffMs?: number[];
  /** Deliveries of one ticket before it is failed instead of run; default 10, more than `backoffMs` has steps. */
  maxDeliveries?: number;
  /** How long an operation may wait for NATS (also while reconnecting) before failing with `unavailable`; default 5,000 ms. */
  requestTimeoutMs?: number;
  /** Connection name when connecting by URL; default `tfaas-queue`. */
  name?: string;
};

const PREFIX = /^[a-z][a-z0-9_]{0,31}$/;

export async function openNatsQueue(options: NatsQueueOptions): Promise<Queue> {
  const prefix = options.prefix ?? "tfaas";
  const replicas = options.replicas ?? 1;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const backoffMs = options.backoffMs ?? [1, 2, 4, 8].map((factor) => ackWaitMs * factor);
  const maxDeliveries = options.maxDeliveries ?? 10;
  const { maxDepth } = options;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) throw invalid("maxDepth", String(maxDepth), "a whole number ≥ 1");
  if (!PREFIX.test(prefix)) throw invalid("prefix", JSON.stringify(prefix), "lower-case letters, digits and _ (up to 32), starting with a letter");
  if (![1, 3, 5].includes(replicas)) throw invalid("replicas", String(replicas), "1, 3 or 5");
  if (!Number.isSafeInteger(ackWaitMs) || ackWaitMs < 300) throw invalid("ackWaitMs", String(ackWaitMs), "a whole number ≥ 300");
  if (backoffMs.length === 0 || backoffMs.some((ms) => !Number.isSafeInteger(ms) || ms < 300)) {
    throw invalid("backoffMs", JSON.stringify(backoffMs), "at least one whole number of milliseconds, each ≥ 300");
  }
  if (!Number.isSafeInteger(maxDeliveries) || maxDeliveries <= backoffMs.length) {
    throw invalid("maxDeliveries", String(maxDeliveries), `a whole number greater than the ${backoffMs.length} backoff steps`);
  }

  const owned = options.connection === undefined;
  const nc = options.connection ?? (await connectNats(options.url, { name: options.name ?? "tfaas-queue" }));
  const server = redactNatsUrl(options.url ?? nc.getServer());
  try {
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const js = jetstream(nc, { timeout: requestTimeoutMs });
    const jsm = await jetstreamManager(nc, { timeout: requestTimeoutMs });
    const kvm = new Kvm(js);
    const bucket = { replicas, history: 1, storage: StorageType.File };
    const [calls, results, objects] = await Promise.all([
      kvm.create(`${prefix}_calls`, bucket),
      kvm.create(`${prefix}_call_results`, bucket),
      new Objm(js).create(`${prefix}_call_bodies`, { replicas, storage: StorageType.File }),
    ]);
    await ensureStream(jsm, {
      name: `${prefix}_calls`,
      subjects: [`${prefix}.calls.>`],
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.Old,
      storage: StorageType.File,
      num_replicas: replicas,
    });
    return new NatsQueue({
      nc,
      js,
      jsm,
      calls,
      bodies: new Bodies(results, objects, nc.info?.max_payload ?? 1024 * 1024),
      guard: new Guard("queue", server),
      prefix,
      maxDepth,
      ackWaitMs,
      backoffMs,
      maxDeliveries,
      requestTimeoutMs,
      release: async () => (owned ? nc.close() : undefined),
    });
  } catch (error) {
    if (owned) await nc.close().catch(() => undefined);
    throw natsFailure("open the NATS queue", server, error);
  }
}

function invalid(option: string, value: string, expected: string): TfaasError {
  return new TfaasError("invalid-request", `Cannot open NATS queue: current ${option} is ${value}, expected ${expected}`);
}
