/**
 * Versioned weight tables: what one executed instruction costs in fuel. A table never changes
 * once published (bills and receipts name its version); a new weighting is a new version.
 *
 * Every instruction belongs to exactly one class below and costs at least 1, so every loop
 * iteration and every call consumes fuel. `end` and `else` are delimiters, not instructions,
 * and cost 0. Bulk operations (memory.copy/fill/init, table.copy/init/fill/grow) cost their
 * class weight plus an amount proportional to their length operand, charged when they start
 * (also when they then trap on an out-of-bounds range): floor(bytes / bulkBytesPerFuel) for
 * memory, floor(elements / tableElementsPerFuel) for tables.
 */
import { TfaasError } from "../shared/errors.js";

export const opClasses = [
  /** nop, block, loop, if, br, br_if, br_table, return, unreachable, select, drop */
  "control",
  /** local.get, local.set, local.tee */
  "local",
  /** global.get, global.set */
  "global",
  /** i32/i64/f32/f64.const */
  "constant",
  /** integer arithmetic, comparison, bit operations, conversions, sign extension */
  "integer",
  /** integer division and remainder */
  "divide",
  /** floating-point arithmetic, comparison and conversions, saturating truncation */
  "float",
  /** floating-point division and square root */
  "floatSlow",
  /** scalar loads */
  "load",
  /** scalar stores */
  "store",
  /** memory.size */
  "memorySize",
  /** memory.grow (the pages themselves are accounted separately, as memory) */
  "memoryGrow",
  /** call */
  "call",
  /** call_indirect (table lookup, signature check, call) */
  "callIndirect",
  /** table.get/set/size, ref.null/is_null/func, data.drop, elem.drop */
  "table",
  /** base cost of memory.copy/fill/init and table.copy/init/fill/grow */
  "bulk",
  /** SIMD arithmetic, lanes, shuffles, v128.const */
  "simd",
  /** SIMD loads and stores (including lane and splat loads) */
  "simdMemory",
] as const;

export type OpClass = (typeof opClasses)[number];

export interface WeightTable {
  /** Names this exact table in usage records and receipts. */
  version: string;
  /** Fuel per executed instruction of each class; integers from 1 to 65535. */
  costs: Readonly<Record<OpClass, number>>;
  /** Bulk memory operations add floor(length / this); a power of two. */
  bulkBytesPerFuel: number;
  /** Bulk table operations add floor(length / this); a power of two. */
  tableElementsPerFuel: number;
}

export const weightsV1: WeightTable = Object.freeze({
  version: "v1",
  costs: Object.freeze({
    control: 1,
    local: 1,
    global: 1,
    constant: 1,
    integer: 1,
    divide: 4,
    float: 1,
    floatSlow: 4,
    load: 2,
    store: 2,
    memorySize: 1,
    memoryGrow: 100,
    call: 5,
    callIndirect: 8,
    table: 2,
    bulk: 10,
    simd: 2,
    simdMemory: 3,
  }),
  bulkBytesPerFuel: 8,
  tableElementsPerFuel: 1,
});

export const WEIGHTS_VERSION: string = weightsV1.version;

const published: ReadonlyMap<string, WeightTable> = new Map([[weightsV1.version, weightsV1]]);

/** The published table of a version, e.g. from a `--weights v1` flag. */
export function weightsByVersion(version: string): WeightTable {
  const table = published.get(version);
  if (table === undefined) {
    throw new TfaasError("invalid-request", `Cannot use weight table: current value is ${JSON.stringify(version)}, known: ${[...published.keys()].join(", ")}`);
  }
  return table;
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 2 ** 30 && (value & (value - 1)) === 0;
}

/** Checks a table before use: bounded integer costs keep every block's sum exact in a double. */
export function checkWeightTable(table: WeightTable): void {
  for (const name of opClasses) {
    const cost = table.costs[name];
    if (!Number.isInteger(cost) || cost < 1 || cost > 65535) {
      throw new TfaasError("invalid-request", `Cannot use weight table ${table.version}: cost of ${name} is ${String(cost)}, expected an integer from 1 to 65535`);
    }
  }
  for (const [name, value] of [["bulkBytesPerFuel", table.bulkBytesPerFuel], ["tableElementsPerFuel", table.tableElementsPerFuel]] as const) {
    if (!isPowerOfTwo(value)) throw new TfaasError("invalid-request", `Cannot use weight table ${table.version}: ${name} is ${String(value)}, expected a power of two`);
  }
}
