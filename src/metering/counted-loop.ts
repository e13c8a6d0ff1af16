/**
 * Recognises "simple counted loops", whose fuel can be charged once before the loop instead of
 * on every iteration: a `loop` with no parameters or results whose body is straight-line (no
 * branches, calls, nested blocks, memory.grow or bulk operations) and ends in one of the shapes
 * compilers emit for a rotated `for` loop, `...body... <continue?> br_if 0 end`, where the
 * continue condition compares the counter's new value i' = i + s (written by the tail's
 * `local.tee i`, or `local.set i; local.get i`; s from `i32.const s; i32.add|i32.sub`) with a
 * bound b (`i32.const` or a `local.get` of a local the body never writes):
 *
 *   - `i' != b` in either operand order; `br_if` on i' itself (i' != 0); `b + i'` (i' != -b);
 *   - `i' < b`, `i' <= b` (or `b > i'`, `b >= i'`), signed or unsigned, counting up by 1;
 *   - `i' > b`, `i' >= b` (or `b < i'`, `b <= i'`), signed or unsigned, counting down by 1.
 *
 * The counter must be written nowhere else in the body. Also the shape AssemblyScript (Binaryen)
 * emits for a `for` loop, tested first: `loop (cond) if ...body... br 1 end end`, where the
 * condition compares the counter's current value i with b in the same ways (or is `local.get i`
 * alone: i != 0) and the straight-line body updates it once, `local.get i; i32.const s;
 * i32.add|sub; local.set i`. body.ts computes the trip count T at run time from i0 and b, checks
 * that it is exact (a solution exists; no wrap-around before the exit), and falls back to
 * per-iteration metering when it is not or when the budget would run out inside the loop.
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
  /**
   * Tested first: the loop's header tests `condition(i, b)` and an `if` runs the body; the header
   * region (condition and `if`, `headerCost` of the iteration's cost) runs once more than the
   * body, which starts at `thenStart` (after the `if` and its block type). Undefined for the
   * rotated shape, which tests `condition(i', b)` at its end.
   */
  testedFirst?: { headerCost: number; thenStart: number };
  counter: number;
  /** The increment s as an unsigned 32-bit value (never 0; 1 or 2^32-1 for range conditions). */
  step: number;
  /** The bound: a constant (i32 bits, already negated where `negated`) or a local index. */
  bound: { constant: number } | { local: number };
  /** The loop compares with -bound (the `b + i'` form); only for local bounds. */
  negated: boolean;
  /** The loop runs on while `condition(i', b)`, with the counter's new value first. */
  condition: LoopCondition;
  /** Offsets of the local indices of the body's local.get/set/tee (for renumbering a copy). */
  localImmediates: number[];
}

/** Continue conditions, normalised so the counter's new value is the left operand. */
export type LoopCondition = "ne" | "lt_s" | "lt_u" | "le_s" | "le_u" | "gt_s" | "gt_u" | "ge_s" | "ge_u";

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

/** Straight-line instructions from the reader's position up to the first other one, whose opcode is `stop`. */
interface Run {
  decoded: Decoded[];
  cost: number;
  /** Opcode of the instruction that ended the run (already read). */
  stop: number;
}

function straightRun(
  reader: ByteReader,
  costs: Readonly<Record<OpClass, number>>,
  localCount: number,
  globalCount: number,
  localImmediates: number[],
  writes: Map<number, number>,
): Run | undefined {
  const decoded: Decoded[] = [];
  let cost = 0;
  for (;;) {
    const op = reader.byte();
    const one = straightLine(op, reader, localCount, globalCount);
    if (one === undefined) return { decoded, cost, stop: op };
    if (op === Op.localGet || op === Op.localSet || op === Op.localTee) {
      localImmediates.push(one.at);
      if (op !== Op.localGet) writes.set(one.immediate, (writes.get(one.immediate) ?? 0) + 1);
    }
    cost += costs[one.name];
    if (cost > MAX_HOISTED_COST) return undefined;
    decoded.push({ op, immediate: one.immediate });
  }
}

/** The body's first straight-line run decides the shape: it ends in the rotated tail's `br_if`, or in a tested-first `if`. */
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
  const localImmediates: number[] = [];
  const run = straightRun(reader, costs, localCount, globalCount, localImmediates, writes);
  if (run?.stop === Op.brIf) {
    if (reader.u32() !== 0 || reader.byte() !== Op.end) return undefined;
    const loop = matchTail(run.decoded, writes, bodyStart, reader.pos, run.cost + costs.control);
    return loop === undefined ? undefined : { ...loop, localImmediates };
  }
  if (run?.stop !== Op.if || reader.byte() !== EMPTY_BLOCK) return undefined;
  // Tested first: `(test) if <0x40> ...body (with i = i ± s)... br 1 end end`.
  const header = run;
  const thenStart = reader.pos;
  const body = straightRun(reader, costs, localCount, globalCount, localImmediates, writes);
  if (body === undefined || body.stop !== Op.br || reader.u32() !== 1 || reader.byte() !== Op.end || reader.byte() !== Op.end) return undefined;
  const headerCost = header.cost + costs.control;
  const costPerIteration = headerCost + body.cost + costs.control;
  if (costPerIteration > MAX_HOISTED_COST) return undefined;
  // Written once (by its update, checked below); the bound not at all (boundOf).
  const test = testsOf(header.decoded, writes).find(({ counter }) => writes.get(counter) === 1);
  if (test === undefined) return undefined;
  // The counter's one write: i = i ± s.
  const at = body.decoded.findIndex((entry) => entry.op === Op.localSet && entry.immediate === test.counter);
  const increment = stepOf(body.decoded, at - 1, test.counter);
  if (increment === undefined || !stepFits(test.condition, increment)) return undefined;
  return {
    bodyStart,
    end: reader.pos,
    costPerIteration,
    testedFirst: { headerCost, thenStart },
    counter: test.counter,
    step: increment,
    bound: test.bound,
    negated: false,
    condition: test.condition,
    localImmediates,
  };
}

interface Test {
  counter: number;
  bound: CountedLoop["bound"];
  condition: LoopCondition;
}

/**
 * The readings of a header that is exactly a test of a counter: `local.get i` (i != 0), or a
 * comparison of `local.get i` with a loop-invariant bound (boundOf), in either order (two locals
 * give two readings; the caller keeps the one whose counter the body updates).
 */
function testsOf(header: Decoded[], writes: Map<number, number>): Test[] {
  const [first, second, third] = header;
  if (header.length === 1 && first?.op === Op.localGet) return [{ counter: first.immediate, bound: { constant: 0 }, condition: "ne" }];
  const comparison = third === undefined ? undefined : comparisons.get(third.op);
  if (header.length !== 3 || first === undefined || second === undefined || comparison === undefined) return [];
  const tests: Test[] = [];
  const reading = (counter: Decoded, other: Decoded, condition: LoopCondition) => {
    const bound = counter.op === Op.localGet ? boundOf(other, counter.immediate, writes) : undefined;
    if (bound !== undefined) tests.push({ counter: counter.immediate, bound, condition });
  };
  reading(first, second, comparison);
  reading(second, first, swapped[comparison]);
  return tests;
}

/**
 * The function a loop's body calls first, when everything before that `call` is straight-line
 * code (no branch, block, memory.grow or bulk operation); else undefined. Every iteration then
 * makes that call, reached from the loop header without a branch.
 */
export function firstCallOfLoop(bytes: Uint8Array, bodyStart: number, end: number, localCount: number, globalCount: number): number | undefined {
  try {
    const reader = new ByteReader(bytes, bodyStart, end);
    for (;;) {
      const op = reader.byte();
      if (op === Op.call) return reader.u32();
      if (straightLine(op, reader, localCount, globalCount) === undefined) return undefined;
    }
  } catch {
    // Malformed input: the main rewrite reports it with its offset.
    return undefined;
  }
}

/**
 * Reads the immediates of one straight-line instruction whose opcode `op` was just read: its
 * weight class, its local index or i32 constant (else 0), and where that immediate starts.
 * Undefined for control flow, calls, memory.grow, bulk operations and out-of-range indices.
 */
export function straightLine(op: number, reader: ByteReader, localCount: number, globalCount: number): { name: OpClass; immediate: number; at: number } | undefined {
  const at = reader.pos;
  switch (op) {
    case Op.localGet:
    case Op.localSet:
    case Op.localTee: {
      const immediate = reader.u32();
      // Out of range: invalid (the main rewrite rejects it), and it must never reach our locals.
      return immediate < localCount ? { name: "local", immediate, at } : undefined;
    }
    case Op.globalGet:
    case Op.globalSet:
      return reader.u32() < globalCount ? { name: "global", immediate: 0, at } : undefined;
    case Op.tableGet:
    case Op.tableSet:
    case Op.refFunc:
      reader.u32();
      return { name: "table", immediate: 0, at };
    case Op.refNull:
      reader.byte();
      return { name: "table", immediate: 0, at };
    case Op.i32Const:
      return { name: "constant", immediate: reader.s32(), at };
    case Op.i64Const:
      reader.skipSigned(64);
      return { name: "constant", immediate: 0, at };
    case Op.f32Const:
      reader.skip(4);
      return { name: "constant", immediate: 0, at };
    case Op.f64Const:
      reader.skip(8);
      return { name: "constant", immediate: 0, at };
    case Op.memorySize:
      reader.byte();
      return { name: "memorySize", immediate: 0, at };
    case Op.selectTyped:
      reader.skip(reader.count("select type"));
      return { name: "control", immediate: 0, at };
    case Op.prefixMisc: {
      const sub = reader.u32();
      // Saturating truncations only: bulk operations carry dynamic costs and table/data indices.
      const name = sub > 7 ? undefined : miscClass(sub);
      return name === undefined ? undefined : { name, immediate: 0, at };
    }
    case Op.prefixSimd: {
      const shape = simdShape(reader.u32());
      if (shape === undefined) return undefined;
      if ((shape.immediate === "memarg" || shape.immediate === "memargLane") && !skipMemarg(reader)) return undefined;
      if (shape.immediate === "memargLane" || shape.immediate === "lane") reader.byte();
      if (shape.immediate === "bytes16") reader.skip(16);
      return { name: shape.class, immediate: 0, at };
    }
    default: {
      const single = singleByteClass[op];
      // Anything with control flow, calls or memory.grow ends straight-line code.
      if (single === undefined || single === "delimiter" || single === "control" || single === "call" || single === "callIndirect" || single === "memoryGrow") {
        return op === Op.nop || op === Op.drop || op === Op.select ? { name: "control", immediate: 0, at } : undefined;
      }
      // A memory index in the alignment (multi-memory) is left to the main rewrite to reject.
      if (op >= 0x28 && op <= 0x3e && !skipMemarg(reader)) return undefined;
      return { name: single, immediate: 0, at };
    }
  }
}

interface Update {
  counter: number;
  step: number;
  /** Index in `recent` of the update's first instruction. */
  start: number;
}

/** The counter update ending just before `recent[end]`: `local.get i; i32.const s; i32.add|sub; (local.tee i | local.set i; local.get i)`. */
function updateEndingAt(recent: Decoded[], end: number): Update | undefined {
  const last = recent[end - 1];
  if (last === undefined) return undefined;
  let arithmetic = end - 2;
  if (last.op !== Op.localTee) {
    const set = recent[end - 2];
    if (last.op !== Op.localGet || set === undefined || set.op !== Op.localSet || set.immediate !== last.immediate) return undefined;
    arithmetic = end - 3;
  }
  const step = stepOf(recent, arithmetic, last.immediate);
  return step === undefined ? undefined : { counter: last.immediate, step, start: arithmetic - 2 };
}

/** The step s (unsigned, never 0) of `local.get i; i32.const s; i32.add|sub` ending at `decoded[add]`. */
function stepOf(decoded: Decoded[], add: number, counter: number): number | undefined {
  const [get, step, arithmetic] = [decoded[add - 2], decoded[add - 1], decoded[add]];
  if (get?.op !== Op.localGet || get.immediate !== counter || step?.op !== Op.i32Const || (arithmetic?.op !== I32_ADD && arithmetic?.op !== I32_SUB)) return undefined;
  const increment = (arithmetic.op === I32_ADD ? step.immediate : -step.immediate) >>> 0;
  return increment === 0 ? undefined : increment;
}

/** Ranges only when counting by one towards the exit: then T = |b - i0| (+1), checked for wrap-around. */
function stepFits(condition: LoopCondition, step: number): boolean {
  if (condition === "ne") return true;
  const up = condition.startsWith("lt") || condition.startsWith("le");
  return step === (up ? 1 : 0xffff_ffff);
}

/** A loop-invariant bound operand: a constant, or a local the body never writes. */
function boundOf(entry: Decoded | undefined, counter: number, writes: Map<number, number>): CountedLoop["bound"] | undefined {
  if (entry?.op === Op.i32Const) return { constant: entry.immediate };
  if (entry?.op === Op.localGet && entry.immediate !== counter && !writes.has(entry.immediate)) return { local: entry.immediate };
  return undefined;
}

const comparisons = new Map<number, LoopCondition>([
  [0x47, "ne"],
  [0x48, "lt_s"],
  [0x49, "lt_u"],
  [0x4a, "gt_s"],
  [0x4b, "gt_u"],
  [0x4c, "le_s"],
  [0x4d, "le_u"],
  [0x4e, "ge_s"],
  [0x4f, "ge_u"],
]);
/** The same comparison with its operands swapped. */
const swapped: Record<LoopCondition, LoopCondition> = {
  ne: "ne",
  lt_s: "gt_s",
  lt_u: "gt_u",
  gt_s: "lt_s",
  gt_u: "lt_u",
  le_s: "ge_s",
  le_u: "ge_u",
  ge_s: "le_s",
  ge_u: "le_u",
};

type LoopShape = Omit<CountedLoop, "localImmediates">;

function matchTail(recent: Decoded[], writes: Map<number, number>, bodyStart: number, end: number, cost: number): LoopShape | undefined {
  const loop = (update: Update, bound: CountedLoop["bound"] | undefined, condition: LoopCondition, negated: boolean): LoopShape | undefined => {
    // The counter is written only by the tail's update; the bound not at all.
    if (bound === undefined || writes.get(update.counter) !== 1 || !stepFits(condition, update.step)) return undefined;
    if (negated && "constant" in bound) return { bodyStart, end, costPerIteration: cost, counter: update.counter, step: update.step, bound: { constant: -bound.constant | 0 }, negated: false, condition };
    return { bodyStart, end, costPerIteration: cost, counter: update.counter, step: update.step, bound, negated, condition };
  };
  const count = recent.length;
  const last = recent[count - 1];
  if (last === undefined) return undefined;
  // br_if on the new value itself: i' != 0.
  const direct = updateEndingAt(recent, count);
  if (direct !== undefined) return loop(direct, { constant: 0 }, "ne", false);
  const comparison = comparisons.get(last.op);
  if (comparison === undefined && last.op !== I32_ADD) return undefined;
  const condition = comparison ?? "ne";
  const negated = comparison === undefined;
  // Update first, then the bound: compare(i', b).
  const first = updateEndingAt(recent, count - 2);
  if (first !== undefined) {
    const matched = loop(first, boundOf(recent[count - 2], first.counter, writes), condition, negated);
    if (matched !== undefined) return matched;
  }
  // The bound first, then the update: compare(b, i').
  const second = updateEndingAt(recent, count - 1);
  if (second !== undefined) return loop(second, boundOf(recent[second.start - 1], second.counter, writes), swapped[condition], negated);
  return undefined;
}

/** Skips alignment and offset; false for an alignment carrying a memory index (multi-memory). */
function skipMemarg(reader: ByteReader): boolean {
  if (reader.u32() >= 64) return false;
  reader.u32();
  return true;
}

const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const EMPTY_BLOCK = 0x40;
