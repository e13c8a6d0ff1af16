/**
 * Replay protection for Oblivious HTTP requests: the `enc` values (fresh ephemeral public keys,
 * one per request) of the last `capacity` requests accepted under one key.
 *
 * Where the guarantee stops: a replay is caught only while its original is among the last
 * `capacity` requests accepted for that key. Anyone holding the public key can push an old request
 * out of the window by sending `capacity` fresh ones, and the window is lost when the worker
 * restarts; both are bounded by retiring keys (a retired key's requests are all refused). Entries
 * are recorded only after a request authenticates, so garbage cannot evict real entries.
 */
import { TfaasError } from "../shared/errors.js";

export const DEFAULT_REPLAY_WINDOW = 65_536;

export function checkReplayCapacity(capacity: number): void {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new TfaasError("invalid-request", `Cannot create replay window: capacity is ${capacity}, expected a positive integer`);
  }
}

export class ReplayWindow {
  /** Insertion-ordered: the first entry is the oldest, evicted first. Keys are `enc` as latin1. */
  private readonly seen = new Set<string>();

  constructor(readonly capacity: number = DEFAULT_REPLAY_WINDOW) {
    checkReplayCapacity(capacity);
  }

  get size(): number {
    return this.seen.size;
  }

  has(enc: Uint8Array): boolean {
    return this.seen.has(key(enc));
  }

  remember(enc: Uint8Array): void {
    const entry = key(enc);
    if (this.seen.has(entry)) return;
    if (this.seen.size >= this.capacity) {
      const oldest = this.seen.values().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
    this.seen.add(entry);
  }
}

function key(enc: Uint8Array): string {
  return Buffer.from(enc.buffer, enc.byteOffset, enc.byteLength).toString("latin1");
}
