/** JavaScript functions through the real platform: upload checks, both engines, containment of hostile code. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPlatform, watFixture, deploy, type Platform } from "./harness.js";

let platform: Platform;
const contract = new Uint8Array(readFileSync(new URL("../src/sandbox/js/fixtures/contract.js", import.meta.url)));

async function upload(code: string | Uint8Array<ArrayBuffer>, contentType = "application/javascript"): Promise<Response> {
  return platform.api("/system/artifacts", { method: "POST", headers: { "content-type": contentType }, body: code });
}

async function deployJs(service: string, code: string | Uint8Array<ArrayBuffer>, extra: Record<string, unknown> = {}): Promise<Response> {
  const uploaded = await upload(code);
  expect(uploaded.status).toBe(201);
  const { digest, kind } = (await uploaded.json()) as { digest: string; kind: string };
  expect(kind).toBe("javascript");
  return platform.api("/system/functions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ service, image: digest, ...extra }),
  });
}

const invoke = (name: string, path = "", init: RequestInit = {}) => fetch(`${platform.url}/function/${name}${path}`, { method: "POST", ...init });

beforeAll(async () => {
  platform = await startPlatform({ workers: 2 });
  await deploy(platform, "echo", await watFixture("echo"));
  for (const engine of ["quickjs", "v8"]) {
    const res = await deployJs(`contract-${engine}`, contract, {
      annotations: { "com.tfaas.engine": engine, "com.tfaas.limits.fuel": "300000000" },
      envVars: { greeting: "hello", exec_timeout: "2s" },
      limits: { memory: "64Mi" },
    });
    expect(res.status).toBe(202);
  }
}, 60_000);
afterAll(async () => platform?.dispose());

describe("JavaScript artifacts", () => {
  it("rejects a syntax error with its line and column", async () => {
    const res = await upload("export default {\n  fetch() { return new Response(1 +) }\n};\n");
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/line 2, column 36/);
  });

  it("rejects imports: a function is one module", async () => {
    const res = await upload('import fs from "node:fs";\nexport default { fetch() {} };\n');
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/imports "node:fs"/);
  });

  it("runs a function without the engine annotation in quickjs, the default (it reports fuel)", async () => {
    const res = await deployJs("default-engine", "export default { fetch() { return new Response(\"hi\"); } }");
    expect(res.status).toBe(202);
    const answer = await invoke("default-engine");
    expect([answer.status, await answer.text()]).toEqual([200, "hi"]);
    expect(Number(answer.headers.get("x-tfaas-fuel"))).toBeGreaterThan(0);
  });

  it("keeps the instrumented QuickJS engine in the data directory, once for every worker", () => {
    const files = readdirSync(path.join(platform.dataDir, "cache")).filter((name) => name.startsWith("quickjs-metered-"));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^quickjs-metered-[0-9a-f]{32}\.wasm$/);
  });

  it("refuses an unknown engine with 400", async () => {
    const res = await deployJs("bad-engine", contract, { annotations: { "com.tfaas.engine": "spidermonkey" } });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/com\.tfaas\.engine must be quickjs or v8/);
  });
});

describe.each(["quickjs", "v8"])("engine %s through HTTP", (engine) => {
  const name = `contract-${engine}`;

  it("serves requests with headers, status and body", async () => {
    const res = await invoke(name, "/echo?x=1", { method: "PUT", headers: { "x-echo": "yes" }, body: "payload" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-method")).toBe("PUT");
    expect(res.headers.get("x-query")).toBe("x=1");
    expect(res.headers.get("x-echo")).toBe("yes");
    expect(await res.text()).toBe("payload");
    if (engine === "quickjs") expect(Number(res.headers.get("x-tfaas-fuel"))).toBeGreaterThan(0);
  });

  it("logs a thrown error and answers 500", async () => {
    const res = await invoke(name, "/throw");
    expect(res.status).toBe(500);
    const logs = await (await platform.api(`/system/logs?name=${name}`)).text();
    expect(logs).toContain("boom-from-function");
  });

  it("contains an infinite loop and a memory bomb, and keeps serving", async () => {
    const loop = await invoke(name, "/loop");
    expect(loop.status).toBe(engine === "quickjs" ? 402 : 504);
    const bomb = await invoke(name, "/bomb");
    expect([402, 500, 502, 504]).toContain(bomb.status);
    expect(await (await invoke(name, "/env")).text()).toBe("hello|undefined");
    expect(await (await invoke("echo", "", { body: "still here" })).text()).toBe("still here");
  });
});
