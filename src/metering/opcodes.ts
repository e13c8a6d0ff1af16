/**
 * The WebAssembly 2.0 instruction set as the instrumenter sees it: which opcodes exist, their
 * weight class, and which opcodes of later proposals to name when rejecting them. Immediates
 * are decoded in body.ts.
 */
import type { OpClass } from "./weights.js";

export const Op = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  selectTyped: 0x1c,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  tableGet: 0x25,
  tableSet: 0x26,
  memorySize: 0x3f,
  memoryGrow: 0x40,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  f64Const: 0x44,
  i32GtS: 0x4a,
  i64GtS: 0x55,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
  refNull: 0xd0,
  refIsNull: 0xd1,
  refFunc: 0xd2,
  prefixMisc: 0xfc,
  prefixSimd: 0xfd,
} as const;

/** Weight class of each single-byte opcode, undefined where the opcode is not WebAssembly 2.0. */
export const singleByteClass: ReadonlyArray<OpClass | "delimiter" | undefined> = (() => {
  const table: Array<OpClass | "delimiter" | undefined> = new Array(256).fill(undefined);
  const set = (from: number, to: number, name: OpClass | "delimiter") => {
    for (let op = from; op <= to; op++) table[op] = name;
  };
  set(0x00, 0x04, "control"); // unreachable nop block loop if
  set(0x05, 0x05, "delimiter"); // else
  set(0x0b, 0x0b, "delimiter"); // end
  set(0x0c, 0x0f, "control"); // br br_if br_table return
  set(0x10, 0x10, "call");
  set(0x11, 0x11, "callIndirect");
  set(0x1a, 0x1c, "control"); // drop select select(t)
  set(0x20, 0x22, "local");
  set(0x23, 0x24, "global");
  set(0x25, 0x26, "table");
  set(0x28, 0x35, "load");
  set(0x36, 0x3e, "store");
  set(0x3f, 0x3f, "memorySize");
  set(0x40, 0x40, "memoryGrow");
  set(0x41, 0x44, "constant");
  set(0x45, 0x5a, "integer"); // i32/i64 comparisons
  set(0x5b, 0x66, "float"); // f32/f64 comparisons
  set(0x67, 0x8a, "integer"); // i32/i64 arithmetic and bits
  set(0x6d, 0x70, "divide"); // i32 div_s div_u rem_s rem_u
  set(0x7f, 0x82, "divide"); // i64 div_s div_u rem_s rem_u
  set(0x8b, 0xa6, "float"); // f32/f64 arithmetic
  set(0x91, 0x91, "floatSlow"); // f32.sqrt
  set(0x95, 0x95, "floatSlow"); // f32.div
  set(0x9f, 0x9f, "floatSlow"); // f64.sqrt
  set(0xa3, 0xa3, "floatSlow"); // f64.div
  set(0xa7, 0xa7, "integer"); // i32.wrap_i64
  set(0xa8, 0xbf, "float"); // truncations, conversions, demote/promote, reinterpretations
  set(0xac, 0xad, "integer"); // i64.extend_i32_s/u
  set(0xc0, 0xc4, "integer"); // sign extension
  set(0xd0, 0xd2, "table"); // ref.null ref.is_null ref.func
  return table;
})();

/** What a rejected opcode belongs to, for the error message. */
export function unsupportedOpcodeFeature(op: number): string {
  if ((op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f) return "exception handling";
  if (op === 0x12 || op === 0x13) return "tail calls";
  if (op === 0x14 || op === 0x15 || (op >= 0xd3 && op <= 0xd6)) return "typed function references";
  if (op === 0xfb) return "GC";
  if (op === 0xfe) return "threads (atomics)";
  return "unknown opcode";
}

/** 0xFC sub-opcodes of WebAssembly 2.0: saturating truncation (0-7), bulk memory and tables (8-17). */
export function miscClass(sub: number): OpClass | undefined {
  if (sub <= 7) return "float";
  switch (sub) {
    case 8: // memory.init
    case 10: // memory.copy
    case 11: // memory.fill
    case 12: // table.init
    case 14: // table.copy
    case 15: // table.grow
    case 17: // table.fill
      return "bulk";
    case 9: // data.drop
    case 13: // elem.drop
    case 16: // table.size
      return "table";
    default:
      return undefined;
  }
}

/** SIMD sub-opcodes (0xFD prefix) that are not assigned in WebAssembly 2.0. */
const unassignedSimd = new Set([0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee]);

export type SimdImmediate = "none" | "memarg" | "bytes16" | "lane" | "memargLane";

export interface SimdShape {
  class: OpClass;
  immediate: SimdImmediate;
}

const simdShapes: ReadonlyArray<SimdShape | undefined> = (() => {
  const shapes: Array<SimdShape | undefined> = [];
  for (let sub = 0; sub <= 0xff; sub++) {
    if (unassignedSimd.has(sub)) shapes.push(undefined);
    else if (sub <= 11 || sub === 92 || sub === 93) shapes.push({ class: "simdMemory", immediate: "memarg" }); // loads, splats, store, load_zero
    else if (sub === 12 || sub === 13) shapes.push({ class: "simd", immediate: "bytes16" }); // v128.const, i8x16.shuffle
    else if (sub >= 21 && sub <= 34) shapes.push({ class: "simd", immediate: "lane" }); // extract/replace lane
    else if (sub >= 84 && sub <= 91) shapes.push({ class: "simdMemory", immediate: "memargLane" }); // load/store lane
    else shapes.push({ class: "simd", immediate: "none" });
  }
  return shapes;
})();

/** Shape of a SIMD sub-opcode, undefined beyond WebAssembly 2.0 (e.g. relaxed SIMD). */
export function simdShape(sub: number): SimdShape | undefined {
  return simdShapes[sub];
}
