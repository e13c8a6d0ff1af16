import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TfaasError } from "../shared/errors.js";
import { loadStack, parseStack } from "./stack.js";

const minimal = (body: string) => `version: 1.0\nprovider:\n  name: openfaas\n  gateway: http://gw.example:8080\nfunctions:\n${body}`;

function parseError(text: string): TfaasError {
  try {
    parseStack(text, "stack.yml");
  } catch (error) {
    expect(error).toBeInstanceOf(TfaasError);
    return error as TfaasError;
  }
  throw new Error("expected parseStack to fail");
}

describe("parseStack", () => {
  it("reads functions with their settings and the provider's gateway", () => {
    const stack = parseStack(
      minimal(`  hello:
    lang: assemblyscript
    handler: ./hello
    secrets: [api-key]
    limits:
      memory: 128Mi
  digest-fn:
    image: sha256:${"a".repeat(64)}
`),
      "stack.yml",
    );
    expect(stack.gateway).toBe("http://gw.example:8080");
    expect(stack.functions.map((fn) => fn.name)).toEqual(["hello", "digest-fn"]);
    const [hello, digest] = stack.functions;
    expect(hello).toMatchObject({ lang: "assemblyscript", handler: "./hello", secrets: ["api-key"], limits: { memory: "128Mi" }, labels: {}, environment: {} });
    expect(hello?.requests).toBeUndefined();
    expect(digest?.image).toBe(`sha256:${"a".repeat(64)}`);
  });

  it("keeps unquoted numbers and booleans as the strings written", () => {
    const stack = parseStack(
      minimal(`  hello:
    image: hello.wasm
    environment:
      RETRIES: 1
      VERBOSE: true
      RATIO: 1.50
      MASK: 0x1F
      OCTAL: 0755
      EMPTY:
    labels:
      com.openfaas.scale.min: 2
      canary: false
    annotations:
      version: 1.0
`),
      "stack.yml",
    );
    const fn = stack.functions[0];
    expect(fn?.environment).toEqual({ RETRIES: "1", VERBOSE: "true", RATIO: "1.50", MASK: "0x1F", OCTAL: "0755", EMPTY: "" });
    expect(fn?.labels).toEqual({ "com.openfaas.scale.min": "2", canary: "false" });
    expect(fn?.annotations).toEqual({ version: "1.0" });
  });

  it("reads an empty map or list as not given", () => {
    const stack = parseStack(minimal("  hello:\n    image: hello.wasm\n    labels:\n    secrets: ~\n    environment: null\n"), "stack.yml");
    expect(stack.functions[0]).toMatchObject({ labels: {}, secrets: [], environment: {} });
  });

  it("honours YAML anchors and merge keys", () => {
    const stack = parseStack(
      minimal("  base: &base\n    image: a.wasm\n    labels: {team: x}\n  other:\n    <<: *base\n    image: b.wasm\n"),
      "stack.yml",
    );
    expect(stack.functions[1]).toMatchObject({ name: "other", image: "b.wasm", labels: { team: "x" } });
  });

  it("names the field path and line of invalid values", () => {
    const error = parseError(minimal("  hello:\n    image: hello.wasm\n    labels:\n      nested:\n        deep: x\n"));
    expect(error.code).toBe("invalid-request");
    expect(error.message).toMatch(/^Cannot read stack file stack\.yml: functions\.hello\.labels\.nested \(line 9\): /);
  });

  it("names an invalid function name", () => {
    const error = parseError(minimal("  Hello_World:\n    image: hello.wasm\n"));
    expect(error.message).toContain("functions.Hello_World");
    expect(error.message).toContain("DNS-1123");
  });

  it("names an invalid secret name inside a list", () => {
    expect(parseError(minimal("  hello:\n    secrets: [ok, Not_OK]\n")).message).toContain("functions.hello.secrets.1");
  });

  it("rejects versions other than 1.0", () => {
    expect(parseError("version: 2.0\nfunctions: {}\n").message).toContain('version (line 1): must be "1.0"');
  });

  it("requires a functions map", () => {
    expect(parseError("version: 1.0\n").message).toContain("functions");
  });

  it("reports YAML syntax errors with their position", () => {
    expect(parseError("functions:\n  hello: [a,\n  other: b\n").message).toMatch(/^Cannot read stack file stack\.yml: .* at line 3, column \d+$/);
  });

  it("reports duplicate keys", () => {
    expect(parseError(minimal("  hello:\n    image: a.wasm\n  hello:\n    image: b.wasm\n")).message).toMatch(/unique/i);
  });
});

describe("loadStack", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("merges environment files under the inline environment, which wins", async () => {
    dir = await mkdtemp(join(tmpdir(), "tfaas-stack-"));
    await writeFile(join(dir, "common.yml"), "environment:\n  LEVEL: debug\n  SHARED: 1\n");
    await writeFile(join(dir, "override.yml"), "environment:\n  LEVEL: info\n");
    await writeFile(
      join(dir, "stack.yml"),
      minimal("  hello:\n    image: hello.wasm\n    environment_file: [common.yml, override.yml]\n    environment:\n      SHARED: 2\n"),
    );
    const stack = await loadStack(join(dir, "stack.yml"));
    expect(stack.dir).toBe(dir);
    expect(stack.functions[0]?.environment).toEqual({ LEVEL: "info", SHARED: "2" });
  });

  it("names a missing environment file and the field that refers to it", async () => {
    dir = await mkdtemp(join(tmpdir(), "tfaas-stack-"));
    await writeFile(join(dir, "stack.yml"), minimal("  hello:\n    image: hello.wasm\n    environment_file: [missing.yml]\n"));
    await expect(loadStack(join(dir, "stack.yml"))).rejects.toThrow("Cannot read functions.hello.environment_file missing.yml: file not found");
  });

  it("says when the stack file does not exist", async () => {
    await expect(loadStack("/nonexistent/stack.yml")).rejects.toThrow("Cannot read stack file /nonexistent/stack.yml: file not found");
  });
});
