/**
 * The Queue on NATS JetStream (see index.ts for the layout and the guarantees).
 *
 * A call is two things: its state, a KV entry changed only by compare-and-set (so gateways
 * racing over one call see one winner), and its ticket, a message in a work-queue stream that
 * carries the request. Each function has a durable pull consumer with explicit acks. A claimed
 * ticket stays unacknowledged while its call runs or waits for a retry: that is the instance's
 * lease, renewed by "in progress" acks; if the instance dies, the lease lapses after `ack_wait`
 * and JetStream delivers the ticket again, to whichever instance claims next. The ticket is
 * acked (removed) only once the call has finished.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { AckPolicy, DeliverPolicy, JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { createInbox, errors, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { TfaasError } from "../../shared/errors.js";
import { Guard, isWrongLastSequence, liveEntry, readSubject, token, untoken } from "../../store/nats/index.js";
import type {
  CallRecord,
  CallRequest,
  CallResult,
  CallState,
  CallbackState,
  Claim,
  ClaimedCall,
  FinishedState,
  NewCall,
  Queue,
  WaitingFunction,
} from "../queue.js";
import { parseAckSubject } from "./ack-subject.js";
import type { Bodies } from "./bodies.js";
import { FINISHED, recordOf, type CallDoc } from "./call-doc.js";

/**
 * Bound on a pull that finds nothing. The server answers an empty consumer at once ("no_wait"),
 * but after a ticket was deleted from the stream (a cancellation) it may briefly believe one is
 * pending and wait; this caps that wait.
 */
const PULL_EXPIRES_NS = 250_000_000;

/** What a ticket carries: the request and enough to run it without reading the state first. */
interface Ticket {
  callId: string;
  name: string;
  namespace: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** Base64, or absent when the body is in the object store. */
  body?: string;
  callbackUrl?: string;
}

/** A ticket this instance holds unacknowledged: its call runs here, or waits here for a retry. */
interface Held {
  callId: string;
  fn: string;
  ackSubject: string;
  seq: number;
  /** Set while the call waits for a retry; absent while it runs. */
  notBefore?: number;
}

export interface NatsQueueParts {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  calls: KV;
  bodies: Bodies;
  guard: Guard;
  prefix: string;
  maxDepth: number;
  ackWaitMs: number;
  backoffMs: number[];
  maxDeliveries: number;
  requestTimeoutMs: number;
  /** Closes what the queue owns (the connection, when it made it). */
  release: () => Promise<void>;
}

export class NatsQueue implements Queue {
  readonly #p: NatsQueueParts;
  readonly #stream: string;
  readonly #consumerPrefix: string;
  readonly #held = new Map<string, Held>();
  /** Tickets of finished or cancelled calls whose removal has not been confirmed yet. */
  readonly #undeleted = new Set<number>();
  #deleting = false;
  readonly #consumers = new Map<string, Promise<void>>();
  readonly #renewal: NodeJS.Timeout;
  // Admission (maxDepth): a server reading taken while none of this instance's enqueues is in flight, plus those admitted since.
  #admission: Promise<void> = Promise.resolve();
  #reading = 0;
  #sinceReading = 0;
  #inFlight = 0;

  constructor(parts: NatsQueueParts) {
    this.#p = parts;
    this.#stream = `${parts.prefix}_calls`;
    this.#consumerPrefix = `${parts.prefix}_fn_`;
    // Renew every lease well within the shortest lease JetStream grants (the first backoff step).
    this.#renewal = setInterval(() => this.#renewLeases(), Math.max(100, Math.floor(Math.min(parts.ackWaitMs, ...parts.backoffMs) / 3)));
    this.#renewal.unref();
  }

  enqueue(call: NewCall): Promise<void> {
    return this.#p.guard.run("enqueue call", async () => {
      const fn = await this.#ensureConsumer(call.name, call.namespace);
      await this.#admit(call);
      let published = false;
      try {
        const key = token(call.callId);
        const requestInObject = call.request.body.length > this.#p.bodies.ticketInlineLimit;
        const doc: CallDoc = {
          callId: call.callId,
          name: call.name,
          namespace: call.namespace,
          state: "queued",
          attempts: 0,
          createdAt: call.now,
          notBefore: call.now,
          seq: 0,
          requestInObject,
          ...(call.callbackUrl === undefined ? {} : { callback: { url: call.callbackUrl, state: "pending" as const, attempts: 0 } }),
        };
        let revision: number;
        try {
          revision = await this.#p.calls.create(key, JSON.stringify(doc));
        } catch (error) {
          if (!isWrongLastSequence(error)) throw error;
          throw new TfaasError("conflict", `Cannot enqueue call ${call.callId}: a call with this id exists`);
        }
        try {
          if (requestInObject) await this.#p.bodies.putRequest(key, call.request.body);
          const ticket: Ticket = {
            callId: call.callId,
            name: call.name,
            namespace: call.namespace,
            method: call.request.method,
            path: call.request.path,
            query: call.request.query,
            headers: call.request.headers,
            ...(requestInObject ? {} : { body: Buffer.from(call.request.body).toString("base64") }),
            ...(call.callbackUrl === undefined ? {} : { callbackUrl: call.callbackUrl }),
          };
          const ack = await this.#p.js.publish(fn.subject, JSON.stringify(ticket), { msgID: call.callId });
          if (ack.duplicate) {
            // The id's earlier ticket is still inside the stream's duplicate window (its call was swept quickly).
            throw new TfaasError("conflict", `Cannot enqueue call ${call.callId}: a call with this id was enqueued moments ago`);
          }
          published = true;
          // The sequence lets a cancellation remove a ticket nobody holds; a claim needs only the doc's state.
          await this.#p.calls.update(key, JSON.stringify({ ...doc, seq: ack.seq }), revision).catch((error: unknown) => {
            if (!isWrongLastSequence(error)) throw error;
          });
        } catch (error) {
          if (!published) {
            await this.#p.calls.purge(key).catch(() => undefined);
            if (requestInObject) await this.#p.bodies.removeRequest(key);
          }
          throw error;
        }
      } finally {
        this.#inFlight--;
        if (!published) this.#sinceReading--;
      }
    });
  }

  claim(name: string, namespace: string, now: number): Promise<Claim> {
    return this.#p.guard.run("claim call", async () => {
      const fn = await this.#ensureConsumer(name, namespace);
      // Calls this instance holds for a retry come first: they arrived before anything still in the stream.
      for (;;) {
        const held = this.#readyHeld(fn.key, now);
        if (held === undefined) break;
        const claimed = await this.#start(held, now, undefined);
        if (claimed !== undefined) return { call: claimed };
      }
      for (;;) {
        const message = await this.#pullNext(fn.consumer);
        if (message === undefined) break;
        const claimed = await this.#take(fn.key, message, now);
        if (claimed !== undefined) return { call: claimed };
      }
      const nextReadyAt = this.#earliestHeld(fn.key);
      return nextReadyAt === undefined ? {} : { nextReadyAt };
    });
  }

  waiting(): Promise<WaitingFunction[]> {
    return this.#p.guard.run("list waiting functions", async () => {
      const waiting: WaitingFunction[] = [];
      for await (const info of this.#p.jsm.consumers.list(this.#stream)) {
        const fn = this.#functionOf(info.name);
        if (fn === undefined) continue;
        const key = functionKey(fn.name, fn.namespace);
        const heldHere = [...this.#held.values()].filter((held) => held.fn === key).length;
        // Undelivered tickets, or tickets delivered to someone else (or waiting for redelivery): ready now, as far as we know.
        const elsewhere = info.num_pending > 0 || info.num_ack_pending > heldHere;
        const readyAt = elsewhere ? 0 : this.#earliestHeld(key);
        if (readyAt !== undefined) waiting.push({ ...fn, readyAt });
      }
      return waiting;
    });
  }

  retry(callId: string, result: CallResult, notBefore: number): Promise<void> {
    return this.#p.guard.run("retry call", async () => {
      const held = await this.#runningHere(callId);
      await this.#mutate(callId, (doc) => {
        if (doc?.state !== "running") throw notRunning(callId, doc?.state);
        return { ...doc, state: "queued", notBefore, statusCode: result.statusCode };
      });
      held.notBefore = notBefore;
    });
  }

  finish(callId: string, state: FinishedState, result: CallResult, now: number): Promise<void> {
    return this.#p.guard.run("finish call", async () => this.#complete(await this.#runningHere(callId), state, result, now));
  }

  cancel(callId: string, now: number): Promise<CallState | undefined> {
    return this.#p.guard.run("cancel call", async () => {
      let before: CallState | undefined;
      const doc = await this.#mutate(callId, (current) => {
        before = current?.state;
        if (current?.state !== "queued") return undefined;
        const { callback } = current;
        return {
          ...current,
          state: "cancelled",
          finishedAt: now,
          ...(callback === undefined ? {} : { callback: { ...callback, state: "failed" as const, lastError: "not sent: the call was cancelled" } }),
        };
      });
      if (before !== "queued" || doc === undefined) return before;
      const held = this.#held.get(callId);
      if (held !== undefined) {
        this.#held.delete(callId);
        await this.#acknowledge(held);
      } else if (doc.seq > 0 && !(await this.#deleteTicket(doc.seq))) {
        // Held by nobody (or by an instance that will find the call cancelled): remove the ticket so depth drops now.
        this.#undeleted.add(doc.seq);
      }
      if (doc.requestInObject) await this.#p.bodies.removeRequest(token(callId));
      return "queued";
    });
  }

  get(callId: string): Promise<CallRecord | undefined> {
    return this.#p.guard.run("read call", async () => {
      const doc = await this.#read(callId);
      if (doc === undefined) return undefined;
      const body = doc.result === undefined ? undefined : await this.#p.bodies.getResult(token(callId), doc.result.bodyInObject);
      return recordOf(doc, body);
    });
  }

  startCallback(callId: string): Promise<number> {
    return this.#p.guard.run("start callback", async () => {
      const doc = await this.#mutate(callId, (current) => {
        const callback = current?.callback;
        if (current === undefined || callback?.state !== "pending" || current.finishedAt === undefined) {
          throw new TfaasError("conflict", `Cannot deliver the callback of call ${callId}: it is not pending`);
        }
        return { ...current, callback: { ...callback, attempts: callback.attempts + 1 } };
      });
      return doc?.callback?.attempts ?? 0;
    });
  }

  settleCallback(callId: string, state: CallbackState, lastError: string | undefined, nextAt: number | undefined): Promise<void> {
    return this.#p.guard.run("settle callback", async () => {
      await this.#mutate(callId, (current) => {
        if (current?.callback === undefined) return undefined;
        const { url, attempts } = current.callback;
        return {
          ...current,
          callback: { url, state, attempts, ...(lastError === undefined ? {} : { lastError }), ...(nextAt === undefined ? {} : { nextAt }) },
        };
      });
    });
  }

  pendingCallbacks(): Promise<CallRecord[]> {
    return this.#p.guard.run("list pending callbacks", async () => {
      const pending = (await this.#scan())
        .map(({ doc }) => doc)
        .filter((doc) => doc.finishedAt !== undefined && doc.callback?.state === "pending")
        .sort((a, b) => a.seq - b.seq);
      return Promise.all(
        pending.map(async (doc) => recordOf(doc, doc.result && (await this.#p.bodies.getResult(token(doc.callId), doc.result.bodyInObject)))),
      );
    });
  }

  sweep(finishedBefore: number): Promise<number> {
    return this.#p.guard.run("sweep calls", async () => {
      let removed = 0;
      for (const { doc, revision } of await this.#scan()) {
        if (doc.finishedAt === undefined || doc.finishedAt >= finishedBefore || doc.callback?.state === "pending") continue;
        const key = token(doc.callId);
        try {
          await this.#p.calls.purge(key, { previousSeq: revision });
        } catch (error) {
          // Changed since the scan (a callback settling, say): leave it for the next sweep.
          if (isWrongLastSequence(error)) continue;
          throw error;
        }
        await this.#p.bodies.remove(key, doc.requestInObject, doc.result?.bodyInObject ?? false);
        removed++;
      }
      return removed;
    });
  }

  depth(): Promise<number> {
    return this.#p.guard.run("measure queue depth", () => this.#serverDepth());
  }

  /** Releases this instance's leases: calls it ran or held for a retry become claimable at once, attempts kept. */
  close(): Promise<void> {
    return this.#p.guard.close(async () => {
      clearInterval(this.#renewal);
      const held = [...this.#held.values()];
      this.#held.clear();
      await Promise.all(
        held.map(async (entry) => {
          try {
            if (entry.notBefore === undefined) {
              await this.#mutate(entry.callId, (doc) => (doc?.state === "running" ? { ...doc, state: "queued" } : undefined));
            }
            this.#p.nc.publish(entry.ackSubject, "-NAK");
          } catch {
            // Unreachable NATS: the lease lapses after ack_wait instead, with the same outcome.
          }
        }),
      );
      await this.#p.nc.flush().catch(() => undefined);
      await this.#p.release();
    });
  }

  // — claiming —

  async #take(fn: string, message: { subject: string; reply: string; data: Uint8Array }, now: number): Promise<ClaimedCall | undefined> {
    const delivery = parseAckSubject(message.reply);
    if (delivery === undefined) throw new TfaasError("internal", `Cannot claim a call: current ack subject ${JSON.stringify(message.reply.slice(0, 120))} is not JetStream's`);
    const ticket = JSON.parse(new TextDecoder().decode(message.data)) as Ticket;
    const held: Held = { callId: ticket.callId, fn, ackSubject: message.reply, seq: delivery.streamSeq };
    const doc = await this.#read(ticket.callId);
    if (doc === undefined || FINISHED.has(doc.state)) {
      // A ticket whose call finished (its ack was lost) or was cancelled or swept: drop it.
      await this.#acknowledge(held);
      return undefined;
    }
    this.#held.set(held.callId, held);
    if (delivery.deliveryCount >= this.#p.maxDeliveries) {
      // JetStream will not deliver it again, and every holder so far vanished without an outcome: fail it visibly.
      const note = `abandoned: delivered ${delivery.deliveryCount} times without an outcome`;
      await this.#complete(held, "failed", { statusCode: 500, headers: { "content-type": "text/plain" }, body: new TextEncoder().encode(note), durationSeconds: 0 }, now);
      return undefined;
    }
    if (doc.notBefore > now) {
      held.notBefore = doc.notBefore;
      return undefined;
    }
    return this.#start(held, now, ticket);
  }

  /** Marks a held call running (one more attempt) and answers it; undefined when it is no longer queued. */
  async #start(held: Held, now: number, ticket: Ticket | undefined): Promise<ClaimedCall | undefined> {
    let doc: CallDoc | undefined;
    try {
      doc = await this.#mutate(held.callId, (current) =>
        current === undefined || FINISHED.has(current.state) ? undefined : { ...current, state: "running", attempts: current.attempts + 1, startedAt: now },
      );
    } catch (error) {
      // Still ours and still queued: the next claim tries it again.
      held.notBefore = now;
      throw error;
    }
    if (doc === undefined || doc.state !== "running") {
      this.#held.delete(held.callId);
      await this.#acknowledge(held);
      return undefined;
    }
    const source = ticket ?? (await this.#ticketAt(held.seq));
    const body = source.body === undefined ? await this.#p.bodies.getRequest(token(held.callId)) : new Uint8Array(Buffer.from(source.body, "base64"));
    const request: CallRequest = { method: source.method, path: source.path, query: source.query, headers: source.headers, body };
    const call: ClaimedCall = { callId: doc.callId, name: doc.name, namespace: doc.namespace, attempts: doc.attempts, request };
    return source.callbackUrl === undefined ? call : { ...call, callbackUrl: source.callbackUrl };
  }

  /** Records the outcome of a call whose lease this instance holds, then removes its ticket. */
  async #complete(held: Held, state: FinishedState, result: CallResult, now: number): Promise<void> {
    const key = token(held.callId);
    const bodyInObject = await this.#p.bodies.putResult(key, result.body);
    const doc = await this.#mutate(held.callId, (current) => {
      if (current === undefined || FINISHED.has(current.state)) throw notRunning(held.callId, current?.state);
      const { callback } = current;
      return {
        ...current,
        state,
        finishedAt: now,
        statusCode: result.statusCode,
        result: { statusCode: result.statusCode, headers: result.headers, durationSeconds: result.durationSeconds, bodyInObject },
        ...(callback === undefined ? {} : { callback: { url: callback.url, state: "pending" as const, attempts: callback.attempts, nextAt: now } }),
      };
    });
    this.#held.delete(held.callId);
    await this.#acknowledge(held);
    if (doc?.requestInObject === true) await this.#p.bodies.removeRequest(key);
  }

  /** The lease of a call running here; a conflict naming the call's state otherwise. */
  async #runningHere(callId: string): Promise<Held> {
    const held = this.#held.get(callId);
    if (held !== undefined && held.notBefore === undefined) return held;
    const state = (await this.#read(callId))?.state;
    throw notRunning(callId, state === "running" ? "running on another instance" : state);
  }

  #readyHeld(fn: string, now: number): Held | undefined {
    let ready: Held | undefined;
    for (const held of this.#held.values()) {
      if (held.fn !== fn || held.notBefore === undefined || held.notBefore > now) continue;
      if (ready === undefined || held.seq < ready.seq) ready = held;
    }
    // Taken out of the waiting set before any await, so concurrent claims cannot both start it.
    if (ready !== undefined) delete ready.notBefore;
    return ready;
  }

  #earliestHeld(fn: string): number | undefined {
    let earliest: number | undefined;
    for (const held of this.#held.values()) {
      if (held.fn === fn && held.notBefore !== undefined && (earliest === undefined || held.notBefore < earliest)) earliest = held.notBefore;
    }
    return earliest;
  }

  /**
   * One message from the consumer if one is ready now; never waits for one to arrive. A pulled
   * message arrives under its own subject, not the inbox's, so each pull has its own one-shot
   * subscription (a muxed request could not match the answer).
   */
  async #pullNext(consumer: string): Promise<{ subject: string; reply: string; data: Uint8Array } | undefined> {
    const inbox = createInbox();
    const subscription = this.#p.nc.subscribe(inbox, { max: 1, timeout: this.#p.requestTimeoutMs });
    this.#p.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.#stream}.${consumer}`, JSON.stringify({ batch: 1, no_wait: true, expires: PULL_EXPIRES_NS }), { reply: inbox });
    let answer: Msg | undefined;
    try {
      for await (const message of subscription) answer = message;
    } catch (error) {
      throw error instanceof Error && /timeout/i.test(error.message) ? new errors.TimeoutError({ cause: error }) : error;
    }
    if (answer === undefined) throw new errors.TimeoutError();
    const code = answer.headers?.code ?? 0;
    if (code === 404 || code === 408) return undefined;
    if (code !== 0 || answer.reply === undefined || answer.reply === "") {
      throw new TfaasError("internal", `Cannot claim a call: current pull answer is status ${code} ${answer.headers?.description ?? ""}`.trim());
    }
    return { subject: answer.subject, reply: answer.reply, data: answer.data };
  }

  async #ticketAt(seq: number): Promise<Ticket> {
    const stored = await this.#p.jsm.streams.getMessage(this.#stream, { seq });
    if (stored === null) throw new TfaasError("internal", `Cannot claim a call: current ticket ${seq} is missing from ${this.#stream}`);
    return stored.json<Ticket>();
  }

  /**
   * Removes a ticket this instance holds. An ack lost while the consumer elects a leader would
   * leave a finished call's ticket in the stream, counted in depth until a claim pulls it again;
   * so an unconfirmed ack is followed by deleting the ticket, retried on every lease renewal.
   */
  async #acknowledge(held: Pick<Held, "ackSubject" | "seq">): Promise<void> {
    const acked = await this.#p.nc.request(held.ackSubject, "+ACK", { timeout: this.#p.requestTimeoutMs }).then(
      () => true,
      () => false,
    );
    if (!acked && !(await this.#deleteTicket(held.seq))) this.#undeleted.add(held.seq);
  }

  /** True once the ticket is gone from the stream (deleted now, or already). */
  async #deleteTicket(seq: number): Promise<boolean> {
    return this.#p.jsm.streams.deleteMessage(this.#stream, seq, false).then(
      () => true,
      (error: unknown) => error instanceof JetStreamApiError,
    );
  }

  #renewLeases(): void {
    if (this.#p.nc.isClosed()) return;
    for (const held of this.#held.values()) this.#p.nc.publish(held.ackSubject, "+WPI");
    if (this.#undeleted.size === 0 || this.#deleting) return;
    this.#deleting = true;
    const retries = [...this.#undeleted].map(async (seq) => (await this.#deleteTicket(seq)) && this.#undeleted.delete(seq));
    void Promise.all(retries).finally(() => (this.#deleting = false));
  }

  // — admission —

  /** Refuses the call when the queue is full; otherwise counts it as admitted until its publish settles. */
  #admit(call: NewCall): Promise<void> {
    const turn = this.#admission.then(async () => {
      if (this.#inFlight === 0) {
        this.#reading = await this.#serverDepth();
        this.#sinceReading = 0;
      }
      if (this.#reading + this.#sinceReading >= this.#p.maxDepth) {
        throw new TfaasError("too-many-requests", `Cannot enqueue call to ${call.name}: the queue is full (${this.#p.maxDepth} calls queued)`);
      }
      this.#sinceReading++;
      this.#inFlight++;
    });
    this.#admission = turn.catch(() => undefined);
    return turn;
  }

  /** Tickets in the stream minus the calls this instance is running (see index.ts for what other instances add). */
  async #serverDepth(): Promise<number> {
    const info = await this.#p.jsm.streams.info(this.#stream);
    const runningHere = [...this.#held.values()].filter((held) => held.notBefore === undefined).length;
    return Math.max(0, info.state.messages - runningHere);
  }

  // — state —

  async #read(callId: string): Promise<CallDoc | undefined> {
    return liveEntry(await this.#p.calls.get(token(callId)))?.json<CallDoc>();
  }

  /**
   * Compare-and-set on the call's state: `change` sees the current doc (undefined: none) and answers the
   * new one, or undefined to leave it. Answers the doc as it is afterwards.
   */
  async #mutate(callId: string, change: (doc: CallDoc | undefined) => CallDoc | undefined): Promise<CallDoc | undefined> {
    const key = token(callId);
    for (;;) {
      const entry = liveEntry(await this.#p.calls.get(key));
      const current = entry?.json<CallDoc>();
      const next = change(current);
      if (next === undefined) return current;
      try {
        if (entry === undefined) await this.#p.calls.create(key, JSON.stringify(next));
        else await this.#p.calls.update(key, JSON.stringify(next), entry.revision);
        return next;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
      }
    }
  }

  /** Every call's current state, with the KV revision it was read at. Cost: one message per retained call. */
  async #scan(): Promise<Array<{ doc: CallDoc; revision: number }>> {
    const bucketStream = `KV_${this.#p.prefix}_calls`;
    const messages = await readSubject(this.#p.js, this.#p.jsm, bucketStream, `$KV.${this.#p.prefix}_calls.>`, { lastPerSubject: true });
    return messages
      .filter((message) => message.data.length > 0)
      .map((message) => ({ doc: JSON.parse(new TextDecoder().decode(message.data)) as CallDoc, revision: message.seq }));
  }

  // — consumers —

  async #ensureConsumer(name: string, namespace: string): Promise<{ key: string; consumer: string; subject: string }> {
    const consumer = `${this.#consumerPrefix}${token(namespace)}_${token(name)}`;
    const subject = `${this.#p.prefix}.calls.${token(namespace)}.${token(name)}`;
    let ready = this.#consumers.get(consumer);
    if (ready === undefined) {
      const nanos = (ms: number): number => ms * 1_000_000;
      ready = this.#p.jsm.consumers
        .add(this.#stream, {
          durable_name: consumer,
          filter_subject: subject,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: nanos(this.#p.ackWaitMs),
          backoff: this.#p.backoffMs.map(nanos),
          max_deliver: this.#p.maxDeliveries,
          max_ack_pending: 10_000,
        })
        .then(() => undefined);
      this.#consumers.set(consumer, ready);
      ready.catch(() => this.#consumers.delete(consumer));
    }
    await ready;
    return { key: functionKey(name, namespace), consumer, subject };
  }

  #functionOf(consumer: string): { name: string; namespace: string } | undefined {
    if (!consumer.startsWith(this.#consumerPrefix)) return undefined;
    const [namespace, name, extra] = consumer.slice(this.#consumerPrefix.length).split("_");
    if (namespace === undefined || name === undefined || extra !== undefined) return undefined;
    return { name: untoken(name), namespace: untoken(namespace) };
  }
}

function functionKey(name: string, namespace: string): string {
  return JSON.stringify([namespace, name]);
}

function notRunning(callId: string, state: string | undefined): TfaasError {
  return new TfaasError("conflict", `Cannot record an attempt of call ${callId}: current state is ${state ?? "unknown"}, not running`);
}
