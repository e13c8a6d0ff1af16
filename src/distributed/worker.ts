/**
 * A distributed worker (`tfaas worker --nats <url>`): the worker core driven over NATS. It joins
 * the queue group on `p.invoke`, answers `p.attest`, beats its heart from a thread (heartbeat.ts)
 * and serves GET /healthz for probes.
 *
 * The worker is the trusted side, so it fetches what a call needs itself rather than trusting
 * what the gateway could hand it: code from the Object Store by digest (verified on read, and
 * checked again by the core before it is prepared), prepared once per digest and options;
 * secret values from the secrets bucket, decrypted with the mounted secrets key. The call names
 * which secrets a function gets and carries env and limits, as the gateway decides them in
 * embedded mode too. Secret changes (a watch on the bucket) drop the values held, so the next
 * call reads them again.
 *
 * Guarantee stops here: the worker checks code against the digest the gateway names; it cannot
 * tell whether the gateway named the digest the function owner deployed (receipts record it).
 */
import http from "node:http";
import os from "node:os";
import type { AddressInfo } from "node:net";
import { jetstream } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude } from "@nats-io/kv";
import type { Msg, Subscription } from "@nats-io/transport-node";
import { createWorkerIdentity, type WorkerIdentity, type WorkerSettings } from "../attestation/index.js";
import type { PreparedFunction } from "../sandbox/index.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { connectNats, DEFAULT_REQUEST_TIMEOUT_MS, openNatsStore, redactNatsUrl, type NatsConnection } from "../store/nats/index.js";
import type { Store } from "../store/index.js";
import { createWorkerCore, prepareSpec, type WorkerCore } from "../worker/core.js";
import type { FunctionSpec } from "../worker/protocol.js";
import { LargeBodies } from "./bodies.js";
import { startHeartbeat, type Heartbeat } from "./heartbeat.js";
import { decodeFrame, encodeFrame, evidenceToJson, subjectsFor, usageToWire, WIRE_VERSION, type AttestReply, type CallMeta, type ReplyMeta, type SpecRef } from "./wire.js";

export interface NatsWorkerOptions {
  url: string;
  /** The secrets key file every gateway and worker shares (32 bytes, mode 0600/0400). */
  secretKeyFile: string;
  /** Attestation settings of this worker (TEE, receipts, sim data directory); `instance` names it. */
  settings: WorkerSettings;
  /** Calls run at once; more wait here in arrival order. Default 1 (wasm calls are synchronous). */
  concurrency?: number;
  /** Copies of streams and buckets, as the gateways use: 1, 3 or 5. */
  replicas?: number;
  prefix?: string;
  /** GET /healthz listener; port 0 picks one, undefined starts none. */
  health?: { host: string; port: number };
}

export interface NatsWorker {
  instance: string;
  /** Where /healthz listens, when it does. */
  healthUrl: string | undefined;
  /** Stops taking calls, finishes those under way, leaves NATS. */
  close(): Promise<void>;
}

/** Prepared functions kept per digest and options; oldest dropped beyond this. */
const MAX_PREPARED = 256;
/** Function revisions kept loaded; oldest dropped beyond this. */
const MAX_LOADED = 1024;

export async function startNatsWorker(options: NatsWorkerOptions): Promise<NatsWorker> {
  const prefix = options.prefix ?? "tfaas";
  const subjects = subjectsFor(prefix);
  const instance = options.settings.instance;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new TfaasError("invalid-request", `Cannot start worker: current concurrency is ${concurrency}, expected a whole number ≥ 1`);
  }
  const identity = await createWorkerIdentity(options.settings);
  const nc = await connectNats(options.url, { name: `tfaas-worker-${instance}` });
  const cleanups: Array<() => Promise<unknown>> = [async () => nc.drain()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const replicas = options.replicas ?? 1;
    const store = await openNatsStore({ connection: nc, secretKeyFile: options.secretKeyFile, replicas, prefix });
    cleanups.push(() => store.close());
    const js = jetstream(nc, { timeout: DEFAULT_REQUEST_TIMEOUT_MS });
    const bodies = await LargeBodies.open(js, prefix, replicas, nc.info?.max_payload ?? 1024 * 1024, options.url);
    const runner = new CallRunner(createWorkerCore({ identity, prepare: preparedCache(store) }), store, bodies, instance, concurrency);

    const secrets = await new Kvm(js).open(`${prefix}_secrets`);
    const watch = await secrets.watch({ include: KvWatchInclude.UpdatesOnly, headers_only: true });
    cleanups.push(async () => watch.stop());
    void (async () => {
      for await (const _change of watch) runner.secretsChanged();
    })();

    const heartbeat: Heartbeat = await startHeartbeat({ url: options.url, subject: `${subjects.alive}.${instance}`, name: `tfaas-worker-${instance}-heartbeat` });
    cleanups.push(() => heartbeat.stop());

    const calls: Subscription = nc.subscribe(subjects.invoke, { queue: subjects.workers, callback: (error, msg) => (error ? log.warn("call subscription failed", { error }) : runner.take(msg)) });
    const attests = nc.subscribe(subjects.attest, { callback: (error, msg) => (error ? undefined : void attest(identity, instance, msg)) });
    cleanups.push(async () => attests.unsubscribe());
    await nc.flush();

    let healthUrl: string | undefined;
    if (options.health !== undefined) {
      const server = http.createServer((req, res) => {
        const healthy = req.url === "/healthz" && !nc.isClosed() && !calls.isClosed();
        res.writeHead(req.url === "/healthz" ? (healthy ? 200 : 503) : 404, { "content-type": "text/plain; charset=utf-8" }).end(healthy ? "OK\n" : "unavailable\n");
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.health!.port, options.health!.host, resolve);
      });
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const address = server.address() as AddressInfo;
      healthUrl = `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}/healthz`;
    }
    log.info("worker joined NATS", { instance, url: redactNatsUrl(options.url), concurrency });

    let closing: Promise<void> | undefined;
    return {
      instance,
      healthUrl,
      close: () =>
        (closing ??= (async () => {
          // Drain: the queue group stops routing calls here; those received still run and answer.
          await calls.drain().catch(() => undefined);
          await runner.idle();
          identity.receipts.close();
          await cleanup();
        })()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** The default worker instance name: host and pid, unique across a cluster. */
export function defaultInstanceName(): string {
  return `${os.hostname()}-${process.pid}`;
}

async function attest(identity: WorkerIdentity, instance: string, msg: Msg): Promise<void> {
  let reply: AttestReply;
  try {
    const { body: nonce } = decodeFrame<{ v: number }>(msg.data);
    reply = { instance, identity: identity.info, evidence: evidenceToJson(await identity.attest(nonce)) };
  } catch (error) {
    reply = { instance, error: asTfaasError(error).toJSON() };
  }
  msg.respond(encodeFrame(reply));
}

/** Prepares code once per digest and options; the bytes come from the Object Store (digest-verified). */
function preparedCache(store: Store): (spec: FunctionSpec) => Promise<PreparedFunction> {
  const cache = new Map<string, Promise<PreparedFunction>>();
  return (spec) => {
    const key = JSON.stringify([spec.digest, spec.kind ?? "wasm", spec.engine ?? null, spec.options.abi, spec.options.memoryLimitBytes ?? null]);
    let prepared = cache.get(key);
    if (prepared !== undefined) {
      cache.delete(key);
      cache.set(key, prepared);
      return prepared;
    }
    prepared = store.artifacts.read(spec.digest).then((bytes) => prepareSpec({ ...spec, bytes }));
    cache.set(key, prepared);
    prepared.catch(() => cache.delete(key));
    if (cache.size > MAX_PREPARED) cache.delete(cache.keys().next().value!);
    return prepared;
  };
}

/** Receives calls, runs at most `concurrency` at once, answers each. */
class CallRunner {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  /** Spec key → its load (settles when prepared), most recently used last. */
  readonly #loads = new Map<string, Promise<void>>();
  readonly #withSecrets = new Set<string>();
  #idle: Array<() => void> = [];

  constructor(
    private readonly core: WorkerCore,
    private readonly store: Store,
    private readonly bodies: LargeBodies,
    private readonly instance: string,
    private readonly concurrency: number,
  ) {}

  take(msg: Msg): void {
    const received = Date.now();
    // Told at once, so the gateway knows whose heartbeat to watch while the call waits and runs.
    this.#reply(msg, { t: "accepted", instance: this.instance });
    void this.#run(msg, received);
  }

  secretsChanged(): void {
    for (const key of this.#withSecrets) this.#forget(key);
    this.#withSecrets.clear();
  }

  /** Settles when no call runs or waits. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #run(msg: Msg, received: number): Promise<void> {
    await this.#slot();
    try {
      const { meta, body } = decodeFrame<CallMeta>(msg.data);
      if (meta.v !== WIRE_VERSION) throw new TfaasError("internal", `Cannot run call: current wire version is ${meta.v}, expected ${WIRE_VERSION}`);
      if (Date.now() - received >= meta.budgetMs) {
        throw new TfaasError("timeout", `Cannot start ${meta.function}: its deadline passed while it waited for worker ${this.instance}`);
      }
      const [requestBody] = await Promise.all([meta.body === undefined ? body : this.bodies.take(meta.body), this.#load(meta.spec)]);
      const result = await this.core.invoke(meta.spec.key, meta.function, { ...meta.request, body: requestBody });
      const { body: output, usage, error, receipt, ...rest } = result;
      const large = output.length > this.bodies.inlineLimit ? await this.bodies.put(output) : undefined;
      const reply: ReplyMeta = {
        t: "result",
        instance: this.instance,
        ...rest,
        usage: usageToWire(usage),
        ...(error !== undefined ? { error } : {}),
        ...(receipt !== undefined ? { receipt } : {}),
        ...(large !== undefined ? { body: large } : {}),
      };
      this.#reply(msg, reply, large === undefined ? output : undefined);
    } catch (error) {
      this.#reply(msg, { t: "error", instance: this.instance, error: asTfaasError(error).toJSON() });
    } finally {
      this.#release();
    }
  }

  #load(ref: SpecRef): Promise<void> {
    const existing = this.#loads.get(ref.key);
    if (existing !== undefined) {
      this.#loads.delete(ref.key);
      this.#loads.set(ref.key, existing);
      return existing;
    }
    const load = this.#resolve(ref).then((spec) => this.core.load(spec));
    this.#loads.set(ref.key, load);
    if (ref.secretNames.length > 0) this.#withSecrets.add(ref.key);
    load.catch(() => this.#forget(ref.key));
    if (this.#loads.size > MAX_LOADED) this.#forget(this.#loads.keys().next().value!);
    return load;
  }

  async #resolve(ref: SpecRef): Promise<FunctionSpec> {
    const values = ref.secretNames.length > 0 ? await this.store.secrets.values(ref.secretNames, ref.namespace) : new Map<string, Uint8Array>();
    return {
      key: ref.key,
      name: ref.name,
      digest: ref.digest,
      // The prepared cache fetches the code by digest when it has not prepared it yet.
      bytes: new Uint8Array(0),
      options: ref.options,
      env: ref.env,
      secrets: [...values],
      maxOutputBytes: ref.maxOutputBytes,
      fuelLimit: ref.fuelLimit === null ? undefined : BigInt(ref.fuelLimit),
      ...(ref.kind !== undefined ? { kind: ref.kind } : {}),
      ...(ref.engine !== undefined ? { engine: ref.engine } : {}),
      ...(ref.execTimeoutMs !== undefined ? { execTimeoutMs: ref.execTimeoutMs } : {}),
    };
  }

  #forget(key: string): void {
    if (!this.#loads.delete(key)) return;
    this.core.unload(key);
  }

  #reply(msg: Msg, meta: ReplyMeta, body?: Uint8Array): void {
    if (!msg.reply) return;
    msg.respond(encodeFrame(meta, body));
  }

  #slot(): Promise<void> {
    if (this.#running < this.concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(() => (this.#running++, resolve())));
  }

  #release(): void {
    this.#running--;
    this.#waiting.shift()?.();
    if (this.#running === 0 && this.#waiting.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}
