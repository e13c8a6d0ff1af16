import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parse } from "yaml";
import type { FunctionLang } from "./build.js";
import { scaffoldFunction } from "./scaffold.js";

const templatesDir = fileURLToPath(new URL("../../templates/", import.meta.url));
const gateway = "http://127.0.0.1:8080";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "tfaas-scaffold-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("scaffoldFunction", () => {
  test.for<[FunctionLang, string]>([
    ["assemblyscript", "index.ts"],
    ["c", "handler.c"],
  ])("creates a %s function folder from its template and a new stack.yml", async ([lang, entryFile]) => {
    const result = await scaffoldFunction({ name: "hello", lang, dir, gateway });

    const stackFile = path.join(dir, "stack.yml");
    expect(result.stackFile).toBe(stackFile);
    expect(result.created.sort()).toEqual([path.join(dir, "hello", entryFile), stackFile].sort());
    expect(await readFile(path.join(dir, "hello", entryFile), "utf8")).toBe(await readFile(path.join(templatesDir, lang, entryFile), "utf8"));

    const text = await readFile(stackFile, "utf8");
    // faas-cli writes the version as 1.0, not 1 or "1.0".
    expect(text).toMatch(/^version: 1\.0$/m);
    expect(parse(text, { schema: "failsafe" })).toEqual({
      version: "1.0",
      provider: { name: "tfaas", gateway },
      functions: { hello: { lang, handler: "./hello" } },
    });
  });

  test("adds to an existing stack.yml without losing its content or comments", async () => {
    const stackFile = path.join(dir, "stack.yml");
    const original = [
      "# my functions",
      "version: 1.0",
      "provider:",
      "  name: tfaas",
      "  gateway: http://gateway.example:8080 # staging",
      "functions:",
      "  existing:",
      "    lang: c",
      "    handler: ./existing",
      "    environment:",
      "      MODE: fast",
      "    secrets:",
      "      - api-key",
      "configuration:",
      "  templates:",
      "    - name: golang-middleware",
      "",
    ].join("\n");
    await writeFile(stackFile, original);

    const result = await scaffoldFunction({ name: "second", lang: "assemblyscript", dir, gateway });

    expect(result.created).toEqual([path.join(dir, "second", "index.ts")]);
    const text = await readFile(stackFile, "utf8");
    // Everything above the new entry is kept byte for byte, comments included.
    expect(text.startsWith(original.slice(0, original.indexOf("configuration:")))).toBe(true);
    expect(text).toContain("# staging");
    expect(parse(text, { schema: "failsafe" })).toEqual({
      version: "1.0",
      provider: { name: "tfaas", gateway: "http://gateway.example:8080" },
      functions: {
        existing: { lang: "c", handler: "./existing", environment: { MODE: "fast" }, secrets: ["api-key"] },
        second: { lang: "assemblyscript", handler: "./second" },
      },
      configuration: { templates: [{ name: "golang-middleware" }] },
    });
  });

  test("fills in functions when an existing stack.yml has none", async () => {
    await writeFile(path.join(dir, "stack.yml"), "version: 1.0\nprovider:\n  name: tfaas\nfunctions:\n");
    await scaffoldFunction({ name: "hello", lang: "c", dir, gateway });
    const stack = parse(await readFile(path.join(dir, "stack.yml"), "utf8")) as { functions: Record<string, unknown> };
    expect(stack.functions).toEqual({ hello: { lang: "c", handler: "./hello" } });
  });

  test("refuses an existing folder and leaves everything untouched", async () => {
    await mkdir(path.join(dir, "hello"));
    await expect(scaffoldFunction({ name: "hello", lang: "c", dir, gateway })).rejects.toMatchObject({
      code: "conflict",
      message: `Cannot create hello: folder already exists, current value is ${path.join(dir, "hello")}`,
    });
    expect(await readdir(path.join(dir, "hello"))).toEqual([]);
    expect(existsSync(path.join(dir, "stack.yml"))).toBe(false);
  });

  test("refuses a function the stack already lists, before creating its folder", async () => {
    await writeFile(path.join(dir, "stack.yml"), "version: 1.0\nfunctions:\n  hello:\n    lang: c\n    handler: ./elsewhere\n");
    await expect(scaffoldFunction({ name: "hello", lang: "c", dir, gateway })).rejects.toMatchObject({ code: "conflict" });
    expect(existsSync(path.join(dir, "hello"))).toBe(false);
  });

  test("refuses a stack.yml that is not valid YAML, before creating anything", async () => {
    const broken = "functions: [unclosed\n";
    await writeFile(path.join(dir, "stack.yml"), broken);
    await expect(scaffoldFunction({ name: "hello", lang: "c", dir, gateway })).rejects.toMatchObject({ code: "invalid-request" });
    expect(existsSync(path.join(dir, "hello"))).toBe(false);
    expect(await readFile(path.join(dir, "stack.yml"), "utf8")).toBe(broken);
  });

  test("refuses a name that is not a DNS-1123 label", async () => {
    await expect(scaffoldFunction({ name: "Hello_World", lang: "c", dir, gateway })).rejects.toMatchObject({ code: "invalid-name" });
    expect(await readdir(dir)).toEqual([]);
  });
});
