/** The WebAssembly sandbox: WASI preview 1 command modules over virtual capabilities. */
export { createWasmRuntime, STDERR_LIMIT_BYTES } from "./runtime.js";
