import { existsSync, readFileSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test, type TestContext } from "vitest";
import { parse } from "yaml";
import { TfaasError } from "../shared/errors.js";
import { buildFunction, isFunctionLang, wasmOutputPath, type BuildRequest, type FunctionLang } from "./build.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
// Compiles are slow on a busy machine; the default 30 s is too tight for several in a row.
const BUILD_TIMEOUT = 180_000;

// The project's lib settings leave out the WebAssembly global's types; these are the few calls used here.
interface ModuleDescriptor {
  module: string;
  name: string;
  kind: string;
}
const wasm = (globalThis as unknown as {
  WebAssembly: {
    validate(bytes: Uint8Array): boolean;
    Module: { new (bytes: Uint8Array): object; imports(module: object): ModuleDescriptor[]; exports(module: object): ModuleDescriptor[] };
  };
}).WebAssembly;

/** A WASI preview 1 command module: valid, exports `_start` and `memory`, imports nothing but WASI. */
async function expectWasiCommand(wasmPath: string, bytes: number): Promise<void> {
  const binary = new Uint8Array(await readFile(wasmPath));
  expect(binary.byteLength).toBe(bytes);
  expect(wasm.validate(binary)).toBe(true);
  const module = new wasm.Module(binary);
  const exports = wasm.Module.exports(module).map(({ name, kind }) => `${kind}:${name}`);
  expect(exports).toEqual(expect.arrayContaining(["function:_start", "memory:memory"]));
  const importModules = new Set(wasm.Module.imports(module).map((entry) => entry.module));
  expect([...importModules]).toEqual(["wasi_snapshot_preview1"]);
}

/** Builds, or skips the test with the build's own explanation when the C toolchain is absent. */
async function buildOrSkip(context: TestContext, request: BuildRequest): Promise<{ outputPath: string; bytes: number }> {
  try {
    return await buildFunction(request);
  } catch (error) {
    if (request.lang === "c" && error instanceof TfaasError && / is not installed/.test(error.message)) {
      context.skip(`C toolchain missing: ${error.message}`);
    }
    throw error;
  }
}

let stackDir: string;
beforeEach(async () => {
  stackDir = await mkdtemp(path.join(tmpdir(), "tfaas-build-"));
});
afterEach(async () => {
  await rm(stackDir, { recursive: true, force: true });
});

describe("isFunctionLang and wasmOutputPath", () => {
  test("accept exactly the supported languages", () => {
    expect(isFunctionLang("assemblyscript")).toBe(true);
    expect(isFunctionLang("c")).toBe(true);
    expect(isFunctionLang("go")).toBe(false);
    expect(isFunctionLang("")).toBe(false);
  });

  test("place the module under build/<name>/", () => {
    expect(wasmOutputPath("/stack", "hello")).toBe(path.join("/stack", "build", "hello", "hello.wasm"));
  });
});

async function copyInto(source: string, name: string): Promise<void> {
  await cp(source, path.join(stackDir, name), { recursive: true });
}

describe("building the templates", () => {
  test.for<FunctionLang>(["assemblyscript", "c"])("the %s template builds to a WASI command module", { timeout: BUILD_TIMEOUT }, async (lang, context) => {
    await copyInto(path.join(repoRoot, "templates", lang), "hello");
    const progress: string[] = [];
    const result = await buildOrSkip(context, { name: "hello", lang, handler: "./hello", stackDir, onProgress: (line) => progress.push(line) });

    expect(result.outputPath).toBe(wasmOutputPath(stackDir, "hello"));
    await expectWasiCommand(result.outputPath, result.bytes);
    expect(progress[0]).toBe(`Building hello (${lang})…`);
    expect(progress.at(-1)).toMatch(new RegExp(`^Built hello: ${result.bytes} bytes in \\d+\\.\\ds$`));
  });

  test("a handler may name a single source file instead of a folder", { timeout: BUILD_TIMEOUT }, async () => {
    await copyInto(path.join(repoRoot, "templates", "assemblyscript"), "src");
    const result = await buildFunction({ name: "single", lang: "assemblyscript", handler: "src/index.ts", stackDir });
    await expectWasiCommand(result.outputPath, result.bytes);
  });

  test("concurrent AssemblyScript builds in one process both succeed", { timeout: BUILD_TIMEOUT }, async () => {
    await copyInto(path.join(repoRoot, "templates", "assemblyscript"), "first");
    await copyInto(path.join(repoRoot, "examples", "echo-as"), "second");
    const results = await Promise.all(
      ["first", "second"].map((name) => buildFunction({ name, lang: "assemblyscript", handler: `./${name}`, stackDir })),
    );
    for (const result of results) await expectWasiCommand(result.outputPath, result.bytes);
  });
});

describe("build failures", () => {
  const brokenSources: Record<FunctionLang, { file: string; text: string }> = {
    assemblyscript: { file: "index.ts", text: "export function oops(: i32 {\n" },
    c: { file: "handler.c", text: "int main(void) { return missing_variable; }\n" },
    js: { file: "index.js", text: "export default { fetch( { }\n" },
    ts: { file: "index.ts", text: "export default { fetch(request: Request: { }\n" },
  };

  test.for<FunctionLang>(["assemblyscript", "c", "js", "ts"])("a %s syntax error is a clear build error naming the file", { timeout: BUILD_TIMEOUT }, async (lang, context) => {
    const { file, text } = brokenSources[lang];
    await copyInto(path.join(repoRoot, "templates", lang), "broken");
    await writeFile(path.join(stackDir, "broken", file), text);

    const failure = await buildOrSkip(context, { name: "broken", lang, handler: "./broken", stackDir }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TfaasError);
    expect(failure).toMatchObject({ code: "build-failed" });
    const message = (failure as TfaasError).message;
    expect(message).toMatch(/^Cannot build broken: /);
    expect(message).toContain(path.join("broken", file));
    expect(existsSync(wasmOutputPath(stackDir, "broken"))).toBe(false);
  });

  test("a failed rebuild leaves no stale module behind", { timeout: BUILD_TIMEOUT }, async () => {
    await copyInto(path.join(repoRoot, "templates", "assemblyscript"), "echo");
    const request = { name: "echo", lang: "assemblyscript", handler: "./echo", stackDir } as const;
    const { outputPath: wasmPath } = await buildFunction(request);
    await writeFile(path.join(stackDir, "echo", "index.ts"), "let = ;\n");
    await expect(buildFunction(request)).rejects.toMatchObject({ code: "build-failed" });
    expect(existsSync(wasmPath)).toBe(false);
  });

  test("a missing handler folder is reported with its path", async () => {
    await expect(buildFunction({ name: "ghost", lang: "c", handler: "./ghost", stackDir })).rejects.toThrow(
      `Cannot build ghost: handler not found, current value is ${path.join(stackDir, "ghost")}`,
    );
  });

  test("a handler folder without the expected entry file is refused", async () => {
    await writeFile(path.join(stackDir, "README.md"), "not code\n");
    await expect(buildFunction({ name: "empty", lang: "assemblyscript", handler: ".", stackDir })).rejects.toThrow(/has no index\.ts$/);
  });

  test("a name that is not a DNS-1123 label never becomes a path", async () => {
    await expect(buildFunction({ name: "../escape", lang: "c", handler: ".", stackDir })).rejects.toMatchObject({ code: "invalid-name" });
    expect(existsSync(path.join(stackDir, "build"))).toBe(false);
  });
});

describe("the examples", () => {
  const examplesDir = path.join(repoRoot, "examples");
  const stack = parse(readFileSync(path.join(examplesDir, "stack.yml"), "utf8")) as { functions: Record<string, { lang: string; handler: string }> };

  const wasmExamples = Object.entries(stack.functions).filter(([, spec]) => spec.lang !== "js" && spec.lang !== "ts");
  test.for(wasmExamples)("%s builds to a WASI command module", { timeout: BUILD_TIMEOUT }, async ([name, spec], context) => {
    expect(isFunctionLang(spec.lang)).toBe(true);
    // Built in a copy, so the test never writes into the repository.
    await cp(examplesDir, stackDir, { recursive: true });
    const result = await buildOrSkip(context, { name, lang: spec.lang as FunctionLang, handler: spec.handler, stackDir });
    await expectWasiCommand(result.outputPath, result.bytes);
  });

  test("the wagi example is annotated for the wagi response mode", () => {
    const wagi = stack.functions["wagi-c"] as { annotations?: Record<string, string> } | undefined;
    expect(wagi?.annotations?.["com.tfaas.abi"]).toBe("wagi");
  });
});
