/** Small KV helpers: live entries only, recognising a failed compare-and-set, and updating a live key. */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";

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

/**
 * Overwrites a live key with `value()` (made again for each attempt) at the revision just read,
 * reading again whenever another writer got in between; throws `notFound()` when the key is absent.
 */
export async function updateLive(kv: KV, key: string, value: () => string | Uint8Array, notFound: () => Error): Promise<void> {
  for (;;) {
    const current = liveEntry(await kv.get(key));
    if (current === undefined) throw notFound();
    try {
      await kv.update(key, value(), current.revision);
      return;
    } catch (error) {
      // Someone else changed or removed it since we read it: look again.
      if (!isWrongLastSequence(error)) throw error;
    }
  }
}
