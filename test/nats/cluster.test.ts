/**
 * The NATS Store and Queue on a three-node JetStream cluster with every stream and bucket
 * replicated three times: one node SIGKILLed, work goes on; the node restarts and catches up
 * (a current replica of every stream), and nothing written before or during the outage is lost.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openNatsQueue } from "../../src/queue/nats/index.js";
import type { Queue } from "../../src/queue/queue.js";
import { newCall } from "../../src/queue/queue.contract.js";
import { connectNats, openNatsStore } from "../../src/store/nats/index.js";
import type { Store } from "../../src/store/index.js";
import { functionRecord } from "../../src/store/store.contract.js";
import { NATS_SKIP_MESSAGE, natsServerMissing, startNatsCluster, type NatsCluster } from "./launcher.js";

if (natsServerMissing) console.warn(NATS_SKIP_MESSAGE);

const T0 = Date.parse("2024-05-01T10:00:00.000Z");
const NS = "openfaas-fn";
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe.skipIf(natsServerMissing)("NATS store and queue on a 3-node JetStream cluster", () => {
  let cluster: NatsCluster;
  let keyDir: string;
  let keyFile: string;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    keyDir = mkdtempSync(path.join(os.tmpdir(), "tfaas-nats-key-"));
    keyFile = path.join(keyDir, "secrets.key");
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (keyDir !== undefined) rmSync(keyDir, { recursive: true, force: true });
  });

  it("replicates every stream three times, keeps serving with a node SIGKILLed, and loses nothing", async () => {
    const store = await openNatsStore({ url: cluster.urls, replicas: 3, secretKeyFile: keyFile, prefix: "ha", requestTimeoutMs: 2_000 });
    const queue = await openNatsQueue({ url: cluster.urls, replicas: 3, maxDepth: 1_000, prefix: "ha", requestTimeoutMs: 2_000 });
    try {
      const nc = await connectNats(cluster.urls, { name: "inspector" });
      try {
        const jsm = await jetstreamManager(nc);
        const replicas: Record<string, number> = {};
        for await (const info of jsm.streams.list()) replicas[info.config.name] = info.config.num_replicas;
        expect(Object.keys(replicas).filter((name) => name.includes("ha_")).length).toBeGreaterThanOrEqual(10);
        for (const [name, count] of Object.entries(replicas)) if (name.includes("ha_")) expect([name, count]).toEqual([name, 3]);
      } finally {
        await nc.close();
      }

      const artifact = randomBytes(200_000);
      const { info } = await store.artifacts.put(artifact, "wasm");
      await store.functions.create(functionRecord("before"));
      await store.secrets.create("token", NS, utf8("s3cret"));
      await store.logs.append([{ name: "before", namespace: NS, instance: "w", timestamp: "2024-05-01T10:00:00.000Z", text: "line before" }]);
      for (let i = 0; i < 10; i++) await queue.enqueue(newCall(`before-${i}`));
      const running = await queue.claim("fn", NS, T0);
      expect(running.call?.callId).toBe("before-0");

      // Kill the node the clients most likely talk to first; the others hold a quorum of every stream.
      const killed = cluster.nodes[0];
      if (killed === undefined) throw new Error("no nodes");
      await killed.kill("SIGKILL");
      const outageStarted = Date.now();

      await eventually(() => store.functions.create(functionRecord("during")).catch(ignoreConflict));
      const recoveredMs = Date.now() - outageStarted;
      await eventually(() => store.secrets.update("token", NS, utf8("rotated")));
      await eventually(() => store.logs.append([{ name: "before", namespace: NS, instance: "w", timestamp: "2024-05-01T10:00:01.000Z", text: "line during" }]));
      for (let i = 0; i < 10; i++) await eventually(() => queue.enqueue(newCall(`during-${i}`)).catch(ignoreConflict));
      await eventually(() =>
        queue.finish("before-0", "succeeded", { statusCode: 200, headers: {}, body: utf8("done"), durationSeconds: 0.1 }, T0 + 1).catch(ignoreConflict),
      );
      const claimedDuring = await eventually(async () => {
        const { call } = await queue.claim("fn", NS, T0 + 2);
        if (call === undefined) throw new Error("nothing claimed yet");
        return call;
      });
      expect(claimedDuring.callId).toBe("before-1");
      console.info(`cluster, one node of three SIGKILLed: first write after ${recoveredMs} ms, all writes done after ${Date.now() - outageStarted} ms`);

      await killed.restart();
      // The restarted node catches up: every stream lists it as a current replica (or as leader).
      await eventually(async () => expect(await streamsCurrentOn(cluster.urls, "tfaas-n0")).toBe(true), 30_000);
      await eventually(() => expectEverything(store, queue, info.digest, artifact), 30_000);
    } finally {
      await queue.close();
      await store.close();
    }
  }, 120_000);
});

async function expectEverything(store: Store, queue: Queue, digest: string, artifact: Uint8Array): Promise<void> {
  expect((await store.functions.list(NS)).map((record) => record.name)).toEqual(["before", "during"]);
  expect(new TextDecoder().decode((await store.secrets.values(["token"], NS)).get("token"))).toBe("rotated");
  expect(Buffer.from(await store.artifacts.read(digest)).equals(Buffer.from(artifact))).toBe(true);
  // A log append retried by this test after a timeout may be stored twice; each line must be there, in order.
  expect([...new Set((await store.logs.query({ name: "before", namespace: NS })).map((entry) => entry.text))]).toEqual(["line before", "line during"]);
  expect(await queue.get("before-0")).toMatchObject({ state: "succeeded", attempts: 1 });
  expect(await queue.get("before-1")).toMatchObject({ state: "running", attempts: 1 });
  // 20 enqueued, one finished, one running here: 18 queued, every one still there.
  expect(await queue.depth()).toBe(18);
  for (const id of [...Array.from({ length: 8 }, (_, i) => `before-${i + 2}`), ...Array.from({ length: 10 }, (_, i) => `during-${i}`)]) {
    expect(await queue.get(id)).toMatchObject({ state: "queued", attempts: 0 });
  }
}

/** True when every stream reports all its replicas current, `node` among them (as a replica or the leader). */
async function streamsCurrentOn(urls: string, node: string): Promise<boolean> {
  const nc = await connectNats(urls, { name: "inspector" });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const info of jsm.streams.list()) {
      const replicas = info.cluster?.replicas ?? [];
      if (replicas.length !== info.config.num_replicas - 1 || replicas.some((replica) => !replica.current || replica.offline === true)) return false;
      if (info.cluster?.leader !== node && !replicas.some((replica) => replica.name === node)) return false;
    }
    return true;
  } finally {
    await nc.close();
  }
}

function ignoreConflict(error: unknown): void {
  // A write that timed out after it was stored is retried by this test; its second attempt meets the first.
  if (!(error instanceof Error && "code" in error && error.code === "conflict")) throw error;
}

/** Retries an operation that may fail while the cluster elects new leaders; answers its first success. */
async function eventually<T>(operation: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
