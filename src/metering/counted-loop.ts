/**
 * Recognises "simple counted loops", whose fuel can be charged once before the loop instead of
 * on every iteration: a `loop` with no parameters or results whose body is straight-line (no
 * branches, calls, nested blocks, memory.grow or bulk operations) and ends in the shape
 * compilers emit for `for (i = a; i != n; i += s)` after loop rotation:
 *
 *     ...body...  local.get i  i32.const s  i32.add  local.tee i  (i32.const n | local.get n)  i32.ne  br_if 0  end
 *
 * where neither `i` (elsewhere) nor `n` is written in the body. Iteration k (from 1) compares
 * i0 + k·s with n (mod 2^32), so the trip count T is the smallest k ≥ 1 with k·s ≡ n − i0;
 * body.ts computes it at run time from i0 and n and falls back to per-iteration metering when it
 * does not exist (the loop never ends) or when the budget would run out inside the loop.
 */
import { ByteReader } from "./bytes.js";
import { miscClass, Op, simdShape, singleByteClass } from "./opcodes.js";
import type { OpClass } from "./weights.js";

export interface CountedLoop {
  /** Offset of the first body instruction (after `loop` and its block type). */
  bodyStart: number;
  /** Offset just past the loop's `end`. */
  end: number;
  /** Fuel of one iteration: the weights of every body instruction. */
  costPerIteration: number;
  counter: number;
  /** The increment s as an unsigned 32-bit value (never 0). */
  step: number;
  /** The bound: a constant (i32 bits) or a local index. */
  bound: { constant: number } | { local: number };
}

/** Above this per-iteration cost the loop is metered per iteration (keeps T × cost far from 2^63). */
const MAX_HOISTED_COST = 2 ** 20;

interface Decoded {
  op: number;
  /** The local index or constant value, where the instruction has one. */
  immediate: number;
}

/** Looks at the loop whose body starts at `bodyStart`; undefined unless it is a simple counted loop. */
export function matchCountedLoop(
  bytes: Uint8Array,
  bodyStart: number,
  end: number,
  costs: Readonly<Record<OpClass, number>>,
  localCount: number,
  globalCount: number,
): CountedLoop | undefined {
  try {
    return scan(bytes, bodyStart, end, costs, localCount, globalCount);
  } catch {
    // Malformed input: the main rewrite reports it with its offset.
    return undefined;
  }
}

function scan(
  bytes: Uint8Array,
  bodyStart: number,
  end: number,
  costs: Readonly<Record<OpClass, number>>,
  localCount: number,
  globalCount: number,
): CountedLoop | undefined {
  const reader = new ByteReader(bytes, bodyStart, end);
  /** How often each local is written in the body. */
  const writes = new Map<number, number>();
  const recent: Decoded[] = [];
  let cost = 0;
  for (;;) {
    const op = reader.byte();
    let immediate = 0;
    let name: OpClass | undefined;
    switch (op) {
      case Op.brIf: {
        if (reader.u32() !== 0 || reader.byte() !== Op.end) return undefined;
        cost += costs.control;
        return matchTail(recent, writes, bodyStart, reader.pos, cost);
      }
      case Op.localGet:
      case Op.localSet:
      case Op.localTee:
        immediate = reader.u32();
        // Out of range: invalid (the main rewrite rejects it), and it must never reach our locals.
        if (immediate >= localCount) return undefined;
        if (op !== Op.localGet) writes.set(immediate, (writes.get(immediate) ?? 0) + 1);
        name = "local";
        break;
      case Op.globalGet:
      case Op.globalSet:
        if (reader.u32() >= globalCount) return undefined;
        name = "global";
        break;
      case Op.tableGet:
      case Op.tableSet:
      case Op.refFunc:
        reader.u32();
        name = "table";
        break;
      case Op.refNull:
        reader.byte();
        name = "table";
        break;
      case Op.i32Const:
        immediate = reader.s32();
        name = "constant";
        break;
      case Op.i64Const:
        reader.skipSigned(64);
        name = "constant";
        break;
      case Op.f32Const:
        reader.skip(4);
        name = "constant";
        break;
      case Op.f64Const:
        reader.skip(8);
        name = "constant";
        break;
      case Op.memorySize:
        reader.byte();
        name = "memorySize";
        break;
      case Op.selectTyped: {
        const count = reader.count("select type");
        reader.skip(count);
        name = "control";
        break;
      }
      case Op.prefixMisc: {
        const sub = reader.u32();
        // Saturating truncations only: bulk operations carry dynamic costs and table/data indices.
        if (sub > 7) return undefined;
        name = miscClass(sub);
        break;
      }
      case Op.prefixSimd: {
        const shape = simdShape(reader.u32());
        if (shape === undefined) return undefined;
        if ((shape.immediate === "memarg" || shape.immediate === "memargLane") && !skipMemarg(reader)) return undefined;
        if (shape.immediate === "memargLane" || shape.immediate === "lane") reader.byte();
        if (shape.immediate === "bytes16") reader.skip(16);
        name = shape.class;
        break;
      }
      default: {
        const single = singleByteClass[op];
        // Anything with control flow, calls or memory.grow ends the match.
        if (single === undefined || single === "delimiter" || single === "control" || single === "call" || single === "callIndirect" || single === "memoryGrow") {
          if (op !== Op.nop && op !== Op.drop && op !== Op.select) return undefined;
          name = "control";
          break;
        }
        // A memory index in the alignment (multi-memory) is left to the main rewrite to reject.
        if (op >= 0x28 && op <= 0x3e && !skipMemarg(reader)) return undefined;
        name = single;
      }
    }
    if (name === undefined) return undefined;
    cost += costs[name];
    if (cost > MAX_HOISTED_COST) return undefined;
    recent.push({ op, immediate });
    if (recent.length > 6) recent.shift();
  }
}

function matchTail(recent: Decoded[], writes: Map<number, number>, bodyStart: number, end: number, cost: number): CountedLoop | undefined {
  const [get, step, add, tee, bound, compare] = recent;
  if (get === undefined || step === undefined || add === undefined || tee === undefined || bound === undefined || compare === undefined) return undefined;
  if (get.op !== Op.localGet || step.op !== Op.i32Const || add.op !== I32_ADD || tee.op !== Op.localTee || compare.op !== I32_NE) return undefined;
  const counter = get.immediate;
  // The counter is written only by the tail's local.tee; the bound not at all.
  if (tee.immediate !== counter || step.immediate === 0 || writes.get(counter) !== 1) return undefined;
  let boundValue: CountedLoop["bound"];
  if (bound.op === Op.i32Const) boundValue = { constant: bound.immediate };
  else if (bound.op === Op.localGet && bound.immediate !== counter && !writes.has(bound.immediate)) boundValue = { local: bound.immediate };
  else return undefined;
  return { bodyStart, end, costPerIteration: cost, counter, step: step.immediate >>> 0, bound: boundValue };
}

/** Skips alignment and offset; false for an alignment carrying a memory index (multi-memory). */
function skipMemarg(reader: ByteReader): boolean {
  if (reader.u32() >= 64) return false;
  reader.u32();
  return true;
}

const I32_ADD = 0x6a;
const I32_NE = 0x47;
