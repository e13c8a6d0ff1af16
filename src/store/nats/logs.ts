/**
 * Function logs in one stream, one subject per function (`<prefix>.logs.<namespace>.<name>`),
 * bounded by the stream's `max_msgs_per_subject`: the server drops a function's oldest entries
 * itself, atomically, whichever gateway appended them.
 *
 * Differences from the embedded store, by design: "oldest" is by arrival, not by timestamp
 * (entries arrive nearly in time order, so this matters only for stragglers at the limit); an
 * append is validated all or nothing, but a connection lost mid-batch can leave a prefix of it
 * written, since JetStream 2.9 has no atomic multi-message publish. A query reads all of the
 * function's entries (at most the limit) and sorts them by timestamp, then arrival.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { TfaasError } from "../../shared/errors.js";
import type { LogEntry, LogQuery, LogStore } from "../index.js";
import { formatLogTime, parseLogTime } from "../log-time.js";
import type { Guard } from "./guard.js";
import { token } from "./keys.js";
import { readSubject } from "./streams.js";

interface StoredEntry {
  instance: string;
  /** Milliseconds since the epoch. */
  t: number;
  text: string;
}

/** Publishes in flight at once: enough to hide round trips without flooding the connection. */
const PUBLISH_WINDOW = 512;

export class NatsLogStore implements LogStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subjectPrefix: string;
  readonly #guard: Guard;

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string, subjectPrefix: string, guard: Guard) {
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#subjectPrefix = subjectPrefix;
    this.#guard = guard;
  }

  append(entries: readonly LogEntry[]): Promise<void> {
    return this.#guard.run("append logs", async () => {
      // Validate the whole batch before writing any of it.
      const messages = entries.map((entry) => ({
        subject: this.#subject(entry.name, entry.namespace),
        data: JSON.stringify({ instance: entry.instance, t: parseLogTime(entry.timestamp, "log entry timestamp"), text: entry.text } satisfies StoredEntry),
      }));
      for (let start = 0; start < messages.length; start += PUBLISH_WINDOW) {
        await Promise.all(messages.slice(start, start + PUBLISH_WINDOW).map(({ subject, data }) => this.#js.publish(subject, data)));
      }
    });
  }

  query(query: LogQuery): Promise<LogEntry[]> {
    return this.#guard.run("query logs", async () => {
      const { tail } = query;
      if (tail !== undefined && !(Number.isSafeInteger(tail) && tail >= 0)) {
        throw new TfaasError("invalid-request", `Cannot query logs: current tail is ${tail}, expected a whole number ≥ 0`);
      }
      const afterMs = query.since === undefined ? Number.NEGATIVE_INFINITY : parseLogTime(query.since, "logs since");
      if (tail === 0) return [];
      const stored = await readSubject(this.#js, this.#jsm, this.#stream, this.#subject(query.name, query.namespace));
      const entries = stored
        .map((message) => ({ seq: message.seq, entry: JSON.parse(new TextDecoder().decode(message.data)) as StoredEntry }))
        .filter(({ entry }) => entry.t > afterMs)
        .sort((a, b) => a.entry.t - b.entry.t || a.seq - b.seq);
      return entries.slice(tail === undefined ? 0 : Math.max(0, entries.length - tail)).map(({ entry }) => ({
        name: query.name,
        namespace: query.namespace,
        instance: entry.instance,
        timestamp: formatLogTime(entry.t),
        text: entry.text,
      }));
    });
  }

  removeFunction(name: string, namespace: string): Promise<void> {
    return this.#guard.run("remove logs", async () => {
      await this.#jsm.streams.purge(this.#stream, { filter: this.#subject(name, namespace) });
    });
  }

  #subject(name: string, namespace: string): string {
    return `${this.#subjectPrefix}.logs.${token(namespace)}.${token(name)}`;
  }
}
