/**
 * What a WASI preview 1 command module must look like to run here: it exports `memory` and
 * `_start`, and imports nothing but functions of wasi_snapshot_preview1 (so it cannot import
 * memory, tables, globals or host functions we do not provide). It has no start section: code
 * run during instantiation would escape the fuel budget, which is set once the instance exists.
 */
import { readSections, SectionId } from "../../metering/sections.js";
import { TfaasError } from "../../shared/errors.js";
import { POOLED_MEMORY_IMPORT } from "./memory-pool.js";
import { PREVIEW1_FUNCTIONS, WASI_MODULE } from "./wasi/index.js";

const provided: ReadonlySet<string> = new Set(PREVIEW1_FUNCTIONS);

export function checkCommandModule(module: WebAssembly.Module, bytes: Uint8Array, memoryImported: boolean): void {
  if (readSections(bytes).some((section) => section.id === SectionId.start)) {
    throw new TfaasError("invalid-artifact", "Cannot prepare: module has a start section; a WASI command module starts from its _start export");
  }
  // `module` may be the rewrite that imports its memory from the pool: that one import is ours.
  let poolImports = memoryImported ? 1 : 0;
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.module === POOLED_MEMORY_IMPORT.module && entry.name === POOLED_MEMORY_IMPORT.name && entry.kind === "memory" && poolImports-- > 0) continue;
    if (entry.module !== WASI_MODULE || entry.kind !== "function" || !provided.has(entry.name)) {
      throw new TfaasError(
        "invalid-artifact",
        `Cannot prepare: module imports ${entry.kind} "${entry.module}"."${entry.name}"; only ${WASI_MODULE} functions are available`,
      );
    }
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((entry) => [entry.name, entry.kind]));
  for (const [name, kind] of [["memory", "memory"], ["_start", "function"]] as const) {
    if (exports.get(name) !== kind) {
      throw new TfaasError(
        "invalid-artifact",
        `Cannot prepare: a WASI command module must export ${kind} "${name}"; current export is ${exports.get(name) ?? "missing"}`,
      );
    }
  }
}
