/**
 * The dispatcher over a real SQLite queue and a real loopback callback receiver; the runner —
 * what executes an attempt, i.e. the workers — is a scripted stand-in, since the dispatcher's
 * scheduling is what is under test here (test/async.test.ts runs real functions).
 */
import { promises as fs } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CallbackPolicy, EMBEDDED_CALLBACK_RULES } from "./callback-policy.js";
import { CallbackSender } from "./callbacks.js";
import { TfaasError } from "../shared/errors.js";
import { Dispatcher, type CallRunner } from "./dispatcher.js";
import type { FunctionLimits } from "./limits.js";
import type { CallResult, ClaimedCall, Queue } from "./queue.js";
import { newCall } from "./queue.contract.js";
import { openSqliteQueue } from "./sqlite/index.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Holds every attempt until released; records the peak concurrency per function and overall. */
class ScriptedRunner implements CallRunner {
  started: string[] = [];
  running = new Map<string, number>();
  peak = new Map<string, number>();
  peakTotal = 0;
  total = 0;
  #waiters: Array<() => void> = [];
  constructor(
    private readonly outcome: (call: ClaimedCall) => number,
    private readonly fnLimits: Record<string, FunctionLimits>,
    private readonly hold = false,
  ) {}
  limits(name: string): FunctionLimits {
    return this.fnLimits[name] ?? { concurrency: 1, maxAttempts: 1 };
  }
  async run(call: ClaimedCall): Promise<CallResult> {
    this.started.push(`${call.callId}#${call.attempts}`);
    this.running.set(call.name, (this.running.get(call.name) ?? 0) + 1);
    this.total++;
    this.peak.set(call.name, Math.max(this.peak.get(call.name) ?? 0, this.running.get(call.name)!));
    this.peakTotal = Math.max(this.peakTotal, this.total);
    if (this.hold) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    else await new Promise((resolve) => setTimeout(resolve, 2));
    this.running.set(call.name, this.running.get(call.name)! - 1);
    this.total--;
    const status = this.outcome(call);
    return { statusCode: status, headers: { "content-type": "text/plain", "x-tfaas-usage": "7" }, body: utf8(`out ${call.callId}`), durationSeconds: 0.001 };
  }
  releaseAll(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

async function until(condition: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("Dispatcher", () => {
  let dir: string;
  let queue: Queue;
  let dispatcher: Dispatcher | undefined;
  let callbacks: CallbackSender;

  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), "tfaas-dispatch-"));
    queue = await openSqliteQueue({ dataDir: dir, maxDepth: 1000 });
    callbacks = new CallbackSender({
      queue,
      policy: new CallbackPolicy(EMBEDDED_CALLBACK_RULES),
      maxAttempts: 3,
      backoff: { baseMs: 5, maxMs: 20 },
      timeoutMs: 2000,
      concurrency: 4,
    });
  });

  afterEach(async () => {
    await dispatcher?.stop(1000);
    dispatcher = undefined;
    await queue.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  function start(runner: CallRunner, globalConcurrency = 16, retentionMs = 60_000): Promise<void> {
    dispatcher = new Dispatcher({ queue, runner, callbacks, globalConcurrency, retry: { baseMs: 5, maxMs: 20 }, retentionMs, sweepIntervalMs: 20 });
    return dispatcher.start();
  }

  /** The real queue with some of its methods replaced. */
  function queueWith(replaced: Partial<Queue>): Queue {
    return new Proxy(queue, {
      get: (target, property) => {
        if (property in replaced) return replaced[property as keyof Queue];
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  async function enqueue(callId: string, name: string, callbackUrl?: string): Promise<void> {
    await queue.enqueue(newCall(callId, name, { now: Date.now(), ...(callbackUrl === undefined ? {} : { callbackUrl }) }));
    dispatcher?.notify(name, "openfaas-fn");
  }

  it("runs calls of one function one at a time in arrival order by default", async () => {
    const runner = new ScriptedRunner(() => 200, {});
    await start(runner);
    for (let i = 0; i < 6; i++) await enqueue(`o${i}`, "fn");
    await until(async () => (await queue.get("o5"))?.state === "succeeded");
    expect(runner.started).toEqual(["o0#1", "o1#1", "o2#1", "o3#1", "o4#1", "o5#1"]);
    expect(runner.peak.get("fn")).toBe(1);
  });

  it("bounds concurrency per function and globally", async () => {
    const runner = new ScriptedRunner(() => 200, { wide: { concurrency: 3, maxAttempts: 1 }, other: { concurrency: 3, maxAttempts: 1 } }, true);
    await start(runner, 4);
    for (let i = 0; i < 5; i++) await enqueue(`w${i}`, "wide");
    for (let i = 0; i < 5; i++) await enqueue(`x${i}`, "other");
    await until(() => runner.total === 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runner.total).toBe(4);
    expect(dispatcher?.running).toBe(4);
    for (let round = 0; round < 10 && runner.started.length < 10; round++) {
      runner.releaseAll();
      await until(() => runner.total > 0 || runner.started.length === 10);
    }
    runner.releaseAll();
    await until(async () => (await queue.depth()) === 0 && dispatcher?.running === 0);
    runner.releaseAll();
    expect(runner.peak.get("wide")).toBeLessThanOrEqual(3);
    expect(runner.peak.get("other")).toBeLessThanOrEqual(3);
    expect(runner.peakTotal).toBe(4);
    expect(runner.started).toHaveLength(10);
  });

  it("keeps trying to record an outcome while the queue is briefly unavailable", async () => {
    // The real queue, with its first two `finish` calls failing as a JetStream leader election would.
    let failures = 2;
    const finish: Queue["finish"] = (...args) =>
      failures-- > 0 ? Promise.reject(new TfaasError("unavailable", "Cannot reach the queue")) : queue.finish(...args);
    dispatcher = new Dispatcher({ queue: queueWith({ finish }), runner: new ScriptedRunner(() => 200, {}), callbacks, globalConcurrency: 4, retry: { baseMs: 5, maxMs: 20 }, retentionMs: 60_000, sweepIntervalMs: 20 });
    await dispatcher.start();
    await enqueue("flaky", "fn");
    await until(async () => (await queue.get("flaky"))?.state === "succeeded");
    expect(failures).toBe(-1);
    expect((await queue.get("flaky"))?.attempts).toBe(1);
  });

  it("keeps a retry recorded while a claim round still waits for the queue", async () => {
    // A claim that finds nothing (the call is running) is held until that call's retry is
    // recorded; the round must not then forget the function, or the retry would never run.
    let retried!: () => void;
    const retryRecorded = new Promise<void>((resolve) => (retried = resolve));
    let holdEmptyClaims = false;
    const claim: Queue["claim"] = async (...args) => {
      const result = await queue.claim(...args);
      if (result.call === undefined && holdEmptyClaims) {
        await retryRecorded;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return result;
    };
    const retry: Queue["retry"] = async (...args) => {
      await queue.retry(...args);
      retried();
    };
    const runner = new ScriptedRunner((call) => (call.attempts === 1 ? 503 : 200), { fn: { concurrency: 2, maxAttempts: 2 } }, true);
    dispatcher = new Dispatcher({ queue: queueWith({ claim, retry }), runner, callbacks, globalConcurrency: 4, retry: { baseMs: 5, maxMs: 20 }, retentionMs: 60_000, sweepIntervalMs: 20 });
    await dispatcher.start();
    await enqueue("r", "fn");
    await until(() => runner.started.includes("r#1"));
    holdEmptyClaims = true;
    dispatcher.notify("fn", "openfaas-fn"); // its round's claim finds r running, and waits
    await new Promise((resolve) => setTimeout(resolve, 20));
    runner.releaseAll(); // r answers 503: its retry is recorded while that claim waits
    await until(() => runner.started.includes("r#2"));
    runner.releaseAll();
    await until(async () => (await queue.get("r"))?.state === "succeeded");
  });

  it("gives a global slot that an empty claim took back to the function it crowded out", async () => {
    // The only global slot goes to a function whose call was cancelled after the dispatcher
    // learned of it; its claim finds nothing, and the round must then claim for the function
    // it crowded out, or that function's call would wait for news that never comes.
    await queue.enqueue(newCall("gone", "first", { now: Date.now() }));
    await queue.enqueue(newCall("kept", "second", { now: Date.now() }));
    const waiting: Queue["waiting"] = async () => {
      const found = await queue.waiting();
      await queue.cancel("gone", Date.now());
      return found.sort((a, b) => a.name.localeCompare(b.name));
    };
    const runner = new ScriptedRunner(() => 200, {});
    dispatcher = new Dispatcher({ queue: queueWith({ waiting }), runner, callbacks, globalConcurrency: 1, retry: { baseMs: 5, maxMs: 20 }, retentionMs: 60_000, sweepIntervalMs: 20 });
    await dispatcher.start();
    await until(async () => (await queue.get("kept"))?.state === "succeeded");
    expect(runner.started).toEqual(["kept#1"]);
  });

  it("finishes every call under random schedules, limits and failures", async () => {
    // Property: whatever the interleaving of arrivals, attempts, retries and claims, no call is
    // left queued. Each trial draws limits, timings and outcomes anew.
    const names = ["a", "b", "c", "d"];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
    for (let trial = 0; trial < 20; trial++) {
      const limits = Object.fromEntries(names.map((name) => [name, { concurrency: 1 + Math.floor(Math.random() * 4), maxAttempts: 3 }]));
      const runner: CallRunner = {
        limits: (name) => limits[name]!,
        async run() {
          await pick([() => Promise.resolve(), () => new Promise((resolve) => setImmediate(resolve)), () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3))])();
          return { statusCode: Math.random() < 0.6 ? 500 : 200, headers: {}, body: new Uint8Array(0), durationSeconds: 0 };
        },
      };
      dispatcher = new Dispatcher({ queue, runner, callbacks, globalConcurrency: 1 + Math.floor(Math.random() * 6), retry: { baseMs: 1 + Math.random() * 5, maxMs: 20 }, retentionMs: 600_000, sweepIntervalMs: 1000 });
      await dispatcher.start();
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        ids.push(`t${trial}-${i}`);
        await enqueue(ids[i]!, pick(names));
        if (Math.random() < 0.5) await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
      }
      const unfinished = async () => (await Promise.all(ids.map((id) => queue.get(id)))).filter((call) => call?.finishedAt === undefined).map((call) => call?.callId);
      await until(async () => (await unfinished()).length === 0).catch(async () => expect(await unfinished(), `trial ${trial}: ${JSON.stringify(limits)}`).toEqual([]));
      await dispatcher.stop(1000);
    }
  }, 60_000);

  it("shares the global limit fairly between functions", async () => {
    const runner = new ScriptedRunner(() => 200, { busy: { concurrency: 2, maxAttempts: 1 }, quiet: { concurrency: 2, maxAttempts: 1 } });
    await start(runner, 2);
    for (let i = 0; i < 12; i++) await queue.enqueue(newCall(`b${i}`, "busy", { now: Date.now() }));
    dispatcher?.notify("busy", "openfaas-fn");
    await enqueue("q0", "quiet");
    await until(async () => (await queue.get("q0"))?.state === "succeeded");
    // The quiet function's only call got a slot long before the busy function's queue drained.
    expect(runner.started.indexOf("q0#1")).toBeLessThan(6);
  });

  it("retries 429 and 5xx with backoff until it succeeds or the attempts are used up, and not 4xx", async () => {
    const runner = new ScriptedRunner((call) => {
      if (call.callId === "flaky") return call.attempts < 3 ? 503 : 200;
      if (call.callId === "busy") return 429;
      return 404;
    }, { fn: { concurrency: 2, maxAttempts: 3 } });
    await start(runner);
    await enqueue("flaky", "fn");
    await enqueue("busy", "fn");
    await enqueue("missing", "fn");
    await until(async () => (await Promise.all(["flaky", "busy", "missing"].map((id) => queue.get(id)))).every((r) => r?.finishedAt !== undefined));
    expect(await queue.get("flaky")).toMatchObject({ state: "succeeded", attempts: 3, statusCode: 200 });
    expect(await queue.get("busy")).toMatchObject({ state: "failed", attempts: 3, statusCode: 429 });
    expect(await queue.get("missing")).toMatchObject({ state: "failed", attempts: 1, statusCode: 404 });
    expect(runner.started.filter((s) => s.startsWith("flaky"))).toEqual(["flaky#1", "flaky#2", "flaky#3"]);
  });

  it("sweeps finished calls once they are past retention", async () => {
    await start(new ScriptedRunner(() => 200, {}), 16, 50);
    await enqueue("short-lived", "fn");
    await until(async () => (await queue.get("short-lived"))?.state === "succeeded");
    await until(async () => (await queue.get("short-lived")) === undefined);
  });

  it("picks up work queued before it started, including calls a crash left running", async () => {
    await queue.enqueue(newCall("early", "fn", { now: Date.now() }));
    await queue.claim("fn", "openfaas-fn", Date.now());
    await queue.close();
    queue = await openSqliteQueue({ dataDir: dir, maxDepth: 1000 });
    callbacks = new CallbackSender({ queue, policy: new CallbackPolicy(EMBEDDED_CALLBACK_RULES), maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, timeoutMs: 1000, concurrency: 1 });
    const runner = new ScriptedRunner(() => 200, {});
    await start(runner);
    await until(async () => (await queue.get("early"))?.state === "succeeded");
    expect(runner.started).toEqual(["early#2"]);
  });

  describe("callbacks", () => {
    let receiver: http.Server;
    let url: string;
    const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
    let failFirst = 0;

    beforeEach(async () => {
      received.length = 0;
      receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
          res.statusCode = failFirst-- > 0 ? 500 : 204;
          res.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=abc`;
    });

    afterEach(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    it("posts the result with the call's headers, retrying a failing receiver", async () => {
      failFirst = 1;
      await start(new ScriptedRunner(() => 201, {}));
      await enqueue("cb1", "fn", url);
      await until(async () => (await queue.get("cb1"))?.callback?.state === "delivered");
      expect(received).toHaveLength(2);
      const last = received[1]!;
      expect(last.body).toBe("out cb1");
      expect(last.headers).toMatchObject({
        "x-call-id": "cb1",
        "x-function-status": "201",
        "x-function-name": "fn",
        "x-duration-seconds": "0.001000",
        "x-tfaas-usage": "7",
        "content-type": "text/plain",
      });
      expect((await queue.get("cb1"))?.callback).toEqual({ url, state: "delivered", attempts: 2 });
    });

    it("records a failed delivery after the last attempt", async () => {
      failFirst = 100;
      await start(new ScriptedRunner(() => 200, {}));
      await enqueue("cb2", "fn", url);
      await until(async () => (await queue.get("cb2"))?.callback?.state === "failed");
      expect(received).toHaveLength(3);
      expect((await queue.get("cb2"))?.callback).toMatchObject({ attempts: 3, lastError: "the receiver answered 500" });
    });

    it("fails delivery at once when the target is refused by the policy at delivery time", async () => {
      await start(new ScriptedRunner(() => 200, {}));
      await enqueue("cb3", "fn", "http://169.254.169.254/latest");
      await until(async () => (await queue.get("cb3"))?.callback?.state === "failed");
      expect((await queue.get("cb3"))?.callback).toMatchObject({ attempts: 1, lastError: expect.stringContaining("denied range") as string });
    });
  });
});
