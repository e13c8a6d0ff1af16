/** The CLI's public face: run it in-process, or use its gateway client and stack file reader. */
export { runCli, createProgram } from "./program.js";
export type { CliIo } from "./io.js";
export { GatewayClient } from "./client.js";
export type { ArtifactInfo, FunctionInfo, GatewayInfo, LogEntry, LogsQuery, SecretInfo, InvocationRequest } from "./client.js";
export { loadStack, parseStack } from "./stack.js";
export type { Stack, StackFunction } from "./stack.js";
