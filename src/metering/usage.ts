/**
 * The host side of metering: reading usage from, and setting the budget of, an instance of an
 * instrumented module through its exported globals. These read what the guest's own code
 * counted; they add nothing and cannot see work done by the host (imports) or host-side
 * memory grows through an exported memory.
 */
import { TfaasError } from "../shared/errors.js";
import { MeteringExports } from "./instrument.js";

export interface MeteringUsage {
  fuel: bigint;
  /** Largest linear-memory size seen, in 64 KiB pages (memory never shrinks, so also the current size). */
  memoryPeakPages: number;
  /** Σ pages × fuel over the run: memory held, weighted by the work done while holding it. */
  pageFuelIntegral: bigint;
}

const I64_MAX = (1n << 63n) - 1n;

function meteringGlobal(exports: WebAssembly.Exports, name: string): WebAssembly.Global {
  const global = exports[name];
  if (!(global instanceof WebAssembly.Global)) {
    throw new TfaasError("invalid-artifact", `Cannot read metering global ${name}: the module was not instrumented`);
  }
  return global;
}

/** Reads usage after (or during a trap of) a call. */
export function readMeteringUsage(exports: WebAssembly.Exports): MeteringUsage {
  const fuel = meteringGlobal(exports, MeteringExports.fuel).value as bigint;
  const pages = meteringGlobal(exports, MeteringExports.memoryPages).value as number;
  const integral = meteringGlobal(exports, MeteringExports.pageFuel).value as bigint;
  const mark = meteringGlobal(exports, MeteringExports.pageFuelMark).value as bigint;
  // The integral is recorded at each memory.grow; the pages held since then count up to now.
  return { fuel, memoryPeakPages: pages, pageFuelIntegral: integral + BigInt(pages) * (fuel - mark) };
}

/** Sets the budget before a call (bigint fuel; undefined = unlimited) and clears a previous exhaustion. */
export function setFuelLimit(exports: WebAssembly.Exports, limit: bigint | undefined): void {
  if (limit !== undefined && (limit < 0n || limit > I64_MAX)) {
    throw new TfaasError("invalid-request", `Cannot set fuel limit: current value is ${limit}, expected 0 to ${I64_MAX}`);
  }
  meteringGlobal(exports, MeteringExports.fuelLimit).value = limit ?? I64_MAX;
  meteringGlobal(exports, MeteringExports.fuelExhausted).value = 0;
}

/** True when `error` thrown by a call of an instrumented instance is fuel exhaustion (not an ordinary trap). */
export function isFuelExhausted(exports: WebAssembly.Exports, error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError && meteringGlobal(exports, MeteringExports.fuelExhausted).value === 1;
}
