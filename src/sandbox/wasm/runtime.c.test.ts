import { beforeAll, describe, expect, it } from "vitest";
import { clangUnavailable, compileC } from "../../../test/fixtures/wasm/clang.js";
import type { InvocationContext, InvocationRequest, PreparedFunction } from "../index.js";
import { createWasmRuntime } from "./index.js";

const text = new TextEncoder();
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function request(path: string, query = "", body = "", headers: Record<string, string> = {}): InvocationRequest {
  return { method: "POST", path, query, headers, body: text.encode(body) };
}

const context: InvocationContext = {
  env: { greeting: "hello" },
  secrets: new Map([["api-key", text.encode("s3cret-value")]]),
  maxOutputBytes: 1024 * 1024,
  fuelLimit: undefined,
};

if (clangUnavailable !== undefined) console.warn(`Skipping C fixture tests: ${clangUnavailable}`);

describe.skipIf(clangUnavailable !== undefined)("wasm runtime with a C (wasi-libc) fixture", () => {
  let probe: PreparedFunction;
  beforeAll(async () => {
    probe = await createWasmRuntime().prepare(compileC("probe"), { abi: "stdio" });
  });

  it("echoes stdin to stdout", async () => {
    const body = "x".repeat(10_000) + "end";
    const result = await probe.invoke(request("/echo", "", body), context);
    expect(result.status).toBe(200);
    expect(decode(result.body)).toBe(body);
  });

  it("sees CGI, watchdog and envVars names but nothing of the host environment", async () => {
    process.env["TFAAS_HOST_ONLY"] = "leak";
    const names = "REQUEST_METHOD,PATH_INFO,HTTP_X_CALL_ID,Http_X_Call_Id,Http_Method,greeting,PATH,HOME,TFAAS_HOST_ONLY";
    const result = await probe.invoke(request("/env", names, "", { "x-call-id": "abc" }), context);
    expect(decode(result.body)).toBe(
      [
        "REQUEST_METHOD=POST",
        "PATH_INFO=/env",
        "HTTP_X_CALL_ID=abc",
        "Http_X_Call_Id=abc",
        "Http_Method=POST",
        "greeting=hello",
        "PATH unset",
        "HOME unset",
        "TFAAS_HOST_ONLY unset",
        "",
      ].join("\n"),
    );
  });

  it("reads a secret with fopen at /var/openfaas/secrets/<name>", async () => {
    const result = await probe.invoke(request("/read", "/var/openfaas/secrets/api-key"), context);
    expect(decode(result.body)).toBe("s3cret-value");
  });

  it("lists the secrets directory", async () => {
    const result = await probe.invoke(request("/list", "/var/openfaas/secrets"), context);
    expect(decode(result.body).split("\n").filter(Boolean).sort()).toEqual([".", "..", "api-key"]);
  });

  it("refuses writing, even over a secret", async () => {
    for (const path of ["/var/openfaas/secrets/api-key", "/tmp/new-file"]) {
      const result = await probe.invoke(request("/write", path), context);
      expect(decode(result.body)).toBe("error EROFS");
    }
  });

  it("does not reach host files", async () => {
    const result = await probe.invoke(request("/read", "/etc/passwd"), context);
    expect(decode(result.body)).toBe("error ENOENT");
  });

  it("contains '..' at the root", async () => {
    for (const path of ["/../etc/passwd", "/var/../../var/openfaas/secrets/api-key"]) {
      const result = await probe.invoke(request("/read", path), context);
      expect(decode(result.body)).toBe("error ENOTCAPABLE");
    }
  });

  it("maps a non-zero return from main to function-failed", async () => {
    const result = await probe.invoke(request("/exit", "7"), context);
    expect(result.status).toBe(500);
    expect(result.error?.code).toBe("function-failed");
    expect(result.error?.message).toBe("function exited with code 7");
  });

  it("collects stderr as the log", async () => {
    const result = await probe.invoke(request("/stderr"), context);
    expect(decode(result.body)).toBe("ok");
    expect(result.stderr).toBe("something to log\n");
  });

  it("turns a trap into function-failed", async () => {
    const result = await probe.invoke(request("/trap"), context);
    expect(result.status).toBe(500);
    expect(result.error?.code).toBe("function-failed");
    expect(result.stderr).toContain("unreachable");
  });
});
