import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteStreams, NATS_SKIP_MESSAGE, natsServerMissing, startNatsServer, type NatsServer } from "../../../test/nats/launcher.js";
import type { Queue } from "../queue.js";
import { describeQueueContract, expectTfaasError, newCall } from "../queue.contract.js";
import { connectNats } from "../../store/nats/index.js";
import { openNatsQueue, type NatsQueueOptions } from "./index.js";

if (natsServerMissing) console.warn(NATS_SKIP_MESSAGE);

const T0 = Date.parse("2024-05-01T10:00:00.000Z");

describe.skipIf(natsServerMissing)("NATS queue on a single server", () => {
  let server: NatsServer;
  let counter = 0;

  beforeAll(async () => {
    server = await startNatsServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  describeQueueContract("nats", async (maxDepth) => {
    const prefix = `q${++counter}`;
    const open = (): Promise<Queue> => openNatsQueue({ url: server.url, maxDepth, prefix });
    let queue = await open();
    return {
      queue,
      reopen: async () => {
        await queue.close();
        queue = await open();
        return queue;
      },
      dispose: async () => {
        await queue.close();
        await deleteStreams(server.url, prefix);
      },
    };
  });

  it("carries request and result bodies larger than a NATS message", async () => {
    const queue = await openNatsQueue({ url: server.url, maxDepth: 10, prefix: "big" });
    try {
      const body = randomBytes(3 * 1024 * 1024);
      await queue.enqueue(newCall("large", "fn", { request: { method: "POST", path: "/", query: "", headers: {}, body } }));
      const claimed = await queue.claim("fn", "openfaas-fn", T0);
      expect(Buffer.from(claimed.call?.request.body ?? []).equals(body)).toBe(true);
      const output = randomBytes(2 * 1024 * 1024);
      await queue.finish("large", "succeeded", { statusCode: 200, headers: {}, body: output, durationSeconds: 1 }, T0 + 1);
      expect(Buffer.from((await queue.get("large"))?.result?.body ?? []).equals(output)).toBe(true);
      expect(await queue.sweep(T0 + 2)).toBe(1);
      expect(await queue.get("large")).toBeUndefined();
    } finally {
      await queue.close();
      await deleteStreams(server.url, "big");
    }
  });

  it("lets another instance run a call whose holder died, once its lease lapses, with the same call id", async () => {
    const options = { maxDepth: 10, prefix: "lease", ackWaitMs: 600, backoffMs: [600], maxDeliveries: 3 };
    const { queue: first, crash } = await crashable(options, server.url);
    const second = await openNatsQueue({ ...options, url: server.url });
    try {
      await first.enqueue(newCall("orphan"));
      expect((await first.claim("fn", "openfaas-fn", T0)).call?.attempts).toBe(1);
      // The holder keeps renewing its lease: nobody else gets the call.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await second.claim("fn", "openfaas-fn", T0)).toEqual({});
      // The holder dies: no renewals, no release (close() would release at once).
      await crash();
      const again = await eventually(async () => (await second.claim("fn", "openfaas-fn", T0 + 1)).call);
      expect(again).toMatchObject({ callId: "orphan", attempts: 2 });
      expect(again.request.headers["x-call-id"]).toBe("orphan");
      await second.finish("orphan", "succeeded", { statusCode: 200, headers: {}, body: new Uint8Array(), durationSeconds: 0 }, T0 + 2);
      expect(await second.get("orphan")).toMatchObject({ state: "succeeded", attempts: 2 });
      expect(await second.depth()).toBe(0);
    } finally {
      await second.close();
      await deleteStreams(server.url, "lease");
    }
  });

  it("fails a call that exhausted its deliveries instead of running it again", async () => {
    const options = { maxDepth: 10, prefix: "poison", ackWaitMs: 400, backoffMs: [400], maxDeliveries: 2 };
    const queue = await openNatsQueue({ ...options, url: server.url });
    try {
      await queue.enqueue(newCall("poison", "fn", { callbackUrl: "http://127.0.0.1:9/" }));
      const holder = await crashable(options, server.url);
      expect((await holder.queue.claim("fn", "openfaas-fn", T0)).call?.callId).toBe("poison");
      await holder.crash();
      // The second delivery is the last JetStream will make: it is recorded as failed, not run.
      await eventually(async () => ((await queue.get("poison"))?.state === "failed" ? true : undefined), () => queue.claim("fn", "openfaas-fn", T0));
      const record = await queue.get("poison");
      expect(record).toMatchObject({ state: "failed", statusCode: 500, attempts: 1, callback: { state: "pending" } });
      expect(new TextDecoder().decode(record?.result?.body)).toContain("abandoned");
      expect(await queue.depth()).toBe(0);
    } finally {
      await queue.close();
      await deleteStreams(server.url, "poison");
    }
  });

  it("refuses a finish from an instance that does not hold the call", async () => {
    const a = await openNatsQueue({ url: server.url, maxDepth: 10, prefix: "hold" });
    const b = await openNatsQueue({ url: server.url, maxDepth: 10, prefix: "hold" });
    try {
      await a.enqueue(newCall("mine"));
      await a.claim("fn", "openfaas-fn", T0);
      await expectTfaasError(b.finish("mine", "succeeded", { statusCode: 200, headers: {}, body: new Uint8Array(), durationSeconds: 0 }, T0), "conflict", "another instance");
      expect(await b.cancel("mine", T0)).toBe("running");
    } finally {
      await a.close();
      await b.close();
      await deleteStreams(server.url, "hold");
    }
  });

  it("validates its options", async () => {
    await expectTfaasError(openNatsQueue({ url: server.url, maxDepth: 0 }), "invalid-request", "maxDepth");
    await expectTfaasError(openNatsQueue({ url: server.url, maxDepth: 1, backoffMs: [1000, 2000], maxDeliveries: 2 }), "invalid-request", "maxDeliveries");
    await expectTfaasError(openNatsQueue({ url: "nats://127.0.0.1:1", maxDepth: 1 }), "unavailable", "nats://127.0.0.1:1");
  });
});

/** A queue on its own connection; `crash` drops the connection without releasing anything, as a dying process would. */
async function crashable(options: Omit<NatsQueueOptions, "url" | "connection">, url: string): Promise<{ queue: Queue; crash: () => Promise<void> }> {
  const nc = await connectNats(url, { name: "crashable" });
  const queue = await openNatsQueue({ ...options, connection: nc });
  return { queue, crash: () => nc.close() };
}

async function eventually<T>(probe: () => Promise<T | undefined>, between?: () => Promise<unknown>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await between?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
