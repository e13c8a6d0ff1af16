/**
 * Function logs: written to the store (bounded per function) and fanned out to `follow`ers.
 * Only what functions write to stderr and the platform's one-line failure notes go here;
 * request bodies never do.
 */
import type { LogEntry, LogStore } from "../store/index.js";
import { BatchWriter } from "./batch-writer.js";

type Follower = (entry: LogEntry) => void;

export class FunctionLogs {
  private readonly followers = new Map<string, Set<Follower>>();

  private readonly writer: BatchWriter<LogEntry>;

  constructor(private readonly store: LogStore) {
    this.writer = new BatchWriter({ what: "function logs", write: (entries) => store.append(entries) });
  }

  /** Stores what is buffered; queries see every line recorded before the call. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Drops a removed function's logs, after the buffer is written so no old line outlives them. */
  async removeFunction(name: string, namespace: string): Promise<void> {
    await this.writer.flush();
    await this.store.removeFunction(name, namespace);
  }

  /** Splits text into lines and records them; never throws into the caller's request. */
  record(name: string, namespace: string, instance: string, text: string): void {
    const lines = text.split("\n").filter((line) => line.length > 0);
    if (lines.length === 0) return;
    const timestamp = new Date().toISOString();
    const entries = lines.map((line) => ({ name, namespace, instance, timestamp, text: line }));
    this.writer.add(...entries);
    for (const follower of this.followers.get(`${name}.${namespace}`) ?? []) entries.forEach(follower);
  }

  follow(name: string, namespace: string, follower: Follower): () => void {
    const key = `${name}.${namespace}`;
    let set = this.followers.get(key);
    if (!set) this.followers.set(key, (set = new Set()));
    set.add(follower);
    return () => {
      set.delete(follower);
      if (set.size === 0) this.followers.delete(key);
    };
  }
}
