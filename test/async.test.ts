/** Asynchronous invocations through real HTTP: queue, callbacks to a real loopback receiver, retries, status, cancellation, limits. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "./async-receiver.js";
import { deploy, startPlatform, watFixture, type Platform } from "./harness.js";

const MAX_DEPTH = 20;
const MAX_BODY = 64 * 1024;
let platform: Platform;
let receiver: Receiver;

beforeAll(async () => {
  [platform, receiver] = await Promise.all([
    startPlatform({
      env: {
        TFAAS_ASYNC_MAX_DEPTH: String(MAX_DEPTH),
        TFAAS_MAX_REQUEST_BYTES: String(MAX_BODY),
        TFAAS_ASYNC_RETRY_BASE: "20ms",
        TFAAS_ASYNC_RETRY_MAX: "100ms",
        TFAAS_ASYNC_CALLBACK_ATTEMPTS: "3",
        TFAAS_ASYNC_CALLBACK_DENY: "link-local,reserved,127.0.0.2/32",
      },
    }),
    startReceiver(),
  ]);
  await Promise.all([
    deploy(platform, "echo", await watFixture("echo")),
    deploy(platform, "third-time", await watFixture("async-attempt")),
    deploy(platform, "trap", await watFixture("trap")),
    // Raised fuel budget: a long spin must outlast polling even once V8 has optimized the loop.
    deploy(platform, "slow", await watFixture("async-slow"), { annotations: { "com.tfaas.limits.fuel": "100000000000" } }),
  ]);
});
afterAll(async () => {
  await platform?.dispose();
  await receiver?.close();
});

interface Status {
  callId: string;
  function: string;
  state: string;
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  statusCode?: number;
  callback?: { url: string; state: string; attempts: number; lastError?: string };
  result?: string;
  resultEncoding?: string;
}

async function enqueue(name: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${platform.url}/async-function/${name}`, { method: "POST", body, headers });
  if (res.status !== 202) throw new Error(`enqueue failed: ${res.status} ${await res.text()}`);
  return res.headers.get("x-call-id")!;
}

async function status(callId: string): Promise<Status> {
  const res = await platform.api(`/system/async/${callId}`);
  if (res.status !== 200) throw new Error(`status failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Status;
}

async function finished(callId: string, ms = 15_000): Promise<Status> {
  const deadline = Date.now() + ms;
  for (;;) {
    const current = await status(callId);
    if (current.finishedAt !== undefined) return current;
    if (Date.now() > deadline) throw new Error(`call ${callId} still ${current.state} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("POST /async-function/{name}", () => {
  it("answers 202 with a call id, runs the call and posts the result to the callback with every header", async () => {
    const res = await fetch(`${platform.url}/async-function/echo/sub/path?x=1`, {
      method: "POST",
      body: "hello async",
      headers: { "x-callback-url": `${receiver.url}/done?token=t`, "x-call-id": "client-chosen-1" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("x-call-id")).toBe("client-chosen-1");
    expect(await res.text()).toBe("");
    const [delivery] = await receiver.waitFor("client-chosen-1");
    expect(delivery!.path).toBe("/done?token=t");
    expect(delivery!.body.toString()).toBe("hello async");
    expect(delivery!.headers["x-function-status"]).toBe("200");
    expect(delivery!.headers["x-function-name"]).toBe("echo");
    expect(Number(delivery!.headers["x-duration-seconds"])).toBeGreaterThan(0);
    const done = await finished("client-chosen-1");
    expect(done).toMatchObject({ function: "echo", state: "succeeded", attempts: 1, statusCode: 200, result: "hello async", resultEncoding: "utf8" });
    expect(Date.parse(done.createdAt)).toBeLessThanOrEqual(Date.parse(done.startedAt!));
    expect(Date.parse(done.startedAt!)).toBeLessThanOrEqual(Date.parse(done.finishedAt!));
    const deadline = Date.now() + 5000;
    while ((await status("client-chosen-1")).callback?.state !== "delivered" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect((await status("client-chosen-1")).callback).toEqual({ url: `${receiver.url}/done?token=t`, state: "delivered", attempts: 1 });
  });

  it("refuses a taken call id with 409", async () => {
    const res = await fetch(`${platform.url}/async-function/echo`, { method: "POST", body: "again", headers: { "x-call-id": "client-chosen-1" } });
    expect(res.status).toBe(409);
  });

  it("413s a body over the request limit, as synchronous calls do, queueing nothing", async () => {
    const res = await fetch(`${platform.url}/async-function/echo`, { method: "POST", body: "x".repeat(MAX_BODY + 1), headers: { "x-call-id": "too-big" } });
    expect(res.status).toBe(413);
    expect((await platform.api("/system/async/too-big")).status).toBe(404);
  });

  it("404s an unknown function (OpenFaaS would answer 202) and 405s other methods", async () => {
    const missing = await fetch(`${platform.url}/async-function/nope`, { method: "POST", body: "x" });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-tfaas-error")).toBe("function-not-found");
    for (const method of ["GET", "PUT", "PATCH"]) {
      const res = await fetch(`${platform.url}/async-function/echo`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST, DELETE");
    }
  });

  it("400s a malformed X-Callback-Url and one the callback policy refuses, queueing nothing", async () => {
    const cases: Array<[string, RegExp]> = [
      ["not a url", /not an absolute URL/],
      ["ftp://127.0.0.1/x", /scheme is ftp/],
      ["http://user:pw@127.0.0.1/", /credentials/],
      ["http://169.254.169.254/latest/meta-data", /denied range/],
      ["http://127.0.0.2:9/", /denied range/],
    ];
    for (const [url, message] of cases) {
      const res = await fetch(`${platform.url}/async-function/echo`, { method: "POST", body: "x", headers: { "x-callback-url": url, "x-call-id": "bad-cb" } });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    expect((await platform.api("/system/async/bad-cb")).status).toBe(404);
  });

  it("records a callback that keeps failing, with its attempts and last error", async () => {
    const callId = await enqueue("echo", "to a failing receiver", { "x-callback-url": `${receiver.url}/fail` });
    await receiver.waitFor(callId, 3);
    const deadline = Date.now() + 5000;
    let current = await status(callId);
    while (current.callback?.state !== "failed" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      current = await status(callId);
    }
    expect(current.state).toBe("succeeded");
    expect(current.callback).toMatchObject({ state: "failed", attempts: 3, lastError: "the receiver answered 500" });
    expect(receiver.of(callId)).toHaveLength(3);
  });
});

describe("retries", () => {
  it("retries a function failing twice until it succeeds, telling it the attempt", async () => {
    const callId = await enqueue("third-time", "finally", { "x-callback-url": `${receiver.url}/retried` });
    const done = await finished(callId);
    expect(done).toMatchObject({ state: "succeeded", attempts: 3, statusCode: 200, result: "finally" });
    const [delivery] = await receiver.waitFor(callId);
    expect(delivery!.headers["x-function-status"]).toBe("200");
  });

  it("fails a call that keeps failing after the maximum attempts, keeping the last status and error", async () => {
    const callId = await enqueue("trap", "");
    const done = await finished(callId);
    expect(done).toMatchObject({ state: "failed", attempts: 3, statusCode: 500 });
    expect(done.result).toMatch(/trap|unreachable/i);
  });
});

describe("status, cancellation and backpressure", () => {
  it("moves a call through queued → running → succeeded, and cancels only queued calls", async () => {
    const first = await enqueue("slow", "4000 first");
    const second = await enqueue("slow", "4000 second");
    const third = await enqueue("slow", "1 third");
    const seen: string[] = [];
    let cancelled = false;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const state = (await status(second)).state;
      if (seen.at(-1) !== state) seen.push(state);
      if (!cancelled && state === "queued" && (await status(first)).state === "running") {
        cancelled = true;
        const conflict = await platform.api(`/async-function/${first}`, { method: "DELETE" });
        expect(conflict.status).toBe(409);
        expect(await conflict.text()).toMatch(/current state is running/);
        expect((await platform.api(`/async-function/${third}`, { method: "DELETE" })).status).toBe(202);
      }
      if (state === "succeeded") break;
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(seen).toEqual(["queued", "running", "succeeded"]);
    expect(await status(third)).toMatchObject({ state: "cancelled", attempts: 0 });
    expect((await platform.api(`/async-function/${third}`, { method: "DELETE" })).status).toBe(409);
    const done = await platform.api(`/async-function/${second}`, { method: "DELETE" });
    expect(done.status).toBe(409);
    expect(await done.text()).toMatch(/current state is succeeded/);
  });

  it("404s cancelling or reading an unknown call and demands credentials for both", async () => {
    expect((await platform.api("/async-function/no-such-call", { method: "DELETE" })).status).toBe(404);
    expect((await platform.api("/system/async/no-such-call")).status).toBe(404);
    expect((await fetch(`${platform.url}/async-function/no-such-call`, { method: "DELETE" })).status).toBe(401);
    expect((await fetch(`${platform.url}/system/async/no-such-call`)).status).toBe(401);
  });

  it("refuses calls beyond the maximum queue depth with 429 and a clear message", async () => {
    // Long enough (seconds) that the queue cannot drain while the burst is answered, even on a loaded machine.
    const blocker = await enqueue("slow", "20000 blocker");
    while ((await status(blocker)).state !== "running") await new Promise((r) => setTimeout(r, 10));
    const answers = await Promise.all(
      Array.from({ length: MAX_DEPTH + 5 }, (_, i) => fetch(`${platform.url}/async-function/slow`, { method: "POST", body: `0 filler ${i}` })),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(MAX_DEPTH);
    const refused = answers.filter((res) => res.status === 429);
    expect(refused).toHaveLength(5);
    expect(await refused[0]!.text()).toMatch(/queue is full \(20 calls queued\)/);
    const metrics = await (await fetch(`${platform.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^tfaas_async_queue_depth ${MAX_DEPTH}$`, "m"));
    expect(metrics).toMatch(/^tfaas_async_running 1$/m);
    // Leave the queue empty for whoever runs next.
    for (const res of answers.filter((r) => r.status === 202)) {
      await platform.api(`/async-function/${res.headers.get("x-call-id")}`, { method: "DELETE" });
    }
    await platform.api(`/async-function/${blocker}`, { method: "DELETE" });
  });
});
