/**
 * The Runtime interface: every sandbox kind (wasm, the JavaScript engines; python later) turns
 * artifact bytes into a prepared function and runs one fresh instance per invocation.
 * Runtimes live in worker processes only.
 */
import type { TfaasError } from "../shared/errors.js";

export type ResponseAbi = "stdio" | "wagi";

export interface PrepareOptions {
  /** Caps linear memory; undefined means the module's own maximum (or the 4 GiB wasm32 limit). */
  memoryLimitBytes?: number;
  abi: ResponseAbi;
  /** The code was sealed to this worker and opened inside it: nothing made from it goes to disk. */
  sealed?: boolean;
}

export interface InvocationRequest {
  method: string;
  /** Path below the function's root, always starting with "/". */
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface InvocationContext {
  /** The function's envVars. */
  env: Record<string, string>;
  /** Secret name → value, exposed read-only at /var/openfaas/secrets/<name>. */
  secrets: ReadonlyMap<string, Uint8Array>;
  /** Maximum bytes of stdout; beyond it the call fails with `output-too-large`. */
  maxOutputBytes: number;
  /** Fuel budget of the call (weighted instructions); undefined = unlimited. */
  fuelLimit: bigint | undefined;
  /**
   * Wall-clock budget of the call in ms, for engines that can stop a call without losing their
   * process (the JavaScript engines); undefined = none. The gateway's exec_timeout stays the backstop.
   */
  timeoutMs?: number;
}

/** What one call used, as the sandbox counted it. */
export interface InvocationUsage {
  /** Weighted instructions executed (metered engines); null when the engine does not count fuel. */
  fuel: bigint | null;
  /** The metering weight table's version, with fuel. */
  weightsVersion: string | null;
  memoryPeakBytes: number;
  /** Σ pages × fuel: memory held weighted by the work done while holding it; null without fuel. */
  pageFuelIntegral: bigint | null;
  /** Bytes the function read (stdin, files) and wrote (stdout, stderr). */
  ioBytesIn: number;
  ioBytesOut: number;
  /** CPU time the engine reports for the call (engines without fuel, e.g. V8), in nanoseconds. */
  cpuTimeNs?: number;
}

export interface InvocationResult {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** What the function wrote to stderr (its log), possibly truncated. */
  stderr: string;
  usage: InvocationUsage;
  /** Set when the call failed (trap, non-zero exit, output cap); status/body then describe the failure. */
  error?: TfaasError;
}

export interface PreparedFunction {
  invoke(request: InvocationRequest, context: InvocationContext): Promise<InvocationResult>;
}

export interface Runtime {
  readonly kind: string;
  /** Validates and compiles; fails with `invalid-artifact` saying why. */
  prepare(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedFunction>;
}
