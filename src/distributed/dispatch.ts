/**
 * The gateway's side of distributed mode: a Dispatch over NATS. A call is published to
 * `p.invoke` for the queue group of workers (NATS picks one; a worker that is gone has no
 * subscription, so it simply drops out). The chosen worker answers `accepted` at once, then
 * its result. Failures are told apart so the async queue can retry with the same call id:
 *
 * - nobody subscribed → `unavailable` (NATS' no-responders status);
 * - the accepting worker's heartbeats stop (SIGKILL, lost host) → `worker-crashed` within
 *   `deadAfterMs`; heartbeats come from a thread of their own, so a long call does not silence them;
 * - no result by the call's deadline → `timeout`. The deadline goes along as a budget; the
 *   worker skips a call whose budget ran out while it waited. Unlike the embedded pool, the
 *   gateway cannot kill a remote worker: a runaway call is stopped by its fuel budget (wasm,
 *   quickjs) or engine timeout (v8), not by the gateway.
 *
 * Placement is only bookkeeping here: any worker can run any function (it fetches code and
 * secrets itself, see worker.ts), so `replicas` bounds what is reported, not where calls go.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { InvocationRequest } from "../sandbox/index.js";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { redactNatsUrl } from "../store/nats/index.js";
import type { Dispatch, WorkerAttestationReply } from "../worker/dispatch.js";
import type { FunctionSpec, WireResult } from "../worker/protocol.js";
import type { LargeBodies } from "./bodies.js";
import { HEARTBEAT_MS } from "./heartbeat.js";
import {
  decodeFrame,
  encodeFrame,
  evidenceFromJson,
  resultFromReply,
  specRefOf,
  subjectsFor,
  WIRE_VERSION,
  type AttestReply,
  type CallMeta,
  type ReplyMeta,
  type SpecRef,
} from "./wire.js";

export interface NatsDispatchOptions {
  connection: NatsConnection;
  bodies: LargeBodies;
  /** Subject prefix; default `tfaas`. */
  prefix?: string;
  /** A worker silent this long is presumed dead, and calls it accepted fail with `worker-crashed`; default 2,500 ms. */
  deadAfterMs?: number;
}

interface Placement {
  ref: SpecRef;
  replicas: number;
}

interface PendingCall {
  id: string;
  instance: string | undefined;
  resolve(result: WireResult & { instance: string }): void;
  reject(error: TfaasError): void;
}

export class NatsDispatch implements Dispatch {
  readonly #nc: NatsConnection;
  readonly #bodies: LargeBodies;
  readonly #subjects: ReturnType<typeof subjectsFor>;
  readonly #deadAfterMs: number;
  readonly #server: string;
  readonly #placements = new Map<string, Placement>();
  readonly #pending = new Map<number, PendingCall>();
  /** Worker instance → when it was last heard of (heartbeat or reply). */
  readonly #seen = new Map<string, number>();
  readonly #inbox = createInbox();
  #next = 1;
  #subscriptions: Subscription[] = [];
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: NatsDispatchOptions) {
    this.#nc = options.connection;
    this.#bodies = options.bodies;
    this.#subjects = subjectsFor(options.prefix ?? "tfaas");
    this.#deadAfterMs = options.deadAfterMs ?? 2_500;
    this.#server = redactNatsUrl(this.#nc.getServer());
  }

  async start(): Promise<void> {
    this.#subscriptions.push(
      this.#nc.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => (error ? log.warn("reply subscription failed", { error }) : this.#onReply(msg)) }),
      this.#nc.subscribe(`${this.#subjects.alive}.*`, {
        callback: (error, msg) => {
          if (!error) this.#seen.set(msg.subject.slice(this.#subjects.alive.length + 1), Date.now());
        },
      }),
    );
    this.#sweeper = setInterval(() => this.#failSilentWorkers(), HEARTBEAT_MS);
    this.#sweeper.unref();
    await this.#nc.flush();
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    this.#subscriptions = [];
    for (const [, call] of this.#pending) call.reject(new TfaasError("unavailable", "Cannot complete call: the gateway is stopping"));
    this.#pending.clear();
  }

  place(id: string, spec: FunctionSpec, replicas: number): number {
    this.#placements.set(id, { ref: specRefOf(id, spec), replicas: Math.max(replicas, 0) });
    return Math.min(replicas, this.#liveWorkers());
  }

  remove(id: string): void {
    this.#placements.delete(id);
  }

  availableReplicas(id: string): number {
    const placement = this.#placements.get(id);
    return placement === undefined ? 0 : Math.min(placement.replicas, this.#liveWorkers());
  }

  async invoke(id: string, request: InvocationRequest, timeoutMs: number): Promise<WireResult & { instance: string }> {
    const placement = this.#placements.get(id);
    if (placement === undefined || placement.replicas === 0) throw new TfaasError("unavailable", `Cannot invoke ${id}: it has no replicas`);
    const deadline = Date.now() + timeoutMs;
    const { body, ...head } = request;
    const large = body.length > this.#bodies.inlineLimit ? await this.#bodies.put(body) : undefined;
    const meta: CallMeta = { v: WIRE_VERSION, function: id, spec: placement.ref, request: head, budgetMs: Math.max(0, deadline - Date.now()), ...(large ? { body: large } : {}) };
    const callNo = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(callNo);
        reject(new TfaasError("timeout", `Cannot complete ${id}: exceeded exec_timeout of ${timeoutMs} ms`));
      }, Math.max(0, deadline - Date.now()));
      const settle = () => clearTimeout(timer);
      this.#pending.set(callNo, {
        id,
        instance: undefined,
        resolve: (result) => (settle(), resolve(result)),
        reject: (error) => (settle(), reject(error)),
      });
      this.#nc.publish(this.#subjects.invoke, encodeFrame(meta, large ? undefined : body), { reply: `${this.#inbox}.${callNo}` });
    });
  }

  /** Every worker subscribed to `p.attest` answers; the ones heard of recently but silent now are listed as failures. */
  async attest(nonce: Uint8Array, timeoutMs: number): Promise<WorkerAttestationReply[]> {
    const inbox = createInbox();
    const replies = new Map<string, WorkerAttestationReply>();
    const expected = this.#liveWorkers();
    if (expected === 0) return [];
    const subscription = this.#nc.subscribe(inbox, { timeout: timeoutMs });
    this.#nc.publish(this.#subjects.attest, encodeFrame({ v: WIRE_VERSION }, nonce), { reply: inbox });
    const timer = setTimeout(() => subscription.unsubscribe(), timeoutMs);
    try {
      for await (const msg of subscription) {
        const { meta } = decodeFrame<AttestReply>(msg.data);
        if (meta.identity !== undefined && meta.evidence !== undefined) {
          replies.set(meta.instance, { instance: meta.instance, identity: meta.identity, evidence: evidenceFromJson(meta.evidence) });
        } else {
          replies.set(meta.instance, { instance: meta.instance, error: TfaasError.fromJSON(meta.error ?? { code: "internal", message: "Worker sent no evidence" }) });
        }
        if (replies.size >= expected) break;
      }
    } catch (error) {
      // The subscription's timeout ends the wait when some worker never answers.
      if (!(error instanceof Error && /timeout/i.test(error.message))) throw error;
    } finally {
      clearTimeout(timer);
      subscription.unsubscribe();
    }
    const now = Date.now();
    for (const [instance, at] of this.#seen) {
      if (now - at <= this.#deadAfterMs && !replies.has(instance)) {
        replies.set(instance, { instance, error: new TfaasError("timeout", `Cannot attest ${instance}: no evidence within ${timeoutMs} ms`) });
      }
    }
    return [...replies.values()];
  }

  #liveWorkers(): number {
    const now = Date.now();
    let live = 0;
    for (const at of this.#seen.values()) if (now - at <= this.#deadAfterMs) live++;
    return live;
  }

  #onReply(msg: Msg): void {
    const callNo = Number(msg.subject.slice(this.#inbox.length + 1));
    const call = this.#pending.get(callNo);
    if (call === undefined) return;
    if (msg.headers?.code === 503) {
      this.#pending.delete(callNo);
      call.reject(new TfaasError("unavailable", `Cannot invoke ${call.id}: no workers are connected to NATS at ${this.#server}`));
      return;
    }
    let decoded: { meta: ReplyMeta; body: Uint8Array };
    try {
      decoded = decodeFrame<ReplyMeta>(msg.data);
    } catch (error) {
      this.#pending.delete(callNo);
      call.reject(error as TfaasError);
      return;
    }
    const { meta, body } = decoded;
    this.#seen.set(meta.instance, Date.now());
    if (meta.t === "accepted") {
      call.instance = meta.instance;
      return;
    }
    this.#pending.delete(callNo);
    if (meta.t === "error") return call.reject(TfaasError.fromJSON(meta.error));
    const withBody = meta.body === undefined ? Promise.resolve(body) : this.#bodies.take(meta.body);
    withBody.then(
      (bytes) => call.resolve({ ...resultFromReply(meta, bytes), instance: meta.instance }),
      (error: unknown) => call.reject(error instanceof TfaasError ? error : new TfaasError("internal", `Cannot read the result of ${call.id}: current body is unreadable`, { cause: error })),
    );
  }

  #failSilentWorkers(): void {
    const now = Date.now();
    for (const [callNo, call] of this.#pending) {
      if (call.instance === undefined) continue;
      const at = this.#seen.get(call.instance) ?? 0;
      if (now - at <= this.#deadAfterMs) continue;
      this.#pending.delete(callNo);
      call.reject(new TfaasError("worker-crashed", `Cannot complete call: worker ${call.instance} stopped answering (silent for ${now - at} ms)`));
    }
  }
}
