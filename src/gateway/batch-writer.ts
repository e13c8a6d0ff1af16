/**
 * Buffers records off the hot path and writes them in batches: one store transaction (and one
 * fsync) per batch instead of per invocation. A crash loses at most the last `maxDelayMs` of
 * buffered records; `close` writes what is left.
 */
import { log } from "../shared/log.js";

export interface BatchWriterOptions<T> {
  what: string;
  write(items: T[]): Promise<void>;
  maxItems?: number;
  maxDelayMs?: number;
}

export class BatchWriter<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly maxItems: number;
  private readonly maxDelayMs: number;

  constructor(private readonly options: BatchWriterOptions<T>) {
    this.maxItems = options.maxItems ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 20;
  }

  add(...items: T[]): void {
    this.pending.push(...items);
    if (this.pending.length >= this.maxItems) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
  }

  /** Writes everything added so far; resolves when it is stored (failures are logged, not thrown). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.pending;
    this.pending = [];
    if (items.length > 0) {
      // Batches are written one after another so records reach the store in order.
      this.writing = this.writing.then(() =>
        this.options.write(items).catch((error: unknown) => log.error(`cannot store ${this.options.what}`, { count: items.length, error })),
      );
    }
    return this.writing;
  }
}
