/** The WebAssembly sandbox: WASI preview 1 command modules over virtual capabilities. */
export { createWasmRuntime, STDERR_LIMIT_BYTES, useModuleCache } from "./runtime.js";
