/** The OpenFaaS REST API through real HTTP: routes, status codes and round-trips faas-cli depends on. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploy, startPlatform, watFixture, type Platform } from "./harness.js";

let platform: Platform;
let echo: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  platform = await startPlatform();
  echo = await watFixture("echo");
});
afterAll(async () => platform?.dispose());

const json = (value: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(value) });

describe("open routes and auth", () => {
  it("serves /healthz without credentials", async () => {
    const res = await fetch(platform.url + "/healthz");
    expect(res.status).toBe(200);
  });

  it("challenges /system/* without or with wrong credentials", async () => {
    for (const headers of [{}, { authorization: "Basic " + Buffer.from("admin:wrong").toString("base64") }]) {
      const res = await fetch(platform.url + "/system/functions", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="Restricted"');
    }
  });

  it("answers /system/info and /system/namespaces", async () => {
    const info = (await (await platform.api("/system/info")).json()) as {
      provider: { provider: string; orchestration: string; version: { release: string; sha: string } };
      version: { release: string; sha: string };
    };
    expect(info.provider.provider).toBe("tfaas");
    expect(info.provider.orchestration).toBe("embedded");
    expect(info.version.release).not.toBe("");
    expect(info.version.sha).not.toBe("");
    expect(info.provider.version.sha).not.toBe("");
    expect(await (await platform.api("/system/namespaces")).json()).toEqual(["openfaas-fn"]);
  });

  it("404s unknown paths and 405s known paths with a wrong method", async () => {
    expect((await platform.api("/system/nope")).status).toBe(404);
    const res = await platform.api("/system/functions", { method: "PATCH" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
    expect((await platform.api("/system/info", { method: "POST" })).status).toBe(405);
  });
});

describe("artifacts", () => {
  it("stores code by digest, deduplicated", async () => {
    const first = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: echo });
    expect(first.status).toBe(201);
    const a = (await first.json()) as { digest: string; size: number; kind: string };
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.size).toBe(echo.byteLength);
    expect(a.kind).toBe("wasm");
    const again = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: echo });
    expect(((await again.json()) as { digest: string }).digest).toBe(a.digest);
    const meta = await platform.api(`/system/artifacts/${a.digest}`);
    expect(meta.status).toBe(200);
  });

  it("rejects invalid WebAssembly with the reason", async () => {
    const res = await platform.api("/system/artifacts", {
      method: "POST",
      headers: { "content-type": "application/wasm" },
      body: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 99]),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/invalid WebAssembly/);
  });

  it("rejects an unknown media type", async () => {
    const res = await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
    expect(res.status).toBe(415);
  });
});

describe("functions lifecycle", () => {
  it("lists nothing as []", async () => {
    const fresh = await startPlatform({ workers: 1 });
    try {
      const res = await fresh.api("/system/functions");
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("[]");
    } finally {
      await fresh.dispose();
    }
  });

  it("round-trips every FunctionDeployment field exactly", async () => {
    const bigAnnotation = "line one\nline two: with colon\n" + "x".repeat(20_000);
    const digest = await deploy(platform, "roundtrip", echo, {
      envProcess: "ignored-by-wasm",
      envVars: { A: "1", B: "two words" },
      labels: { team: "blue", "com.openfaas.scale.min": "1" },
      annotations: { note: bigAnnotation, "com.tfaas.abi": "stdio" },
      constraints: ["node.platform.os == linux"],
      limits: { memory: "64Mi", cpu: "500m" },
      requests: { memory: "16Mi", cpu: "100m" },
      readOnlyRootFilesystem: true,
    });
    const res = await platform.api("/system/function/roundtrip");
    expect(res.status).toBe(200);
    const status = (await res.json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      name: "roundtrip",
      namespace: "openfaas-fn",
      image: digest,
      envProcess: "ignored-by-wasm",
      envVars: { A: "1", B: "two words" },
      labels: { team: "blue", "com.openfaas.scale.min": "1", faas_function: "roundtrip" },
      annotations: { note: bigAnnotation, "com.tfaas.abi": "stdio" },
      constraints: ["node.platform.os == linux"],
      limits: { memory: "64Mi", cpu: "500m" },
      requests: { memory: "16Mi", cpu: "100m" },
      readOnlyRootFilesystem: true,
      replicas: 1,
    });
    expect(new Date(status.createdAt as string).toISOString()).toBe(status.createdAt);
    const list = (await (await platform.api("/system/functions")).json()) as Array<{ name: string }>;
    expect(list.map((f) => f.name)).toContain("roundtrip");
  });

  it("follows faas-cli's update flow: PUT unknown → 404, POST → 202, PUT → 202", async () => {
    const upload = (await (
      await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: echo })
    ).json()) as { digest: string };
    const body = { service: "flow", image: upload.digest };
    expect((await platform.api("/system/functions", { ...json(body), method: "PUT" })).status).toBe(404);
    expect((await platform.api("/system/functions", json(body))).status).toBe(202);
    const created = ((await (await platform.api("/system/function/flow")).json()) as { createdAt: string }).createdAt;
    expect((await platform.api("/system/functions", { ...json({ ...body, envVars: { V: "2" } }), method: "PUT" })).status).toBe(202);
    const updated = (await (await platform.api("/system/function/flow")).json()) as { createdAt: string; envVars: Record<string, string> };
    expect(updated.envVars).toEqual({ V: "2" });
    expect(updated.createdAt).toBe(created);
  });

  it("rejects bad deployments with 400 and a precise message", async () => {
    const digest = (await (
      await platform.api("/system/artifacts", { method: "POST", headers: { "content-type": "application/wasm" }, body: echo })
    ).json()) as { digest: string };
    const cases: Array<[unknown, RegExp]> = [
      [{ service: "Bad_Name", image: digest.digest }, /DNS-1123/],
      [{ service: "nocode", image: "sha256:" + "0".repeat(64) }, /never uploaded/],
      [{ service: "docker", image: "ghcr.io/openfaas/figlet:latest" }, /uploaded artifact/],
      [{ service: "nosecret", image: digest.digest, secrets: ["missing"] }, /secret missing does not exist/],
      [{ service: "badmem", image: digest.digest, limits: { memory: "lots" } }, /limits.memory/],
      [{ service: "badabi", image: digest.digest, annotations: { "com.tfaas.abi": "grpc" } }, /com.tfaas.abi/],
      [{ service: "badns", image: digest.digest, namespace: "other" }, /namespace/],
      [{ image: digest.digest }, /service/],
    ];
    for (const [body, message] of cases) {
      const res = await platform.api("/system/functions", json(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await res.text()).toMatch(message);
    }
    const malformed = await platform.api("/system/functions", { method: "POST", body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toMatch(/not valid JSON/);
  });

  it("forgets a removed function's logs, even lines still buffered when it was removed", async () => {
    const trap = await watFixture("trap");
    await deploy(platform, "reborn", trap);
    expect((await fetch(platform.url + "/function/reborn", { method: "POST" })).status).toBe(500);
    // Removed and redeployed within the log writer's batching window.
    const del = await platform.api("/system/functions", { ...json({ functionName: "reborn" }), method: "DELETE" });
    expect(del.status).toBe(202);
    await deploy(platform, "reborn", trap);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await (await platform.api("/system/logs?name=reborn")).text()).toBe("");
  });

  it("deletes with 202, unknown with 404, {} with 400", async () => {
    await deploy(platform, "doomed", echo);
    const del = (body: unknown) => platform.api("/system/functions", { ...json(body), method: "DELETE" });
    expect((await del({ functionName: "doomed" })).status).toBe(202);
    expect((await del({ functionName: "doomed" })).status).toBe(404);
    expect((await del({})).status).toBe(400);
    expect((await platform.api("/system/function/doomed")).status).toBe(404);
    expect((await fetch(platform.url + "/function/doomed")).status).toBe(404);
  });

  it("scales to zero and cold-starts on the next call", async () => {
    await deploy(platform, "scaler", echo);
    const scale = (replicas: number) => platform.api("/system/scale-function/scaler", json({ serviceName: "scaler", replicas }));
    expect((await scale(0)).status).toBe(202);
    let status = (await (await platform.api("/system/function/scaler")).json()) as { replicas: number; availableReplicas: number };
    expect(status.replicas).toBe(0);
    expect(status.availableReplicas).toBe(0);
    const call = await fetch(platform.url + "/function/scaler", { method: "POST", body: "wake" });
    expect(call.status).toBe(200);
    expect(await call.text()).toBe("wake");
    status = (await (await platform.api("/system/function/scaler")).json()) as { replicas: number; availableReplicas: number };
    expect(status.replicas).toBe(1);
    expect((await scale(2)).status).toBe(202);
    status = (await (await platform.api("/system/function/scaler")).json()) as { replicas: number; availableReplicas: number };
    expect(status.replicas).toBe(2);
    expect(status.availableReplicas).toBe(2);
    expect((await platform.api("/system/scale-function/nobody", json({ replicas: 1 }))).status).toBe(404);
  });

  it("honours com.openfaas.scale.min and max", async () => {
    await deploy(platform, "bounded", echo, { labels: { "com.openfaas.scale.min": "1", "com.openfaas.scale.max": "1" } });
    await platform.api("/system/scale-function/bounded", json({ replicas: 0 }));
    expect(((await (await platform.api("/system/function/bounded")).json()) as { replicas: number }).replicas).toBe(1);
    await platform.api("/system/scale-function/bounded", json({ replicas: 5 }));
    expect(((await (await platform.api("/system/function/bounded")).json()) as { replicas: number }).replicas).toBe(1);
  });
});

describe("secrets", () => {
  it("creates (201), refuses duplicates (409), lists names only, updates, deletes (202), 404s unknown", async () => {
    expect((await platform.api("/system/secrets", json({ name: "db-password", value: "s3cret" }))).status).toBe(201);
    expect((await platform.api("/system/secrets", json({ name: "db-password", value: "again" }))).status).toBe(409);
    const list = await (await platform.api("/system/secrets")).text();
    expect(JSON.parse(list)).toContainEqual({ name: "db-password", namespace: "openfaas-fn" });
    expect(list).not.toContain("s3cret");
    expect((await platform.api("/system/secrets", { ...json({ name: "db-password", value: "new" }), method: "PUT" })).status).toBe(202);
    expect((await platform.api("/system/secrets", { ...json({ name: "nope", value: "x" }), method: "PUT" })).status).toBe(404);
    const del = await platform.api("/system/secrets", { ...json({ name: "db-password" }), method: "DELETE" });
    expect([200, 202]).toContain(del.status);
    expect((await platform.api("/system/secrets", { ...json({ name: "db-password" }), method: "DELETE" })).status).toBe(404);
    expect((await platform.api("/system/secrets", json({ name: "Bad Name", value: "x" }))).status).toBe(400);
  });
});

describe("invocation headers", () => {
  it("keeps a client's X-Call-Id and adds X-Start-Time and X-Duration-Seconds", async () => {
    await deploy(platform, "headers", echo);
    const res = await fetch(platform.url + "/function/headers/some/path?x=1", { method: "PUT", headers: { "x-call-id": "my-call-1" }, body: "b" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-call-id")).toBe("my-call-1");
    expect(res.headers.get("x-start-time")).toMatch(/^\d{19}$/);
    expect(Number(res.headers.get("x-duration-seconds"))).toBeGreaterThan(0);
    const generated = await fetch(platform.url + "/function/headers.openfaas-fn", { method: "POST", body: "x" });
    expect(generated.headers.get("x-call-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await generated.text()).toBe("x");
  });

  it("404s an unknown function and a foreign namespace", async () => {
    expect((await fetch(platform.url + "/function/ghost")).status).toBe(404);
    expect((await fetch(platform.url + "/function/headers.elsewhere")).status).toBe(404);
  });
});
