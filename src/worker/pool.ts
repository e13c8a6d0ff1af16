/**
 * The gateway's side of the workers: spawns worker processes, keeps each function loaded on as
 * many of them as it has replicas, dispatches calls to the least busy one, and replaces a worker
 * that dies. A dead worker fails only its own in-flight calls (`worker-crashed`); a call that
 * exceeds its deadline gets `timeout` and its worker is killed, because a synchronous runaway
 * guest cannot be interrupted any other way (metering makes this deterministic later).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { TfaasError } from "../shared/errors.js";
import { log } from "../shared/log.js";
import type { InvocationRequest } from "../sandbox/index.js";
import type { WireEvidence, WorkerIdentityInfo } from "../attestation/index.js";
import { HPKE_SUITE, type OhttpKeyConfig } from "../confidential/index.js";
import { OHTTP_KEY_ID_ENV } from "./confidential-call.js";
import type { FromWorker, FunctionSpec, ToWorker, WireResult } from "./protocol.js";

export type { FunctionSpec, WireResult } from "./protocol.js";

interface PendingCall {
  resolve(result: WireResult): void;
  reject(error: TfaasError): void;
  timer: NodeJS.Timeout;
}

interface Placement {
  spec: FunctionSpec;
  slots: Set<number>;
}

class WorkerSlot {
  child: ChildProcess | undefined;
  alive = false;
  /** Settles when the current (or next) process has said it is ready. */
  ready!: Promise<void>;
  private markReady!: () => void;
  readonly pending = new Map<number, PendingCall>();
  /** Function key → settles when the worker has prepared it. */
  readonly loads = new Map<string, { promise: Promise<void>; settle(error?: TfaasError): void }>();
  restarts = 0;
  lastStart = 0;
  /** What the running process announced: its keys, TEE and measurement. */
  identity: WorkerIdentityInfo | undefined;
  /** The OHTTP key id of the running (or starting) process's HPKE key; a new one per process. */
  ohttpKeyId: number | undefined;
  readonly attestations = new Map<number, { resolve(evidence: WireEvidence): void; reject(error: TfaasError): void }>();

  constructor(readonly index: number) {
    this.expectRestart();
  }

  expectRestart(): void {
    this.alive = false;
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
  }

  becameReady(): void {
    this.alive = true;
    this.markReady();
  }

  get instance(): string {
    return `worker-${this.index}`;
  }

  send(message: ToWorker): void {
    if (this.child?.connected) this.child.send(message);
  }
}

export interface WorkerPoolOptions {
  size: number;
  /** Called when a worker is replaced, for metrics. */
  onRestart?: (instance: string) => void;
  /** Added to every worker's environment (its TEE and receipt settings: src/attestation). */
  env?: Record<string, string>;
}

/** isolated-vm (the v8 JavaScript engine) needs this on Node 20 and later. */
const ISOLATE_FLAGS = ["--no-node-snapshot"];

function workerEntry(): { path: string; execArgv: string[] } {
  const self = import.meta.url;
  // Under the test runner the sources run as TypeScript; the child then needs the same loader.
  if (self.endsWith(".ts")) return { path: fileURLToPath(new URL("./main.ts", self)), execArgv: [...ISOLATE_FLAGS, "--import", "tsx"] };
  return { path: fileURLToPath(new URL("./main.js", self)), execArgv: ISOLATE_FLAGS };
}

export class WorkerPool {
  private readonly slots: WorkerSlot[];
  private readonly placements = new Map<string, Placement>();
  private nextCallId = 1;
  private closing = false;
  /** Starts anywhere, so ids reused after a gateway restart rarely meet requests sealed to the old keys. */
  private nextKeyId = Math.floor(Math.random() * 256);

  constructor(private readonly options: WorkerPoolOptions) {
    this.slots = Array.from({ length: options.size }, (_, index) => new WorkerSlot(index));
  }

  get size(): number {
    return this.slots.length;
  }

  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.spawn(slot)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const child = slot.child;
            if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
  }

  /**
   * Keeps `spec` loaded on `replicas` workers (at most the pool size), reusing the workers that
   * already hold the function. Returns how many workers now hold it.
   */
  place(id: string, spec: FunctionSpec, replicas: number): number {
    const existing = this.placements.get(id);
    const slots = new Set<number>();
    const wanted = Math.min(Math.max(replicas, 0), this.slots.length);
    const candidates = [...this.slots].sort((a, b) => this.loadOf(a) - this.loadOf(b));
    for (const index of existing?.slots ?? []) {
      if (slots.size < wanted) slots.add(index);
    }
    for (const slot of candidates) {
      if (slots.size >= wanted) break;
      slots.add(slot.index);
    }
    for (const index of existing?.slots ?? []) {
      const slot = this.slots[index]!;
      if (!slots.has(index) || existing!.spec.key !== spec.key) this.unload(slot, existing!.spec.key);
    }
    this.placements.set(id, { spec, slots });
    for (const index of slots) this.load(this.slots[index]!, spec);
    return slots.size;
  }

  remove(id: string): void {
    const placement = this.placements.get(id);
    if (!placement) return;
    for (const index of placement.slots) this.unload(this.slots[index]!, placement.spec.key);
    this.placements.delete(id);
  }

  /** Workers that hold the function and are running. */
  availableReplicas(id: string): number {
    const placement = this.placements.get(id);
    if (!placement) return 0;
    return [...placement.slots].filter((index) => this.slots[index]!.alive).length;
  }

  /**
   * Runs one call on the least busy worker holding the function. The caller places it first.
   * `route.ohttpKeyId`: a confidential call goes to the one worker holding that key (placing the
   * function there too), or fails with `ohttp-key` when no running worker holds it.
   */
  async invoke(id: string, request: InvocationRequest, timeoutMs: number, route?: { ohttpKeyId: number }): Promise<WireResult & { instance: string }> {
    const placement = this.placements.get(id);
    if (!placement || placement.slots.size === 0) {
      throw new TfaasError("unavailable", `Cannot invoke ${id}: it has no replicas`);
    }
    let chosen: WorkerSlot | undefined;
    if (route !== undefined) {
      chosen = this.slots.find((slot) => slot.alive && slot.identity !== undefined && slot.ohttpKeyId === route.ohttpKeyId);
      if (chosen === undefined) {
        throw new TfaasError("ohttp-key", `Cannot route OHTTP request: key id ${route.ohttpKeyId} is not held by any running worker (restarted, or never published); fetch fresh key configurations from /system/ohttp-keys`);
      }
      placement.slots.add(chosen.index);
    } else {
      for (const index of placement.slots) {
        const slot = this.slots[index]!;
        if (!chosen || this.loadOf(slot) < this.loadOf(chosen)) chosen = slot;
      }
    }
    const slot = chosen!;
    const key = placement.spec.key;
    await slot.ready;
    await this.load(slot, placement.spec);
    const callId = this.nextCallId++;
    const result = await new Promise<WireResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending.delete(callId);
        reject(new TfaasError("timeout", `Cannot complete ${id}: exceeded exec_timeout of ${timeoutMs} ms`));
        log.warn("call exceeded its timeout; restarting its worker", { function: id, instance: slot.instance, timeoutMs });
        slot.child?.kill("SIGKILL");
      }, timeoutMs);
      slot.pending.set(callId, { resolve, reject, timer });
      slot.send({ type: "invoke", id: callId, key, request, function: id, ...(route !== undefined ? { confidential: true } : {}) });
    });
    return { ...result, instance: slot.instance };
  }

  /**
   * Evidence from every running worker binding its keys to `nonce`, each with the identity it
   * announced; a worker that fails or does not answer within `timeoutMs` is listed with its error.
   */
  async attest(nonce: Uint8Array, timeoutMs: number): Promise<Array<{ instance: string; identity?: WorkerIdentityInfo; evidence?: WireEvidence; error?: TfaasError }>> {
    return Promise.all(
      this.slots.map(async (slot) => {
        const identity = slot.identity;
        if (!slot.alive || identity === undefined) {
          return { instance: slot.instance, error: new TfaasError("unavailable", `Cannot attest ${slot.instance}: it is restarting`) };
        }
        const id = this.nextCallId++;
        try {
          const evidence = await new Promise<WireEvidence>((resolve, reject) => {
            const timer = setTimeout(() => {
              slot.attestations.delete(id);
              reject(new TfaasError("timeout", `Cannot attest ${slot.instance}: no evidence within ${timeoutMs} ms`));
            }, timeoutMs);
            const settle = () => clearTimeout(timer);
            slot.attestations.set(id, { resolve: (value) => (settle(), resolve(value)), reject: (error) => (settle(), reject(error)) });
            slot.send({ type: "attest", id, nonce });
          });
          return { instance: slot.instance, identity, evidence };
        } catch (error) {
          return { instance: slot.instance, identity, error: error as TfaasError };
        }
      }),
    );
  }

  /** The OHTTP key configurations of the running workers (application/ohttp-keys), one per worker. */
  ohttpKeys(): OhttpKeyConfig[] {
    const configs: OhttpKeyConfig[] = [];
    for (const slot of this.slots) {
      if (!slot.alive || slot.identity === undefined || slot.ohttpKeyId === undefined) continue;
      const publicKey = new Uint8Array(Buffer.from(slot.identity.boundKeys.hpke, "base64url"));
      configs.push({ keyId: slot.ohttpKeyId, kemId: HPKE_SUITE.kemId, publicKey, suites: [{ kdfId: HPKE_SUITE.kdfId, aeadId: HPKE_SUITE.aeadId }] });
    }
    return configs;
  }

  /** A key id no other worker holds now (one byte: RFC 9458), for a starting process. */
  private allocateKeyId(): number {
    const held = new Set(this.slots.map((slot) => slot.ohttpKeyId));
    for (let tries = 0; tries < 256; tries++) {
      const id = this.nextKeyId;
      this.nextKeyId = (this.nextKeyId + 1) % 256;
      if (!held.has(id)) return id;
    }
    throw new TfaasError("internal", `Cannot start worker: all 256 OHTTP key ids are held (current pool size is ${this.slots.length})`);
  }

  private loadOf(slot: WorkerSlot): number {
    return slot.pending.size * 1000 + slot.loads.size;
  }

  /** Sends the spec unless the worker already has (or is getting) it; settles when it is prepared. */
  private load(slot: WorkerSlot, spec: FunctionSpec): Promise<void> {
    const existing = slot.loads.get(spec.key);
    if (existing) return existing.promise;
    let settle!: (error?: TfaasError) => void;
    const promise = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    promise.catch(() => slot.loads.delete(spec.key));
    slot.loads.set(spec.key, { promise, settle });
    if (slot.alive) slot.send({ type: "load", spec });
    return promise;
  }

  private unload(slot: WorkerSlot, key: string): void {
    if (slot.loads.delete(key) && slot.alive) slot.send({ type: "unload", key });
  }

  private spawn(slot: WorkerSlot): Promise<void> {
    const entry = workerEntry();
    slot.ohttpKeyId = this.allocateKeyId();
    const child = fork(entry.path, [], {
      execArgv: entry.execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, ...this.options.env, TFAAS_WORKER_INSTANCE: slot.instance, [OHTTP_KEY_ID_ENV]: String(slot.ohttpKeyId) },
    });
    slot.child = child;
    slot.lastStart = Date.now();
    child.on("message", (message: FromWorker) => {
      if (message.type !== "ready") return this.receive(slot, message);
      slot.identity = message.identity;
      // A fresh process holds nothing: send it every function placed on it.
      for (const placement of this.placements.values()) {
        if (slot.loads.has(placement.spec.key)) slot.send({ type: "load", spec: placement.spec });
      }
      slot.becameReady();
    });
    child.on("exit", (code, signal) => this.onExit(slot, child, code, signal));
    return slot.ready;
  }

  private receive(slot: WorkerSlot, message: FromWorker): void {
    if (message.type === "loaded") {
      const load = slot.loads.get(message.key);
      load?.settle(message.error ? TfaasError.fromJSON(message.error) : undefined);
    } else if (message.type === "attested") {
      const request = slot.attestations.get(message.id);
      slot.attestations.delete(message.id);
      if (message.evidence) request?.resolve(message.evidence);
      else request?.reject(TfaasError.fromJSON(message.error ?? { code: "internal", message: "Worker sent no evidence" }));
    } else if (message.type === "result") {
      const call = slot.pending.get(message.id);
      if (!call) return;
      slot.pending.delete(message.id);
      clearTimeout(call.timer);
      if (message.result) call.resolve(message.result);
      else call.reject(TfaasError.fromJSON(message.error ?? { code: "internal", message: "Worker sent no result" }));
    }
  }

  private onExit(slot: WorkerSlot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.expectRestart();
    for (const [, call] of slot.pending) {
      clearTimeout(call.timer);
      call.reject(new TfaasError("worker-crashed", `Cannot complete call: ${slot.instance} stopped (${signal ?? `exit ${code}`})`));
    }
    slot.pending.clear();
    slot.identity = undefined;
    // The key died with the process: requests sealed to it now fail as `ohttp-key`.
    slot.ohttpKeyId = undefined;
    for (const [, request] of slot.attestations) request.reject(new TfaasError("worker-crashed", `Cannot attest: ${slot.instance} stopped`));
    slot.attestations.clear();
    if (this.closing) return;
    slot.restarts++;
    this.options.onRestart?.(slot.instance);
    // Back off only when a worker keeps dying right after it starts.
    const crashLoop = Date.now() - slot.lastStart < 1000;
    const delay = crashLoop ? Math.min(5000, 100 * 2 ** Math.min(slot.restarts, 6)) : 0;
    log.warn("worker stopped; replacing it", { instance: slot.instance, code, signal, delayMs: delay });
    setTimeout(() => {
      if (!this.closing) void this.spawn(slot);
    }, delay).unref();
  }
}
