/** JetStream helpers the store and the queue share: declaring streams, reading a subject range. */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import type { WithRequired } from "@nats-io/transport-node";

/**
 * Creates the stream, or brings an existing one to `config` (limits and replicas may change;
 * whoever opened last wins, so every process of a deployment should be configured alike).
 */
export async function ensureStream(jsm: JetStreamManager, config: WithRequired<Partial<StreamConfig>, "name">): Promise<void> {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (raced) {
      // Another process created it between our info and add; fall through to update it.
      if (!(raced instanceof JetStreamApiError)) throw raced;
    }
  }
  await jsm.streams.update(config.name, config);
}

export interface StoredMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** Server receive time, ms since the epoch. */
  timestampMs: number;
}

export interface ReadRange {
  /** Only messages the server received at or after this time. */
  startTimeMs?: number;
  /** Only the last message of each subject (the current values of a KV bucket). */
  lastPerSubject?: boolean;
}

/**
 * Every message of `stream` on `subject` (wildcards allowed) that is stored now, in stream order.
 * One ephemeral consumer per read, removed afterwards: cost is one message transfer per stored
 * message in the range, so callers bound ranges (per-subject limits, start times).
 */
export async function readSubject(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
  range: ReadRange = {},
): Promise<StoredMessage[]> {
  const info = await jsm.consumers.add(stream, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    // A reader that dies mid-read leaves nothing behind for long.
    inactive_threshold: 30_000_000_000,
    ...(range.lastPerSubject === true
      ? { deliver_policy: DeliverPolicy.LastPerSubject }
      : range.startTimeMs === undefined
        ? { deliver_policy: DeliverPolicy.All }
        : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(range.startTimeMs).toISOString() }),
  });
  const messages: StoredMessage[] = [];
  try {
    let remaining = info.num_pending;
    const consumer = await js.consumers.get(stream, info.name);
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(remaining, 1_000), expires: 5_000 });
      let received = 0;
      for await (const message of batch) {
        received++;
        messages.push({ seq: message.seq, subject: message.subject, data: message.data, timestampMs: message.info.timestampNanos / 1e6 });
        if (message.info.pending === 0) remaining = 0;
      }
      if (received === 0) break;
      if (remaining > 0) remaining -= received;
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
  return messages;
}
