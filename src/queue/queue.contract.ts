/**
 * The contract every Queue implementation passes: call `describeQueueContract` from a test file
 * with a factory that opens a fresh, empty queue (allowing `maxDepth` queued calls), can reopen
 * it as a restarted process would, and disposes of whatever it created.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectTfaasError } from "../shared/expect-error.js";
import type { TfaasError } from "../shared/errors.js";
import type { CallResult, NewCall, Queue } from "./queue.js";

export interface OpenedQueue {
  queue: Queue;
  /** Closes the current queue (if open) and opens the same one again. */
  reopen(): Promise<Queue>;
  dispose(): Promise<void>;
}

export { expectTfaasError };

const T0 = Date.parse("2024-05-01T10:00:00.000Z");
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

export function newCall(callId: string, name = "fn", overrides: Partial<NewCall> = {}): NewCall {
  return {
    callId,
    name,
    namespace: "openfaas-fn",
    request: { method: "POST", path: "/sub", query: "a=1", headers: { "content-type": "text/plain", "x-call-id": callId }, body: utf8(`body of ${callId}`) },
    now: T0,
    ...overrides,
  };
}

function result(statusCode: number, body = "out"): CallResult {
  return { statusCode, headers: { "content-type": "text/plain" }, body: utf8(body), durationSeconds: 0.25 };
}

export function describeQueueContract(label: string, open: (maxDepth: number) => Promise<OpenedQueue>): void {
  describe(`Queue contract: ${label}`, () => {
    const MAX_DEPTH = 5;
    let opened: OpenedQueue | undefined;
    let queue: Queue;

    beforeEach(async () => {
      opened = await open(MAX_DEPTH);
      queue = opened.queue;
    });

    afterEach(async () => {
      await opened?.dispose();
      opened = undefined;
    });

    it("keeps an enqueued call with its whole request, queued and unattempted", async () => {
      await queue.enqueue(newCall("c1", "fn", { callbackUrl: "http://127.0.0.1:9/hook" }));
      const record = await queue.get("c1");
      expect(record).toMatchObject({ callId: "c1", name: "fn", namespace: "openfaas-fn", state: "queued", attempts: 0, createdAt: T0 });
      expect(record?.callback).toMatchObject({ url: "http://127.0.0.1:9/hook", attempts: 0 });
      expect(record?.result).toBeUndefined();
      const claim = await queue.claim("fn", "openfaas-fn", T0);
      expect(claim.call?.request).toEqual({
        method: "POST",
        path: "/sub",
        query: "a=1",
        headers: { "content-type": "text/plain", "x-call-id": "c1" },
        body: expect.any(Uint8Array) as Uint8Array,
      });
      expect(text(claim.call?.request.body)).toBe("body of c1");
      expect(claim.call?.callbackUrl).toBe("http://127.0.0.1:9/hook");
      expect(await queue.get("missing")).toBeUndefined();
    });

    it("refuses a taken call id with conflict", async () => {
      await queue.enqueue(newCall("dup"));
      await expectTfaasError(queue.enqueue(newCall("dup")), "conflict", "dup");
      expect(await queue.depth()).toBe(1);
    });

    it("refuses calls beyond the maximum depth with too-many-requests, and accepts again once there is room", async () => {
      for (let i = 0; i < MAX_DEPTH; i++) await queue.enqueue(newCall(`d${i}`));
      expect(await queue.depth()).toBe(MAX_DEPTH);
      await expectTfaasError(queue.enqueue(newCall("over")), "too-many-requests", "queue is full");
      expect(await queue.get("over")).toBeUndefined();
      await queue.claim("fn", "openfaas-fn", T0);
      expect(await queue.depth()).toBe(MAX_DEPTH - 1);
      await queue.enqueue(newCall("fits"));
    });

    it("accepts a burst of concurrent enqueues, each settling on its own", async () => {
      const outcomes = await Promise.allSettled(Array.from({ length: MAX_DEPTH + 2 }, (_, i) => queue.enqueue(newCall(`b${i}`))));
      expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(MAX_DEPTH);
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      expect(rejected.map((o) => (o.reason as TfaasError).code)).toEqual(["too-many-requests", "too-many-requests"]);
    });

    it("claims per function in arrival order and counts each attempt", async () => {
      await queue.enqueue(newCall("a1", "alpha"));
      await queue.enqueue(newCall("b1", "beta"));
      await queue.enqueue(newCall("a2", "alpha"));
      expect((await queue.waiting()).map((w) => w.name).sort()).toEqual(["alpha", "beta"]);
      const first = await queue.claim("alpha", "openfaas-fn", T0 + 5);
      const second = await queue.claim("alpha", "openfaas-fn", T0 + 6);
      expect([first.call?.callId, second.call?.callId]).toEqual(["a1", "a2"]);
      expect(first.call?.attempts).toBe(1);
      expect(await queue.claim("alpha", "openfaas-fn", T0 + 7)).toEqual({});
      expect(await queue.get("a1")).toMatchObject({ state: "running", attempts: 1, startedAt: T0 + 5 });
      expect((await queue.waiting()).map((w) => w.name)).toEqual(["beta"]);
    });

    it("holds a retried call back until its time, lets later calls pass, then counts the next attempt", async () => {
      await queue.enqueue(newCall("r1"));
      await queue.enqueue(newCall("r2"));
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.retry("r1", result(503, "busy"), T0 + 1000);
      expect(await queue.get("r1")).toMatchObject({ state: "queued", attempts: 1, statusCode: 503 });
      expect((await queue.claim("fn", "openfaas-fn", T0 + 10)).call?.callId).toBe("r2");
      expect(await queue.claim("fn", "openfaas-fn", T0 + 20)).toEqual({ nextReadyAt: T0 + 1000 });
      expect(await queue.waiting()).toEqual([{ name: "fn", namespace: "openfaas-fn", readyAt: T0 + 1000 }]);
      const again = await queue.claim("fn", "openfaas-fn", T0 + 1000);
      expect(again.call).toMatchObject({ callId: "r1", attempts: 2 });
      expect(text(again.call?.request.body)).toBe("body of r1");
    });

    it("finishes a running call with its result, and makes its callback pending", async () => {
      await queue.enqueue(newCall("f1", "fn", { callbackUrl: "http://127.0.0.1:9/" }));
      await queue.enqueue(newCall("f2"));
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.finish("f1", "succeeded", result(200, "hello"), T0 + 50);
      await queue.finish("f2", "failed", result(500, "boom"), T0 + 60);
      const done = await queue.get("f1");
      expect(done).toMatchObject({ state: "succeeded", attempts: 1, finishedAt: T0 + 50, statusCode: 200 });
      expect(done?.result).toMatchObject({ statusCode: 200, headers: { "content-type": "text/plain" }, durationSeconds: 0.25 });
      expect(text(done?.result?.body)).toBe("hello");
      expect(done?.callback).toMatchObject({ state: "pending", attempts: 0 });
      expect(await queue.get("f2")).toMatchObject({ state: "failed", statusCode: 500 });
      expect((await queue.pendingCallbacks()).map((r) => r.callId)).toEqual(["f1"]);
    });

    it("refuses to record an attempt of a call that is not running", async () => {
      await queue.enqueue(newCall("n1"));
      await expectTfaasError(queue.finish("n1", "succeeded", result(200), T0), "conflict", "queued");
      await expectTfaasError(queue.retry("n1", result(500), T0), "conflict", "queued");
      await expectTfaasError(queue.finish("ghost", "succeeded", result(200), T0), "conflict", "unknown");
    });

    it("cancels only queued calls and answers the state each had", async () => {
      await queue.enqueue(newCall("q1", "fn", { callbackUrl: "http://127.0.0.1:9/" }));
      await queue.enqueue(newCall("q2"));
      await queue.claim("fn", "openfaas-fn", T0);
      expect(await queue.cancel("q2", T0 + 1)).toBe("queued");
      expect(await queue.get("q2")).toMatchObject({ state: "cancelled", finishedAt: T0 + 1, attempts: 0 });
      expect(await queue.cancel("q2", T0 + 2)).toBe("cancelled");
      expect(await queue.cancel("q1", T0 + 2)).toBe("running");
      expect(await queue.cancel("nope", T0 + 2)).toBeUndefined();
      expect(await queue.depth()).toBe(0);
      expect(await queue.claim("fn", "openfaas-fn", T0 + 3)).toEqual({});
    });

    it("counts callback attempts before delivery and records how they settle", async () => {
      await queue.enqueue(newCall("cb", "fn", { callbackUrl: "http://127.0.0.1:9/" }));
      await expectTfaasError(queue.startCallback("cb"), "conflict");
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.finish("cb", "succeeded", result(200), T0);
      expect(await queue.startCallback("cb")).toBe(1);
      await queue.settleCallback("cb", "pending", "connection refused", T0 + 500);
      expect((await queue.get("cb"))?.callback).toEqual({
        url: "http://127.0.0.1:9/",
        state: "pending",
        attempts: 1,
        lastError: "connection refused",
        nextAt: T0 + 500,
      });
      expect(await queue.startCallback("cb")).toBe(2);
      await queue.settleCallback("cb", "delivered", undefined, undefined);
      expect((await queue.get("cb"))?.callback).toEqual({ url: "http://127.0.0.1:9/", state: "delivered", attempts: 2 });
      expect(await queue.pendingCallbacks()).toEqual([]);
    });

    it("sweeps finished calls past retention, never queued, running or pending-callback ones", async () => {
      for (const id of ["s1", "s2", "s3", "s4"]) await queue.enqueue(newCall(id, "fn", id === "s3" ? { callbackUrl: "http://127.0.0.1:9/" } : {}));
      for (let i = 0; i < 3; i++) await queue.claim("fn", "openfaas-fn", T0);
      await queue.finish("s1", "succeeded", result(200), T0 + 10);
      await queue.finish("s3", "succeeded", result(200), T0 + 10);
      expect(await queue.sweep(T0 + 11)).toBe(1);
      expect(await queue.get("s1")).toBeUndefined();
      expect(await queue.get("s2")).toMatchObject({ state: "running" });
      expect(await queue.get("s3")).toMatchObject({ state: "succeeded" });
      expect(await queue.get("s4")).toMatchObject({ state: "queued" });
      await queue.settleCallback("s3", "failed", "gave up", undefined);
      expect(await queue.sweep(T0 + 11)).toBe(1);
    });

    it("keeps acknowledged calls across a reopen and requeues calls left running, attempts kept", async () => {
      await queue.enqueue(newCall("p1"));
      await queue.enqueue(newCall("p2"));
      await queue.enqueue(newCall("p3"));
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.claim("fn", "openfaas-fn", T0);
      await queue.finish("p2", "succeeded", result(200, "kept"), T0 + 1);
      queue = await opened!.reopen();
      expect(await queue.get("p1")).toMatchObject({ state: "queued", attempts: 1 });
      expect(text((await queue.get("p2"))?.result?.body)).toBe("kept");
      expect(await queue.depth()).toBe(2);
      const order = [(await queue.claim("fn", "openfaas-fn", T0 + 2)).call, (await queue.claim("fn", "openfaas-fn", T0 + 2)).call];
      expect(order.map((c) => [c?.callId, c?.attempts])).toEqual([
        ["p1", 2],
        ["p3", 1],
      ]);
    });

    it("closes idempotently and then refuses work with unavailable", async () => {
      await queue.close();
      await queue.close();
      await expectTfaasError(queue.enqueue(newCall("late")), "unavailable");
      await expectTfaasError(queue.get("late"), "unavailable");
    });
  });
}
