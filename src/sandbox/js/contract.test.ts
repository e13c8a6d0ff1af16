/** Runs the one Runtime contract against the wasm runtime and both JavaScript engines. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe } from "vitest";
import { clangUnavailable } from "../../../test/fixtures/wasm/clang.js";
import { runtimeContract } from "../runtime.contract.js";
import { createWasmRuntime } from "../wasm/index.js";
import { createJsRuntime } from "./index.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const jsProgram = () => readFileSync(fixture("contract.js"));
const memoryLimitBytes = 64 * 1024 * 1024;

runtimeContract("quickjs", async () => ({
  runtime: createJsRuntime("quickjs"),
  program: jsProgram(),
  options: { abi: "stdio", memoryLimitBytes },
  cpuLimit: "fuel",
}));

runtimeContract("v8", async () => ({
  runtime: createJsRuntime("v8"),
  program: jsProgram(),
  options: { abi: "stdio", memoryLimitBytes },
  cpuLimit: "timeout",
}));

if (clangUnavailable !== undefined) console.warn(`Skipping the wasm contract run: ${clangUnavailable}`);
describe.skipIf(clangUnavailable !== undefined)("wasm subject", () => {
  runtimeContract("wasm", async () => {
    const sysroot = ["/usr/share/wasi-sysroot", "/usr"].find((root) => spawnSync("test", ["-e", join(root, "lib", "wasm32-wasi", "libc.a")]).status === 0)!;
    const output = join(mkdtempSync(join(tmpdir(), "tfaas-contract-")), "contract.wasm");
    const built = spawnSync("clang", ["--target=wasm32-wasi", `--sysroot=${sysroot}`, "-O2", "-o", output, fixture("contract.c")], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`Cannot compile contract.c: ${built.stderr}`);
    return { runtime: createWasmRuntime(), program: readFileSync(output), options: { abi: "wagi", memoryLimitBytes }, cpuLimit: "fuel" };
  });
});
