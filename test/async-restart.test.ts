/**
 * The queue's promise: a 202 survives a SIGKILL of the gateway. 200 calls are queued behind a
 * function that runs one at a time, the gateway is killed while most are still waiting, and a
 * new gateway on the same data directory finishes every one: none lost, each run once except
 * the one that was running at the kill, which is visibly retried (attempts 2).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startReceiver } from "./async-receiver.js";
import { deploy, startPlatform, watFixture } from "./harness.js";

const CALLS = 200;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "tfaas-async-restart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Status {
  state: string;
  attempts: number;
  result?: string;
  callback?: { state: string; attempts: number };
}

describe("async calls across a gateway crash", () => {
  it("loses no acknowledged call when the gateway is SIGKILLed with the queue full", { timeout: 90_000 }, async () => {
    const receiver = await startReceiver();
    const first = await startPlatform({ dataDir, workers: 1 });
    const bodies = new Map<string, string>();
    let finishedBeforeKill: number;
    try {
      await deploy(first, "slow", await watFixture("async-slow"));
      const url = `${first.url}/async-function/slow`;
      for (let batch = 0; batch < CALLS / 20; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, async (_, j) => {
            const body = `150 call-${batch * 20 + j}`;
            const res = await fetch(url, { method: "POST", body, headers: { "x-callback-url": `${receiver.url}/done` } });
            expect(res.status).toBe(202);
            bodies.set(res.headers.get("x-call-id")!, body);
          }),
        );
      }
      await first.stop("SIGKILL");
      finishedBeforeKill = new Set(receiver.deliveries.map((d) => d.headers["x-call-id"])).size;
    } finally {
      await first.dispose();
    }
    expect(bodies.size).toBe(CALLS);
    // The crash must interrupt real work for this test to mean anything.
    expect(finishedBeforeKill).toBeLessThan(CALLS / 2);

    const second = await startPlatform({ dataDir, workers: 1 });
    try {
      const deadline = Date.now() + 60_000;
      for (const callId of bodies.keys()) await receiver.waitFor(callId, 1, Math.max(1, deadline - Date.now()));
      let extraAttempts = 0;
      for (const [callId, body] of bodies) {
        const status = (await (await second.api(`/system/async/${callId}`)).json()) as Status;
        expect(status.state).toBe("succeeded");
        expect(status.result).toBe(body);
        extraAttempts += status.attempts - 1;
        const deliveries = receiver.of(callId);
        expect(deliveries.every((d) => d.body.toString() === body)).toBe(true);
        // Every delivery was counted before it was made: a repeat is always visible.
        const callbackAttempts = status.callback?.attempts ?? 0;
        expect(deliveries.length).toBeLessThanOrEqual(Math.max(callbackAttempts, 1));
      }
      // Concurrency 1: at most the one call running at the kill ran twice.
      expect(extraAttempts).toBeLessThanOrEqual(1);
    } finally {
      await second.dispose();
      await receiver.close();
    }
  });
});
