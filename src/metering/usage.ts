/**
 * The host side of metering: reading usage from, and setting the budget of, an instance of an
 * instrumented module through its exported globals. These read what the guest's own code
 * counted; they add nothing and cannot see work done by the host (imports) or host-side
 * memory grows through an exported memory.
 *
 * The guest keeps its fuel counted from minus the limit (`__tfaas_fuel` = consumed - limit), so
 * a check compares with 0 and needs no limit at hand; the host adds the limit back here.
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

/** Fuel consumed since instantiation, during or after a call. */
export function readFuel(exports: WebAssembly.Exports): bigint {
  return (meteringGlobal(exports, MeteringExports.fuel).value as bigint) + (meteringGlobal(exports, MeteringExports.fuelLimit).value as bigint);
}

/** Reads usage after (or during a trap of) a call. */
export function readMeteringUsage(exports: WebAssembly.Exports): MeteringUsage {
  const counter = meteringGlobal(exports, MeteringExports.fuel).value as bigint;
  const pages = meteringGlobal(exports, MeteringExports.memoryPages).value as number;
  const integral = meteringGlobal(exports, MeteringExports.pageFuel).value as bigint;
  const mark = meteringGlobal(exports, MeteringExports.pageFuelMark).value as bigint;
  // The integral is recorded at each memory.grow; the pages held since then count up to now.
  return { fuel: readFuel(exports), memoryPeakPages: pages, pageFuelIntegral: integral + BigInt(pages) * (counter - mark) };
}

/**
 * Sets the budget (bigint fuel consumed since instantiation; undefined = unlimited) and clears a
 * previous exhaustion. Also from an import during a call: the guest reloads the counter after it.
 */
export function setFuelLimit(exports: WebAssembly.Exports, limit: bigint | undefined): void {
  if (limit !== undefined && (limit < 0n || limit > I64_MAX)) {
    throw new TfaasError("invalid-request", `Cannot set fuel limit: current value is ${limit}, expected 0 to ${I64_MAX}`);
  }
  const next = limit ?? I64_MAX;
  const limitGlobal = meteringGlobal(exports, MeteringExports.fuelLimit);
  // Counter and mark are both counted from minus the limit: they move with it.
  const shift = (limitGlobal.value as bigint) - next;
  for (const name of [MeteringExports.fuel, MeteringExports.pageFuelMark]) {
    const global = meteringGlobal(exports, name);
    global.value = (global.value as bigint) + shift;
  }
  limitGlobal.value = next;
  meteringGlobal(exports, MeteringExports.fuelExhausted).value = 0;
}

/** True when `error` thrown by a call of an instrumented instance is fuel exhaustion (not an ordinary trap). */
export function isFuelExhausted(exports: WebAssembly.Exports, error: unknown): boolean {
  return error instanceof WebAssembly.RuntimeError && meteringGlobal(exports, MeteringExports.fuelExhausted).value === 1;
}
