/** Functions running in workers: ABI, secrets, logs, metrics, limits and hostile code, through real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { cFixture, deploy, hasClang, startPlatform, watFixture, type Platform } from "./harness.js";

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({ workers: 2, env: { TFAAS_MAX_REQUEST_BYTES: String(1024 * 1024), TFAAS_MAX_OUTPUT_BYTES: String(1024 * 1024) } });
  await deploy(platform, "echo", await watFixture("echo"));
});
afterAll(async () => platform?.dispose());

const invoke = (name: string, init: RequestInit = {}) => fetch(`${platform.url}/function/${name}`, { method: "POST", ...init });

async function expectEchoServed(): Promise<void> {
  const res = await invoke("echo", { body: "still here" });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe("still here");
}

async function logText(name: string, query = ""): Promise<string> {
  const res = await platform.api(`/system/logs?name=${name}${query}`);
  expect(res.status).toBe(200);
  return res.text();
}

describe("the stdio ABI", () => {
  it("echoes the body, binary-safe", async () => {
    const body = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    const res = await invoke("echo", { body });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(body);
  });

  it("rejects a body over the limit with 413 and keeps serving", async () => {
    const res = await invoke("echo", { body: new Uint8Array(1024 * 1024 + 1) });
    expect(res.status).toBe(413);
    await expectEchoServed();
  });

  it("turns a trap into 500 with the error in the function's logs", async () => {
    await deploy(platform, "trap", await watFixture("trap"));
    const res = await invoke("trap");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-tfaas-error")).toBe("function-failed");
    const logs = await logText("trap");
    expect(logs).toContain("about to trap");
    expect(logs).toMatch(/unreachable/);
    for (const line of logs.trim().split("\n")) {
      expect(Object.keys(JSON.parse(line)).sort()).toEqual(["instance", "name", "namespace", "text", "timestamp"]);
    }
  });
});

describe.skipIf(!hasClang)("request metadata, env and secrets (C fixture; needs Debian's clang for wasm32-wasi)", () => {
  it("sees CGI and watchdog names, envVars and its secret, and nothing of the host", async () => {
    await platform.api("/system/secrets", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "api-key", value: "k-123" }),
    });
    await deploy(platform, "probe", cFixture("probe"), { envVars: { GREETING: "hi" }, secrets: ["api-key"] });
    const res = await fetch(`${platform.url}/function/probe/a/b?x=1&y=2`, { method: "PATCH", headers: { "x-probe": "yes" }, body: "abc" });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("method=PATCH path=/a/b query=x=1&y=2");
    expect(text).toContain("cgi=PATCH /a/b x=1&y=2");
    expect(text).toContain("header=yes");
    expect(text).toContain("greeting=hi");
    expect(text).toContain("secret=k-123");
    expect(text).toContain("write=refused");
    expect(text).toContain("passwd=unreadable");
    expect(text).toContain("escape=unreadable");
    expect(text).toContain("HOME=(unset) PATH=(unset)");
    expect(await logText("probe")).toContain("probe ran");
  });

  it("sees an updated secret on the next call", async () => {
    await platform.api("/system/secrets", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "api-key", value: "k-456" }),
    });
    expect(await (await invoke("probe")).text()).toContain("secret=k-456");
  });
});

describe("hostile functions are contained", () => {
  // Fuel would stop the loop first on a fast machine (the default budget is spent in about a
  // second): these tests are about the wall clock and crashes, so the loop gets fuel for days.
  const unmetered = { "com.tfaas.limits.fuel": "1000000000000000" };

  it("stops an infinite loop at exec_timeout with 504 while others are served", async () => {
    await deploy(platform, "loop", await watFixture("loop"), { envVars: { exec_timeout: "1s" }, annotations: unmetered });
    const started = Date.now();
    const looping = invoke("loop");
    await expectEchoServed();
    const res = await looping;
    expect(res.status).toBe(504);
    expect(res.headers.get("x-tfaas-error")).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(10_000);
    await expectEchoServed();
    expect(await logText("loop")).toMatch(/exec_timeout/);
  });

  it("caps linear memory at limits.memory", async () => {
    await deploy(platform, "grow", await watFixture("grow"), { limits: { memory: "1Mi" } });
    const res = await invoke("grow");
    expect(res.status).toBe(200);
    const pages = new DataView(await res.arrayBuffer()).getUint32(0, true);
    expect(pages).toBe(16);
    await expectEchoServed();
  });

  it("stops a flood of output at the cap", async () => {
    await deploy(platform, "flood", await watFixture("flood"));
    const res = await invoke("flood");
    expect(res.status).toBe(500);
    expect(res.headers.get("x-tfaas-error")).toBe("output-too-large");
    await expectEchoServed();
  });

  it("answers 429 beyond max_inflight", async () => {
    await deploy(platform, "narrow", await watFixture("loop"), { envVars: { max_inflight: "1", exec_timeout: "1500ms" }, annotations: unmetered });
    const first = invoke("narrow");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await invoke("narrow");
    expect(second.status).toBe(429);
    expect(await second.text()).toMatch(/max_inflight/);
    expect((await first).status).toBe(504);
  });

  it("fails only the in-flight call of a killed worker (502) and replaces the worker", async () => {
    await deploy(platform, "victim", await watFixture("loop"), { envVars: { exec_timeout: "20s" }, annotations: unmetered });
    // The worker an earlier test's timeout replaced may still be starting: wait for both.
    await waitFor(() => platform.workerPids().length === 2);
    const pidsBefore = platform.workerPids();
    const call = invoke("victim");
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The worker running the loop is the one burning CPU; kill both candidates' busy one by trying each.
    const busy = pidsBefore.find((pid) => cpuTicks(pid) > 5) ?? pidsBefore[0]!;
    process.kill(busy, "SIGKILL");
    const res = await call;
    expect(res.status).toBe(502);
    expect(res.headers.get("x-tfaas-error")).toBe("worker-crashed");
    await expectEchoServed();
    await waitFor(() => platform.workerPids().length === 2 && !platform.workerPids().includes(busy));
    const metrics = await (await fetch(platform.url + "/metrics")).text();
    expect(metrics).toMatch(/tfaas_worker_restarts_total\{instance="worker-\d"\} [1-9]/);
  });
});

describe("logs", () => {
  it("supports tail, since and follow", async () => {
    await deploy(platform, "chatty", await watFixture("trap"));
    for (let i = 0; i < 3; i++) await invoke("chatty");
    const all = (await logText("chatty")).trim().split("\n");
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect((await logText("chatty", "&tail=2")).trim().split("\n")).toHaveLength(2);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await logText("chatty", `&since=${encodeURIComponent(future)}`)).trim()).toBe("");

    const controller = new AbortController();
    const followed = await platform.api("/system/logs?name=chatty&tail=0&follow=true", { signal: controller.signal });
    expect(followed.status).toBe(200);
    const reader = followed.body!.getReader();
    await invoke("chatty");
    let text = "";
    while (!text.includes("about to trap")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain("about to trap");
    expect((await platform.api("/system/logs")).status).toBe(400);
    expect((await platform.api("/system/logs?name=ghost")).status).toBe(404);
  });
});

describe("metrics", () => {
  it("exports OpenFaaS' metric names per function", async () => {
    await invoke("echo", { body: "m" });
    const text = await (await fetch(platform.url + "/metrics")).text();
    expect(text).toMatch(/gateway_function_invocation_total\{function_name="echo\.openfaas-fn",code="200"\} [1-9]/);
    expect(text).toMatch(/gateway_function_invocation_started\{function_name="echo\.openfaas-fn"\} [1-9]/);
    expect(text).toMatch(/gateway_functions_seconds_bucket\{le="[^"]+",function_name="echo\.openfaas-fn",code="200"\}/);
    expect(text).toMatch(/gateway_service_count\{function_name="echo\.openfaas-fn"\} 1/);
    const status = (await (await platform.api("/system/function/echo")).json()) as { invocationCount: number };
    expect(status.invocationCount).toBeGreaterThan(0);
  });
});

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
