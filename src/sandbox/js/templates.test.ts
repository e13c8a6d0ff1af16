/** The js and ts templates build (tfaas build, esbuild) into modules both engines run. */
import { mkdtempSync, readFileSync } from "node:fs";
import { cp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildFunction } from "../../cli/build.js";
import { createJsRuntime, JS_ENGINES } from "./index.js";

const templates = fileURLToPath(new URL("../../../templates/", import.meta.url));
const context = { env: {}, secrets: new Map<string, Uint8Array>(), maxOutputBytes: 1 << 20, fuelLimit: 1_000_000_000n, timeoutMs: 5_000 };

describe("js and ts templates", () => {
  for (const lang of ["js", "ts"] as const) {
    it(`builds the ${lang} template into one module that answers in both engines`, async () => {
      const stackDir = mkdtempSync(path.join(tmpdir(), "tfaas-jsbuild-"));
      await cp(path.join(templates, lang), path.join(stackDir, "hello"), { recursive: true });
      // A local import must be bundled in: the artifact may import nothing.
      await writeFile(path.join(stackDir, "hello", "shout.js"), "export const shout = (s) => s.toUpperCase();\n");
      const entry = path.join(stackDir, "hello", lang === "ts" ? "index.ts" : "index.js");
      await writeFile(entry, `import { shout } from "./shout.js";\n${readFileSync(entry, "utf8").replace("`Hello, ${name}!\\n`", "shout(`Hello, ${name}!\\n`)")}`);
      const built = await buildFunction({ name: "hello", lang, handler: "./hello", stackDir });
      expect(built.contentType).toBe("application/javascript");
      const code = readFileSync(built.outputPath);
      expect(code.toString()).not.toMatch(/^\s*import /m);
      for (const engine of JS_ENGINES) {
        const fn = await createJsRuntime(engine).prepare(code, { abi: "stdio" });
        const result = await fn.invoke({ method: "POST", path: "/", query: "", headers: {}, body: new TextEncoder().encode("tfaas") }, context);
        expect(new TextDecoder().decode(result.body)).toBe("HELLO, TFAAS!\n");
        expect(result.stderr).toBe("greeting tfaas\n");
      }
    });
  }
});
