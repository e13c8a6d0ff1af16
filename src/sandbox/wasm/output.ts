/**
 * A byte sink for a guest stream with a hard size limit. Chunks are copied on write because
 * guest memory is reused (and may be grown) between writes.
 */
export class OutputBuffer {
  readonly limit: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #overflowed = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  get size(): number {
    return this.#size;
  }

  /** True once a write did not fit; what fitted was kept. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Appends what fits below the limit; returns false when some bytes did not fit. */
  write(chunk: Uint8Array): boolean {
    const room = this.limit - this.#size;
    const kept = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(room, 0));
    if (kept.length > 0) {
      this.#chunks.push(kept.slice());
      this.#size += kept.length;
    }
    if (kept.length < chunk.length) this.#overflowed = true;
    return kept.length === chunk.length;
  }

  bytes(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0] as Uint8Array;
    const out = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
