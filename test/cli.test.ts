/** The tfaas CLI end to end: the real binary against a real platform, as a user drives it. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tfaas, type Run } from "./cli-runner.js";
import { hasClang, repoRoot, startPlatform, watFixture, type Platform } from "./harness.js";

let platform: Platform;
let work: string;

beforeAll(async () => {
  platform = await startPlatform({ workers: 1 });
  work = mkdtempSync(path.join(os.tmpdir(), "tfaas-cli-"));
});
afterAll(async () => {
  await platform?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The CLI from `work`, logged out: credentials come only from `tfaas login` or `options.env`. */
function cli(args: string[], options: { stdin?: string | Uint8Array; env?: Record<string, string> } = {}): Promise<Run> {
  return tfaas(platform, work, args, { ...options, env: { TFAAS_USER: "", TFAAS_PASSWORD: "", ...options.env } });
}

describe("tfaas CLI", () => {
  it("refuses /system commands before login, with one clear line", async () => {
    const run = await cli(["list"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/login/);
  });

  it("logs in, and rejects a wrong password", async () => {
    const bad = await cli(["login", "-u", platform.user, "--password-stdin"], { stdin: "wrong\n" });
    expect(bad.code).toBe(1);
    const good = await cli(["login", "-u", platform.user, "--password-stdin"], { stdin: platform.password + "\n" });
    expect(good.code, good.stderr).toBe(0);
    expect(readFileSync(path.join(work, ".config", "config.json"), "utf8")).toContain(platform.url);
  });

  it("creates, builds, deploys and invokes an AssemblyScript function", async () => {
    const created = await cli(["new", "hello", "--lang", "assemblyscript"]);
    expect(created.code, created.stderr).toBe(0);
    const built = await cli(["build"]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr + built.stdout).toMatch(/Built hello/);
    const deployed = await cli(["deploy"]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout + deployed.stderr).toMatch(/hello/);
    const invoked = await cli(["invoke", "hello"], { stdin: "hi from the cli" });
    expect(invoked.code, invoked.stderr).toBe(0);
    expect(invoked.stdout).toBe("hi from the cli");
  }, 120_000);

  it("lists and describes functions, as a table and as JSON", async () => {
    const table = await cli(["list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/hello/);
    const list = JSON.parse((await cli(["list", "--json"])).stdout) as Array<{ name: string; invocationCount: number }>;
    expect(list.find((f) => f.name === "hello")?.invocationCount).toBe(1);
    const described = JSON.parse((await cli(["describe", "hello", "--json"])).stdout) as { name: string; image: string };
    expect(described.name).toBe("hello");
    expect(described.image).toMatch(/^sha256:/);
  });

  it("deploys from flags with a .wasm file, env, labels and a secret", async () => {
    const file = path.join(work, "echo.wasm");
    writeFileSync(file, await watFixture("echo"));
    const secret = await cli(["secret", "create", "token", "--from-literal", "t0k3n"]);
    expect(secret.code, secret.stderr).toBe(0);
    const duplicate = await cli(["secret", "create", "token", "--from-literal", "again"]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/409|exists/);
    const listed = await cli(["secret", "list"]);
    expect(listed.stdout).toMatch(/token/);
    expect(listed.stdout).not.toMatch(/t0k3n/);
    const run = await cli(["deploy", "--name", "flags", "--image", file, "--env", "A=1", "--label", "team=x", "--secret", "token"]);
    expect(run.code, run.stderr).toBe(0);
    const status = (await (await platform.api("/system/function/flags")).json()) as { envVars: object; labels: object; secrets: string[] };
    expect(status.envVars).toEqual({ A: "1" });
    expect(status.labels).toMatchObject({ team: "x" });
    expect(status.secrets).toEqual(["token"]);
    const invoked = await cli(["invoke", "flags", "--method", "PUT", "--query", "a=b", "-H", "X-Thing=1"], { stdin: "body" });
    expect(invoked.stdout).toBe("body");
  });

  it("reports a failing call as an error with exit code 1", async () => {
    const file = path.join(work, "trap.wasm");
    writeFileSync(file, await watFixture("trap"));
    expect((await cli(["deploy", "--name", "trapper", "--image", file])).code).toBe(0);
    const run = await cli(["invoke", "trapper"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/500/);
    const logs = await cli(["logs", "trapper", "--tail", "5"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/about to trap/);
  });

  it("removes functions and secrets, and says so for unknown ones", async () => {
    expect((await cli(["remove", "trapper"])).code).toBe(0);
    const again = await cli(["remove", "trapper"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/404|not found|does not exist/i);
    expect((await cli(["remove", "flags"])).code).toBe(0);
    expect((await cli(["secret", "remove", "token"])).code).toBe(0);
  });

  it("prints client and gateway versions", async () => {
    const run = await cli(["version", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/tfaas/);
  });

  it("names the gateway it cannot reach", async () => {
    const run = await cli(["list"], { env: { TFAAS_GATEWAY: "http://127.0.0.1:9" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("http://127.0.0.1:9");
  });
});

describe.skipIf(!hasClang)("the examples (C ones need Debian's clang for wasm32-wasi)", () => {
  it("deploys each example with one command and gets its documented answer", async () => {
    const stack = path.join(repoRoot, "examples", "stack.yml");
    const env = { TFAAS_GATEWAY: platform.url };
    expect((await cli(["secret", "create", "greeting", "--from-literal", "Good evening"])).code).toBe(0);
    for (const name of ["echo-as", "hello-c", "wagi-c"]) {
      const run = await cli(["deploy", "-f", stack, "--filter", name], { env });
      expect(run.code, run.stderr).toBe(0);
    }
    const echo = await fetch(`${platform.url}/function/echo-as`, { method: "POST", body: "hello, wasm" });
    expect(await echo.text()).toBe("hello, wasm");
    const hello = await fetch(`${platform.url}/function/hello-c`, { method: "POST", body: "hi" });
    expect(await hello.text()).toMatch(/^Good evening, TFaaS user!.*POST \/, you sent 2 bytes/);
    const wagi = await fetch(`${platform.url}/function/wagi-c/things?colour=blue`);
    expect(wagi.status).toBe(201);
    expect(wagi.headers.get("content-type")).toBe("application/json");
    expect(await wagi.json()).toEqual({ method: "GET", path: "/things", query: "colour=blue" });
  }, 120_000);
});
