/** Small KV helpers: live entries only, and recognising a failed compare-and-set. */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KvEntry } from "@nats-io/kv";

/** The entry, or undefined when the key was never written or its last operation deleted it. */
export function liveEntry(entry: KvEntry | null): KvEntry | undefined {
  return entry === null || entry.operation !== "PUT" ? undefined : entry;
}

/** A write that expected another revision (create of an existing key, update of a changed one). */
export function isWrongLastSequence(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
