/**
 * The usage ledger in a stream, one subject per function (`<prefix>.usage.<namespace>.<name>`),
 * kept without limits (it is what bills are made from), plus one index: a KV bucket mapping
 * each call id to the stream sequence of its latest record, so `get(callId)` is two lookups.
 *
 * Cost of ranges: `totals` and `list` read every record of the namespace (or function) that the
 * server received from `since` minus the clock-skew allowance until now, and add them up here
 * (fuel exactly, as BigInt: ../usage-ledger.ts). A record is found as long as the clock of the host that wrote it
 * was at most `maxClockSkewMs` ahead of the NATS server's. Ranges without `since` read the
 * whole subject; keep them for reports, not hot paths.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { UsageQuery, UsageRecord, UsageStore, UsageTotals } from "../index.js";
import { formatLogTime, parseLogTime } from "../log-time.js";
import { checkUsageFuel, totalUsage, usageListLimit } from "../usage-ledger.js";
import type { Guard } from "./guard.js";
import { liveEntry } from "./kv-util.js";
import { token } from "./keys.js";
import { readSubject } from "./streams.js";

const PUBLISH_WINDOW = 256;

interface Located {
  record: UsageRecord;
  timeMs: number;
  seq: number;
}

export class NatsUsageStore implements UsageStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #subjectPrefix: string;
  readonly #byCall: KV;
  readonly #maxClockSkewMs: number;
  readonly #guard: Guard;

  constructor(options: { js: JetStreamClient; jsm: JetStreamManager; stream: string; subjectPrefix: string; byCall: KV; maxClockSkewMs: number; guard: Guard }) {
    this.#js = options.js;
    this.#jsm = options.jsm;
    this.#stream = options.stream;
    this.#subjectPrefix = options.subjectPrefix;
    this.#byCall = options.byCall;
    this.#maxClockSkewMs = options.maxClockSkewMs;
    this.#guard = options.guard;
  }

  append(records: readonly UsageRecord[]): Promise<void> {
    return this.#guard.run("record usage", async () => {
      const normalized = records.map(normalize);
      for (let start = 0; start < normalized.length; start += PUBLISH_WINDOW) {
        await Promise.all(
          normalized.slice(start, start + PUBLISH_WINDOW).map(async (record) => {
            const ack = await this.#js.publish(this.#subject(record.namespace, record.name), JSON.stringify(record));
            await this.#byCall.put(token(record.callId), String(ack.seq));
          }),
        );
      }
    });
  }

  totals(query: UsageQuery): Promise<UsageTotals[]> {
    return this.#guard.run("total usage", async () => {
      return totalUsage((await this.#range(query)).map(({ record }) => record));
    });
  }

  list(query: UsageQuery & { limit?: number }): Promise<UsageRecord[]> {
    return this.#guard.run("list usage", async () => {
      const limit = usageListLimit(query);
      return (await this.#range(query)).slice(0, limit).map(({ record }) => record);
    });
  }

  get(callId: string): Promise<UsageRecord | undefined> {
    return this.#guard.run("read usage", async () => {
      const seq = liveEntry(await this.#byCall.get(token(callId)))?.string();
      if (seq === undefined) return undefined;
      const message = await this.#jsm.streams.getMessage(this.#stream, { seq: Number(seq) });
      return message === null ? undefined : message.json<UsageRecord>();
    });
  }

  /** Records in [since, until) in time order (then arrival). */
  async #range(query: UsageQuery): Promise<Located[]> {
    const sinceMs = query.since === undefined ? undefined : parseLogTime(query.since, "usage since");
    const untilMs = query.until === undefined ? Number.POSITIVE_INFINITY : parseLogTime(query.until, "usage until");
    const subject = `${this.#subjectPrefix}.usage.${token(query.namespace)}.${query.name === undefined ? "*" : token(query.name)}`;
    const stored = await readSubject(this.#js, this.#jsm, this.#stream, subject, sinceMs === undefined ? {} : { startTimeMs: sinceMs - this.#maxClockSkewMs });
    return stored
      .map((message): Located => {
        const record = JSON.parse(new TextDecoder().decode(message.data)) as UsageRecord;
        return { record, timeMs: Date.parse(record.timestamp), seq: message.seq };
      })
      .filter(({ timeMs }) => (sinceMs === undefined || timeMs >= sinceMs) && timeMs < untilMs)
      .sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);
  }

  #subject(namespace: string, name: string): string {
    return `${this.#subjectPrefix}.usage.${token(namespace)}.${token(name)}`;
  }
}

/** Validates a record and spells its timestamp as the store returns it (UTC, milliseconds). */
function normalize(record: UsageRecord): UsageRecord {
  checkUsageFuel(record);
  return { ...record, timestamp: formatLogTime(parseLogTime(record.timestamp, "usage timestamp")) };
}
