/** WASI preview 1 implemented over virtual capabilities (no host files, network or environment). */
export { PREVIEW1_FUNCTIONS, WASI_MODULE } from "./abi.js";
export { Preview1, ProcExit, type Preview1Capabilities } from "./preview1.js";
