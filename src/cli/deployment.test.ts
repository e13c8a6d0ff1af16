import { describe, expect, it } from "vitest";
import { functionDeploymentSchema } from "../shared/function.js";
import { classifyImage, functionFromFlags, parseKeyValues, selectFunctions, toFunctionDeployment, withFlagOverrides } from "./deployment.js";
import { parseStack } from "./stack.js";
import type { StackFunction } from "./stack.js";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("parseKeyValues", () => {
  it("splits at the first '=' and lets later flags win", () => {
    expect(parseKeyValues(["A=1", "URL=http://x?a=b", "A=2", "EMPTY="], "--env")).toEqual({ A: "2", URL: "http://x?a=b", EMPTY: "" });
  });

  it("names the flag and the value it cannot read", () => {
    expect(() => parseKeyValues(["novalue"], "--label")).toThrow('Cannot read --label: current value is "novalue"; expected key=value');
    expect(() => parseKeyValues(["=x"], "--env")).toThrow("--env");
  });
});

describe("flags to FunctionDeployment", () => {
  it("maps every deploy flag to its field", () => {
    const fn = functionFromFlags({
      name: "hello",
      image: DIGEST,
      namespace: "team-a",
      env: ["GREETING=hi", "COUNT=3"],
      label: ["tier=web"],
      annotation: ["com.tfaas.abi=wagi"],
      secret: ["api-key", "db-password", "api-key"],
      memoryLimit: "64Mi",
    });
    const deployment = toFunctionDeployment(fn, DIGEST);
    expect(deployment).toEqual({
      service: "hello",
      image: DIGEST,
      namespace: "team-a",
      envVars: { GREETING: "hi", COUNT: "3" },
      labels: { tier: "web" },
      annotations: { "com.tfaas.abi": "wagi" },
      secrets: ["api-key", "db-password"],
      limits: { memory: "64Mi" },
    });
    expect(functionDeploymentSchema.safeParse(deployment).success).toBe(true);
  });

  it("sends empty maps and lists rather than leaving fields out, so an update clears them", () => {
    expect(toFunctionDeployment(functionFromFlags({ name: "hello", image: DIGEST }), DIGEST)).toEqual({
      service: "hello",
      image: DIGEST,
      envVars: {},
      labels: {},
      annotations: {},
      secrets: [],
    });
  });

  it("requires both --name and --image", () => {
    expect(() => functionFromFlags({ image: DIGEST })).toThrow("--name is missing");
    expect(() => functionFromFlags({ name: "hello" })).toThrow("--image is missing");
  });

  it("layers flags over a stack entry: maps merge with flags winning, secrets add up, limits keep cpu", () => {
    const stack = parseStack(
      "functions:\n  hello:\n    image: hello.wasm\n    environment: {A: 1, B: 2}\n    labels: {tier: web}\n    secrets: [one]\n    limits: {cpu: 500m, memory: 32Mi}\n",
      "stack.yml",
    );
    const fn = withFlagOverrides(stack.functions[0] as StackFunction, { env: ["B=two", "C=3"], label: ["team=x"], secret: ["two", "one"], memoryLimit: "64Mi" });
    expect(toFunctionDeployment(fn, DIGEST)).toMatchObject({
      envVars: { A: "1", B: "two", C: "3" },
      labels: { tier: "web", team: "x" },
      secrets: ["one", "two"],
      limits: { cpu: "500m", memory: "64Mi" },
    });
  });

  it("validates before sending and names the field", () => {
    const fn = functionFromFlags({ name: "hello", image: DIGEST, secret: ["Bad_Name"] });
    expect(() => toFunctionDeployment(fn, DIGEST)).toThrow(/^Cannot deploy function hello: secrets\.0: must be a DNS-1123 label/);
  });
});

describe("classifyImage", () => {
  it("recognises digests and code files", () => {
    expect(classifyImage(DIGEST, "--image")).toEqual({ kind: "digest", digest: DIGEST });
    expect(classifyImage("build/hello.wasm", "--image")).toEqual({ kind: "file", path: "build/hello.wasm", contentType: "application/wasm" });
    expect(classifyImage("fn.mjs", "--image")).toMatchObject({ contentType: "application/javascript" });
  });

  it("rejects container image names and short digests, naming the field", () => {
    expect(() => classifyImage("ghcr.io/openfaas/figlet:latest", "functions.hello.image")).toThrow(
      'Cannot use functions.hello.image: current value is "ghcr.io/openfaas/figlet:latest"',
    );
    expect(() => classifyImage("sha256:abcd", "--image")).toThrow("expected sha256:<64 hex digits>");
  });
});

describe("selectFunctions", () => {
  const functions = parseStack("functions:\n  api-users: {image: a.wasm}\n  api-orders: {image: b.wasm}\n  web: {image: c.wasm}\n", "stack.yml").functions;

  it("selects all without a filter, exact names, or '*' patterns", () => {
    expect(selectFunctions(functions, undefined, "stack.yml")).toHaveLength(3);
    expect(selectFunctions(functions, "web", "stack.yml").map((fn) => fn.name)).toEqual(["web"]);
    expect(selectFunctions(functions, "api-*", "stack.yml").map((fn) => fn.name)).toEqual(["api-users", "api-orders"]);
  });

  it("treats other pattern characters literally", () => {
    expect(() => selectFunctions(functions, "api.users", "stack.yml")).toThrow("matches no function");
  });

  it("lists the available functions when nothing matches", () => {
    expect(() => selectFunctions(functions, "nope", "stack.yml")).toThrow("(functions: api-users, api-orders, web)");
  });
});
