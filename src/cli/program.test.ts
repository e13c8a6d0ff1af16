import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCaptured } from "./run-captured.js";

/** The CLI in-process from the test's config directory (run-captured.ts). */
function run(argv: string[], env: Record<string, string> = {}, input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCaptured(argv, configDir, env, input);
}

/** A local port nobody listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

let configDir: string;
beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), "tfaas-cli-"));
});
afterAll(async () => {
  await rm(configDir, { recursive: true, force: true });
});

describe("tfaas command line", () => {
  it("prints help for every command and exits 0", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["up", "login", "new", "build", "deploy", "invoke", "list|ls", "describe", "remove|rm", "logs", "secret", "version"]) {
      expect(top.stdout).toContain(`  ${command} `);
    }
    const deploy = await run(["deploy", "--help"]);
    expect(deploy.stdout).toContain("--memory-limit <quantity>");
    expect(deploy.stdout).toContain("provider.gateway in the stack file");
    expect((await run(["secret", "create", "--help"])).stdout).toContain("--from-file <path>");
  });

  it("prints the client's version from package.json", async () => {
    const { code, stdout } = await run(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("reports an unreachable gateway in one line naming its URL, exit code 1", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, stdout, stderr } = await run(["list", "--gateway", `${url}/`]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toBe(`tfaas: Cannot list functions: the gateway at ${url} is unreachable (ECONNREFUSED)\n`);
  });

  it("takes the gateway from the environment when no flag is given", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { stderr } = await run(["secret", "list"], { OPENFAAS_URL: url });
    expect(stderr).toBe(`tfaas: Cannot list secrets: the gateway at ${url} is unreachable (ECONNREFUSED)\n`);
  });

  it("reports usage errors as one tfaas line with exit code 1", async () => {
    const unknown = await run(["list", "--nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^tfaas: unknown option '--nope'\n/);
    const missing = await run(["new", "hello"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--lang <lang>");
    const badPort = await run(["up", "--port", "99999"]);
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toContain("expected 0 to 65535");
  });

  it("refuses to log in without a password, before any request", async () => {
    const { code, stderr } = await run(["login", "--gateway", "http://127.0.0.1:1"]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^tfaas: Cannot log in: no password given; pass --password-stdin/);
  });

  it("refuses to mix a stack file with --name/--image", async () => {
    const { code, stderr } = await run(["deploy", "-f", "stack.yml", "--name", "hello", "--image", "hello.wasm"]);
    expect(code).toBe(1);
    expect(stderr).toContain("exclude -f and --filter");
  });

  it("names a missing stack file", async () => {
    const { code, stderr } = await run(["deploy"]);
    expect(code).toBe(1);
    expect(stderr).toBe(`tfaas: Cannot read stack file ${join(configDir, "stack.yml")}: file not found\n`);
  });

  it("reads a secret's value from stdin and refuses an empty one before any request", async () => {
    const { code, stderr } = await run(["secret", "create", "api-key", "-g", "http://127.0.0.1:1"], {}, "  \n");
    expect(code).toBe(1);
    expect(stderr).toBe("tfaas: Cannot create secret api-key: the value is empty\n");
  });
});
