/**
 * Rewrites one function body: decodes every instruction (with an explicit control stack, so
 * nesting depth costs memory, never call-stack), splits the body into straight-line regions,
 * and inserts at the start of each region the sum of its instructions' weights. Budget checks
 * sit at the function entry and at every loop header; they compare the fuel consumed *before*
 * that point with the limit, so where a call stops does not depend on how regions are merged.
 * The fuel is counted from minus the limit, so a check compares it with 0.
 *
 * With `localCounter`, the running fuel lives in a local and is flushed to the exported global
 * at loop headers, calls, returns and memory.grow, and reloaded after calls (the callee
 * advanced it).
 *
 * With `internalCalls`, functions that only direct calls reach take the running fuel as an
 * extra last parameter and return it as an extra last result, so it crosses those calls in
 * registers; the caller writes it to the global after the call unless no trap could see it
 * missing (trap-free.ts).
 */
import type { ByteWriter } from "./bytes.js";
import { ByteReader, malformed } from "./bytes.js";
import { readValueType } from "./module.js";
import type { CountedLoop } from "./counted-loop.js";
import { firstCallOfLoop, matchCountedLoop } from "./counted-loop.js";
import { miscClass, Op, simdShape, singleByteClass, unsupportedOpcodeFeature } from "./opcodes.js";
import { FRAME_BLOCK, FRAME_FUNCTION, FRAME_IF, FRAME_LOOP, trapFreeToFlush } from "./trap-free.js";
import type { OpClass } from "./weights.js";

export interface BodyFlags {
  /** Keep the running fuel in a local (else every region updates the global). */
  localCounter: boolean;
  /** Let a region run on across `block` and across the `end` of blocks nobody branches to. */
  mergeBlocks: boolean;
  /** With localCounter: charge simple counted loops once, before they run (counted-loop.ts). */
  hoistLoops: boolean;
  /** With localCounter: pass the fuel into and out of internal functions (see `rewrite`). */
  internalCalls: boolean;
}

/** How an internal function is rewritten (see `rewrite`). */
export interface InternalForm {
  /** Block type of the function's results: 0x40, one value type, or a type index (LEB128). */
  resultBlockType: Uint8Array;
}

/** Indices of the globals the instrumenter adds. */
export interface MeteringGlobals {
  fuel: number;
  limit: number;
  exhausted: number;
  pages: number;
  pageFuel: number;
  pageFuelMark: number;
}

export interface BodyContext {
  flags: BodyFlags;
  globals: MeteringGlobals;
  costs: Readonly<Record<OpClass, number>>;
  /** log2 of the weight table's bulkBytesPerFuel and tableElementsPerFuel. */
  bulkBytesShift: number;
  tableElementsShift: number;
  typeCount: number;
  /** Globals of the original module (imported and defined): ours come after and must stay unnameable. */
  globalCount: number;
  /** 1 at the index of every function in the internal form (empty without internalCalls). */
  internalFunctions: Uint8Array;
  /** Imported functions come first in the function index space; they have no entry check. */
  importedFunctions: number;
}

/** What rewriting the function bodies did, counted over all of them. */
export interface BodyStats {
  /** Straight-line regions charged (a cost update each). */
  blocks: number;
  /** Budget checks: one per function entry and loop header. */
  checks: number;
  /** Stores of the local counter to the global (0 without the local counter). */
  flushes: number;
  /** Bulk memory and table instructions charged by length. */
  bulkSites: number;
  memoryGrowSites: number;
  /** Simple counted loops charged once before they run (when the budget allows). */
  hoistedLoops: number;
}

/** Engine limit (JS API "implementation-defined limits") on parameters plus locals. */
export const MAX_LOCALS = 50_000;

const I64 = 0x7e;
const I32 = 0x7f;
const EMPTY_BLOCK = 0x40;
const I32_SUB = 0x6b;
const I32_AND = 0x71;
const I64_EQZ = 0x50;
const I64_LT_S = 0x53;
const I64_GT_S = 0x55;
const I64_LE_S = 0x57;
const I64_GE_S = 0x59;
const I64_EXTEND_I32_S = 0xac;
const I64_AND = 0x83;

/** The multiplicative inverse of an odd number modulo 2^32 (Newton's iteration doubles the correct bits). */
export function inverseOfOdd(odd: number): bigint {
  const value = BigInt(odd);
  let inverse = value;
  for (let round = 0; round < 5; round++) inverse = (inverse * (2n - value * inverse)) & 0xffff_ffffn;
  return inverse;
}

/** Reusable buffers for rewriting many bodies without reallocating. */
export class BodyRewriter {
  private readonly code: ByteWriter;
  private readonly body: ByteWriter;
  private insertAt: number[] = [];
  private regionCost: number[] = [];
  /** Regions whose charge also flushes the new total (at loop headers). */
  private regionFlush: boolean[] = [];
  private kinds: number[] = [];
  private targeted: boolean[] = [];
  /** Per open frame: every branch to its end so far came from code with a flush on every path before it. */
  private branchesFlushed: boolean[] = [];
  /** Per open `if`: that state at the `if`, and at its `else` (undefined before one). */
  private ifEntryFlushed: boolean[] = [];
  private thenEndFlushed: (boolean | undefined)[] = [];
  private readonly singleCosts: Int32Array;

  constructor(
    private readonly context: BodyContext,
    makeWriter: () => ByteWriter,
    readonly stats: BodyStats,
  ) {
    this.code = makeWriter();
    this.body = makeWriter();
    this.singleCosts = new Int32Array(256).fill(-1);
    for (let op = 0; op < 256; op++) {
      const name = singleByteClass[op];
      if (name !== undefined) this.singleCosts[op] = name === "delimiter" ? 0 : context.costs[name];
    }
  }

  /**
   * Rewrites the body in bytes[start, end) and appends it, size-prefixed, to `out`.
   *
   * `internal` for the internal form: a function the module reaches only by direct `call` (not
   * exported, in no element segment, never `ref.func`'d, not the start function) gets the type
   * (params..., i64) -> (results..., i64): its caller's running fuel arrives in the extra
   * parameter and goes back in the extra result, both in registers (V8 returns a second value in
   * a register on x64). Its body runs inside a block of its results, so branches to the function
   * need no rewriting, and the fuel is pushed after that block. It does not write the global at
   * its exits; its caller does, right after the call. See docs/metering.md, *Internal calls*,
   * for what else was measured.
   */
  rewrite(bytes: Uint8Array, start: number, end: number, paramCount: number, out: ByteWriter, internal?: InternalForm): void {
    const isInternal = internal !== undefined;
    const { flags, globals, costs, internalFunctions } = this.context;
    const reader = new ByteReader(bytes, start, end);
    const w = this.code;
    w.reset();
    this.insertAt.length = 0;
    this.regionCost.length = 0;
    this.regionFlush.length = 0;
    const kinds = this.kinds;
    const targeted = this.targeted;
    kinds.length = 0;
    targeted.length = 0;
    const branchesFlushed = this.branchesFlushed;
    const ifEntryFlushed = this.ifEntryFlushed;
    const thenEndFlushed = this.thenEndFlushed;
    branchesFlushed.length = 0;
    ifEntryFlushed.length = 0;
    thenEndFlushed.length = 0;

    const groups = reader.count("local declaration");
    const groupsStart = reader.pos;
    let locals = paramCount;
    for (let group = 0; group < groups; group++) {
      const offset = reader.pos;
      locals += reader.u32();
      readValueType(reader);
      if (locals + 3 > MAX_LOCALS) throw malformed(offset, `function with more than ${MAX_LOCALS - 3} parameters and locals`);
    }
    const groupsEnd = reader.pos;
    // Our locals after the function's own: i64 fuel and trip count, then i32 length. In the
    // internal form the fuel is the last parameter, so the function's own locals move up by one.
    const hoist = flags.localCounter && flags.hoistLoops;
    const i64Locals = flags.localCounter ? (isInternal ? 0 : 1) + (hoist ? 1 : 0) : 0;
    const fuelLocal = isInternal ? paramCount : locals;
    const tripLocal = locals + 1;
    const lengthLocal = locals + (isInternal ? 1 : 0) + i64Locals;
    /** A local index of the original body, as numbered in the rewritten one. */
    const renumber = (index: number) => (isInternal && index >= paramCount ? index + 1 : index);
    let usesLength = false;
    /** A call ends the function: the global already holds the fuel, so no reload and no final flush. */
    let tailCall = false;

    let copyFrom = reader.pos;
    const sync = (upTo: number) => {
      if (upTo > copyFrom) w.copy(bytes, copyFrom, upTo);
      copyFrom = upTo;
    };
    let region = -1;
    /** The global holds the local's value: the current region flushed, and the local has not moved since. */
    let regionFlushed = false;
    /**
     * Every path from the function's entry to here has flushed. From then on loop headers and
     * calls flush, so the work since the last flush is forward code of this function only, and an
     * internal call needs no flush before it.
     */
    let flushedOnAllPaths = false;
    const pushFrame = (kind: number) => {
      kinds.push(kind);
      targeted.push(false);
      branchesFlushed.push(true);
      ifEntryFlushed.push(flushedOnAllPaths);
      thenEndFlushed.push(undefined);
    };
    /** Starts a region; with `flushes`, its charge also writes the new total to the global. */
    const newRegion = (flushes = false) => {
      this.insertAt.push(w.length);
      this.regionCost.push(0);
      this.regionFlush.push(flushes);
      region = this.regionCost.length - 1;
      regionFlushed = flushes;
    };
    const charge = (cost: number) => {
      this.regionCost[region] = (this.regionCost[region] as number) + cost;
    };
    const globalGet = (index: number) => {
      w.byte(Op.globalGet);
      w.u32(index);
    };
    const globalSet = (index: number) => {
      w.byte(Op.globalSet);
      w.u32(index);
    };
    const localGet = (index: number) => {
      w.byte(Op.localGet);
      w.u32(index);
    };
    const flush = () => {
      if (!flags.localCounter) return;
      localGet(fuelLocal);
      globalSet(globals.fuel);
      this.stats.flushes++;
      regionFlushed = true;
      flushedOnAllPaths = true;
    };
    const takeFuelBack = () => {
      w.byte(Op.localSet);
      w.u32(fuelLocal);
    };
    /** After a call: the callee advanced the fuel (and the host may have moved it with the limit). */
    const reload = () => {
      if (!flags.localCounter) return;
      globalGet(globals.fuel);
      takeFuelBack();
    };
    /**
     * Traps when the fuel on the stack, counted from minus the limit, is above 0 (fuel consumed >
     * limit), marking the trap as exhaustion (and leaving the fuel in the global).
     */
    const trapIfOverLimit = (flushOnTrap = false) => {
      i64Const(0);
      w.byte(Op.i64GtS);
      w.byte(Op.if);
      w.byte(EMPTY_BLOCK);
      if (flushOnTrap) {
        localGet(fuelLocal);
        globalSet(globals.fuel);
      }
      w.byte(Op.i32Const);
      w.byte(1);
      globalSet(globals.exhausted);
      w.byte(Op.unreachable);
      w.byte(Op.end);
      this.stats.checks++;
    };
    /** Marks branch target `depth` and answers whether it is the function itself (a return). */
    const branchTo = (depth: number, offset: number): boolean => {
      const index = kinds.length - 1 - depth;
      if (index < 0) throw malformed(offset, `branch depth ${depth} exceeds the nesting depth ${kinds.length}`);
      if (index === 0) return true;
      if (kinds[index] !== FRAME_LOOP) {
        targeted[index] = true;
        branchesFlushed[index] = branchesFlushed[index] === true && flushedOnAllPaths;
      }
      return false;
    };
    const readBlockType = () => {
      const offset = reader.pos;
      const type = reader.s33();
      if (type >= 0) {
        if (type >= this.context.typeCount) throw malformed(offset, `block type index ${type} (only ${this.context.typeCount} types)`);
        return;
      }
      const byte = type + 0x80;
      if (byte !== EMPTY_BLOCK && !(byte >= 0x7b && byte <= 0x7f) && byte !== 0x70 && byte !== 0x6f) {
        throw malformed(offset, `block type ${type} (not WebAssembly 2.0)`);
      }
    };
    const readMemarg = () => {
      const offset = reader.pos;
      const align = reader.u32();
      if (align >= 64) throw malformed(offset, "memory access with a memory index (multi-memory, not WebAssembly 2.0)");
      reader.u32();
    };
    const readMemoryZero = () => {
      const offset = reader.pos;
      if (reader.byte() !== 0) throw malformed(offset, "memory index other than 0 (multi-memory, not WebAssembly 2.0)");
    };
    /** Adds floor(length >> shift) fuel for the length operand on top of the stack, leaving it there. */
    const chargeLength = (shift: number) => {
      usesLength = true;
      regionFlushed = false;
      w.byte(Op.localTee);
      w.u32(lengthLocal);
      localGet(lengthLocal);
      w.byte(Op.i64ExtendI32U);
      if (shift > 0) {
        w.byte(Op.i64Const);
        w.sInt(shift);
        w.byte(Op.i64ShrU);
      }
      if (flags.localCounter) {
        localGet(fuelLocal);
        w.byte(Op.i64Add);
        w.byte(Op.localSet);
        w.u32(fuelLocal);
      } else {
        globalGet(globals.fuel);
        w.byte(Op.i64Add);
        globalSet(globals.fuel);
      }
      this.stats.bulkSites++;
    };

    const i64Const = (value: number | bigint) => {
      w.byte(Op.i64Const);
      if (typeof value === "number") w.sInt(value);
      else w.s64(value);
    };
    /** Pushes the loop's bound b as an i32 (negated for the `b + i'` form). */
    const pushBound = (loop: CountedLoop) => {
      if ("constant" in loop.bound) {
        w.byte(Op.i32Const);
        w.sInt(loop.bound.constant);
        return;
      }
      if (loop.negated) {
        w.byte(Op.i32Const);
        w.byte(0);
      }
      localGet(renumber(loop.bound.local));
      if (loop.negated) w.byte(I32_SUB);
    };
    /**
     * Pushes the counter's value at entry, as the rotated shape sees it: for a loop tested first,
     * one step back (i0 - s), so that its T - 1 below is the number of times its body runs. Where
     * that wraps around, the range check below finds T inexact and the loop is metered per iteration.
     */
    const pushCounter = (loop: CountedLoop) => {
      localGet(renumber(loop.counter));
      if (loop.testedFirst === undefined) return;
      w.byte(Op.i32Const);
      w.sInt(loop.step | 0);
      w.byte(I32_SUB);
    };
    /** Takes the i64 on the stack as T - 1, the loop's iterations after the first. */
    const setLaterIterations = () => {
      w.byte(Op.localSet);
      w.u32(tripLocal);
    };
    /**
     * `i' != b`: T is the smallest k >= 1 with i0 + k·s = b (mod 2^32). Leaves T - 1 in the trip
     * local and pushes whether T exists.
     */
    const tripCountUntilEqual = (loop: CountedLoop) => {
      if (loop.step === 1 || loop.step === 0xffff_ffff) {
        // Counting by one: T - 1 = ±(b - i0) - 1 (mod 2^32), which is 2^32 - 1 where i0 = b. No
        // solvability test, multiplication or branch: the commonest loops pay least.
        if (loop.step === 1) pushBound(loop);
        pushCounter(loop);
        if (loop.step !== 1) pushBound(loop);
        w.byte(I32_SUB);
        w.byte(Op.i32Const);
        w.byte(1);
        w.byte(I32_SUB);
        w.byte(Op.i64ExtendI32U);
        setLaterIterations();
        w.byte(Op.i32Const);
        w.byte(1);
        return;
      }
      const zeros = 31 - Math.clz32(loop.step & -loop.step);
      const modulusBits = 32 - zeros;
      const inverse = inverseOfOdd(loop.step >>> zeros);
      // d = (b - i0) mod 2^32; T is the smallest k >= 1 with k * step = d (mod 2^32).
      pushBound(loop);
      pushCounter(loop);
      w.byte(I32_SUB);
      w.byte(Op.i64ExtendI32U);
      setLaterIterations();
      // Solvable only when d is a multiple of the step's power of two.
      if (zeros > 0) {
        localGet(tripLocal);
        i64Const(2 ** zeros - 1);
        w.byte(I64_AND);
        w.byte(I64_EQZ);
      } else {
        w.byte(Op.i32Const);
        w.byte(1);
      }
      // (d >> zeros) · inverse mod 2^bits is T, or 0 where T = 2^bits: T - 1 = that - 1 mod 2^bits.
      localGet(tripLocal);
      if (zeros > 0) {
        i64Const(zeros);
        w.byte(Op.i64ShrU);
      }
      i64Const(inverse);
      w.byte(Op.i64Mul);
      i64Const(1);
      w.byte(Op.i64Sub);
      i64Const(2n ** BigInt(modulusBits) - 1n);
      w.byte(I64_AND);
      setLaterIterations();
    };
    /**
     * A range condition counting by one towards the exit (lt/le up, gt/ge down): with i0 and b
     * widened to i64 (signed or unsigned as the comparison), T = max(1, |b - i0| (+1 for le/ge)).
     * Leaves T - 1 in the trip local and pushes whether T is exact: i0 ± T must not leave the
     * 32-bit range, or the counter would wrap around before the exit.
     */
    const tripCountUntilRange = (loop: CountedLoop) => {
      const signed = loop.condition.endsWith("_s");
      const up = loop.step === 1;
      const inclusive = loop.condition.startsWith("le") || loop.condition.startsWith("ge");
      const widen = signed ? I64_EXTEND_I32_S : Op.i64ExtendI32U;
      const pushStart = () => {
        pushCounter(loop);
        w.byte(widen);
      };
      const pushEnd = () => {
        pushBound(loop);
        w.byte(widen);
      };
      if (up) {
        pushEnd();
        pushStart();
      } else {
        pushStart();
        pushEnd();
      }
      w.byte(Op.i64Sub);
      // T - 1 = max(0, |b - i0| - 1), or max(0, |b - i0|) for le/ge
      if (!inclusive) {
        i64Const(1);
        w.byte(Op.i64Sub);
      }
      w.byte(Op.localTee);
      w.u32(tripLocal);
      i64Const(0);
      localGet(tripLocal);
      i64Const(0);
      w.byte(I64_GE_S);
      w.byte(Op.select);
      setLaterIterations();
      // Exact when i0 ± T stays in range, that is i0 ± (T - 1) strictly inside it.
      pushStart();
      localGet(tripLocal);
      if (up) {
        w.byte(Op.i64Add);
        i64Const(signed ? 2 ** 31 - 1 : 2 ** 32 - 1);
        w.byte(I64_LT_S);
      } else {
        w.byte(Op.i64Sub);
        i64Const(signed ? -(2 ** 31) : 0);
        w.byte(I64_GT_S);
      }
    };
    /**
     * A simple counted loop: when its trip count T is exact and every header check of the loop
     * would pass (fuel + (T-1)·cost <= 0, the fuel counted from minus the limit), charge all its
     * iterations up front and run the loop as it was; otherwise run it metered per iteration,
     * exactly as without hoisting.
     */
    const emitCountedLoop = (loop: CountedLoop) => {
      if (loop.condition === "ne") tripCountUntilEqual(loop);
      else tripCountUntilRange(loop);
      // fuel + (T - 1) * cost <= 0, the fuel counted from minus the limit (no overflow: T <= 2^32,
      // the cost is bounded by the body's size, and the fuel is at most a stretch's cost above 0)
      localGet(tripLocal);
      i64Const(loop.costPerIteration);
      w.byte(Op.i64Mul);
      localGet(fuelLocal);
      w.byte(Op.i64Add);
      i64Const(0);
      w.byte(I64_LE_S);
      w.byte(I32_AND);
      w.byte(Op.if);
      w.byte(EMPTY_BLOCK);
      // T iterations, and for a loop tested first one more test of the header.
      localGet(fuelLocal);
      localGet(tripLocal);
      i64Const(loop.costPerIteration);
      w.byte(Op.i64Mul);
      w.byte(Op.i64Add);
      i64Const(loop.testedFirst?.headerCost ?? loop.costPerIteration);
      w.byte(Op.i64Add);
      w.byte(Op.localTee);
      w.u32(fuelLocal);
      globalSet(globals.fuel);
      this.stats.flushes++;
      w.byte(Op.loop);
      w.byte(EMPTY_BLOCK);
      copyLoopBody(loop, loop.bodyStart, loop.end);
      w.byte(Op.else);
      w.byte(Op.loop);
      w.byte(EMPTY_BLOCK);
      flush();
      localGet(fuelLocal);
      trapIfOverLimit();
      const addFuel = (cost: number) => {
        localGet(fuelLocal);
        i64Const(cost);
        w.byte(Op.i64Add);
        w.byte(Op.localSet);
        w.u32(fuelLocal);
        this.stats.blocks++;
      };
      if (loop.testedFirst === undefined) {
        addFuel(loop.costPerIteration);
        copyLoopBody(loop, loop.bodyStart, loop.end);
      } else {
        // As metered without hoisting: the header's test at every visit, the body when it runs.
        const { headerCost, thenStart } = loop.testedFirst;
        addFuel(headerCost);
        copyLoopBody(loop, loop.bodyStart, thenStart);
        addFuel(loop.costPerIteration - headerCost);
        copyLoopBody(loop, thenStart, loop.end);
      }
      w.byte(Op.end);
      this.stats.hoistedLoops++;
    };
    /** Bytes [from, to) of the loop as they are, but for local indices in the internal form. */
    const copyLoopBody = (loop: CountedLoop, from: number, to: number) => {
      if (!isInternal) {
        w.copy(bytes, from, to);
        return;
      }
      const immediate = new ByteReader(bytes, from, to);
      for (const at of loop.localImmediates) {
        if (at < from || at >= to) continue;
        w.copy(bytes, from, at);
        immediate.pos = at;
        w.u32(renumber(immediate.u32()));
        from = immediate.pos;
      }
      w.copy(bytes, from, to);
    };


    // Entry: check the fuel the caller has already consumed, then the first region.
    if (isInternal) {
      // The caller's total, which it may not have flushed; a trap here writes it to the global.
      localGet(fuelLocal);
      trapIfOverLimit(true);
      w.byte(Op.block);
      w.bytes(internal.resultBlockType);
    } else if (flags.localCounter) {
      globalGet(globals.fuel);
      w.byte(Op.localTee);
      w.u32(fuelLocal);
      trapIfOverLimit();
    } else {
      globalGet(globals.fuel);
      trapIfOverLimit();
    }
    pushFrame(FRAME_FUNCTION);
    newRegion();

    for (;;) {
      const offset = reader.pos;
      if (offset >= end) throw malformed(end, "function body ends before its final end");
      const op = bytes[offset] as number;
      reader.pos = offset + 1;
      switch (op) {
        case Op.block:
          readBlockType();
          charge(costs.control);
          pushFrame(FRAME_BLOCK);
          if (!flags.mergeBlocks) {
            sync(reader.pos);
            newRegion();
          }
          break;
        case Op.loop: {
          readBlockType();
          charge(costs.control);
          const counted =
            hoist && bytes[offset + 1] === EMPTY_BLOCK ? matchCountedLoop(bytes, offset + 2, end, costs, locals, this.context.globalCount) : undefined;
          if (counted !== undefined) {
            sync(offset);
            emitCountedLoop(counted);
            reader.pos = counted.end;
            copyFrom = counted.end;
            // Both forms flush: the hoisted one with its charge, the metered one at its header.
            if (flags.localCounter) flushedOnAllPaths = true;
            newRegion();
            break;
          }
          pushFrame(FRAME_LOOP);
          sync(reader.pos);
          // The check reads the fuel before the iteration; the iteration's first region flushes
          // after its charge. A loop whose iterations all begin with straight-line code and a call
          // to a function of the module needs no check: that function checks at its entry, with
          // the same fuel in every mode, so where a call stops stays the same. (c/recursion's fib
          // +40–42% → +35–36%.)
          const firstCallee = firstCallOfLoop(bytes, reader.pos, end, locals, this.context.globalCount);
          if (firstCallee === undefined || firstCallee < this.context.importedFunctions || firstCallee >= internalFunctions.length) {
            if (flags.localCounter) localGet(fuelLocal);
            else globalGet(globals.fuel);
            trapIfOverLimit(flags.localCounter);
          }
          newRegion(flags.localCounter);
          if (flags.localCounter) flushedOnAllPaths = true;
          break;
        }
        case Op.if:
          readBlockType();
          charge(costs.control);
          pushFrame(FRAME_IF);
          sync(reader.pos);
          newRegion();
          break;
        case Op.else: {
          const top = kinds.length - 1;
          if (kinds[top] !== FRAME_IF) throw malformed(offset, "else outside an if");
          thenEndFlushed[top] = flushedOnAllPaths;
          flushedOnAllPaths = ifEntryFlushed[top] === true;
          sync(reader.pos);
          newRegion();
          break;
        }
        case Op.end: {
          const kind = kinds.pop();
          const wasTargeted = targeted.pop();
          const branchedFlushed = branchesFlushed.pop() === true;
          const ifEntry = ifEntryFlushed.pop() === true;
          const thenEnd = thenEndFlushed.pop();
          // Paths meeting here: falling through, branches to the end, and for an if the other arm.
          if (kind === FRAME_BLOCK) flushedOnAllPaths = flushedOnAllPaths && branchedFlushed;
          else if (kind === FRAME_IF) flushedOnAllPaths = flushedOnAllPaths && branchedFlushed && (thenEnd ?? ifEntry);
          if (kind === FRAME_FUNCTION) {
            sync(offset);
            if (isInternal) {
              // That end closes the block around the body: the fuel goes after the results.
              sync(reader.pos);
              localGet(fuelLocal);
              w.byte(Op.end);
            } else {
              if (!tailCall && !regionFlushed) flush();
              sync(reader.pos);
            }
            if (reader.pos !== end) throw malformed(reader.pos, `function body has ${end - reader.pos} bytes after its final end`);
            this.compose(bytes, groups, groupsStart, groupsEnd, i64Locals, fuelLocal, usesLength, out);
            return;
          }
          if (kind === FRAME_IF || wasTargeted === true || !flags.mergeBlocks) {
            sync(reader.pos);
            newRegion();
          }
          break;
        }
        case Op.br:
        case Op.brIf: {
          const depthOffset = reader.pos;
          const returns = branchTo(reader.u32(), depthOffset) && !isInternal;
          charge(costs.control);
          if (returns && !regionFlushed) {
            sync(offset);
            flush();
          }
          sync(reader.pos);
          // After `br` nothing runs until a label's end: no path to constrain.
          if (op === Op.br) flushedOnAllPaths = true;
          newRegion();
          break;
        }
        case Op.brTable: {
          const count = reader.count("branch table");
          let returns = false;
          for (let index = 0; index <= count; index++) {
            const depthOffset = reader.pos;
            if (branchTo(reader.u32(), depthOffset) && !isInternal) returns = true;
          }
          charge(costs.control);
          if (returns && !regionFlushed) {
            sync(offset);
            flush();
          }
          sync(reader.pos);
          flushedOnAllPaths = true;
          newRegion();
          break;
        }
        case Op.return:
          charge(costs.control);
          sync(offset);
          if (isInternal) localGet(fuelLocal);
          else if (!regionFlushed) flush();
          sync(reader.pos);
          flushedOnAllPaths = true;
          newRegion();
          break;
        case Op.unreachable:
          charge(costs.control);
          sync(reader.pos);
          flushedOnAllPaths = true;
          newRegion();
          break;
        case Op.call:
        case Op.callIndirect: {
          if (op === Op.call) {
            const callee = reader.u32();
            charge(costs.call);
            if (internalFunctions[callee] === 1) {
              // The fuel goes in as the last argument and comes back as the last result. It is
              // flushed before the call unless every path here has flushed, and after it (with
              // the next region's charge) unless no trap can come before the next loop header or
              // the function's exit: a trap leaves a count that lags the work by at most forward
              // code of a function or two, however deep the recursion. (Left out after fib's
              // call, in a loop that flushes at its header: c/recursion +30% → +15.5%.)
              sync(offset);
              if (!flushedOnAllPaths) flush();
              localGet(fuelLocal);
              sync(reader.pos);
              takeFuelBack();
              const flushes = !trapFreeToFlush(bytes, reader.pos, end, locals, this.context.globalCount, kinds);
              flushedOnAllPaths = flushes;
              newRegion(flushes);
              break;
            }
          } else {
            const typeOffset = reader.pos;
            const type = reader.u32();
            if (type >= this.context.typeCount) throw malformed(typeOffset, `call_indirect type index ${type} (only ${this.context.typeCount} types)`);
            reader.u32();
            charge(costs.callIndirect);
          }
          sync(offset);
          if (!regionFlushed) flush();
          sync(reader.pos);
          // Followed by the function's end (which costs nothing): the callee left the right total
          // in the global. An internal function still needs it in the local, to return it.
          tailCall = flags.localCounter && !isInternal && bytes[reader.pos] === Op.end && kinds.length === 1;
          if (!tailCall) reload();
          // The callee left the total in the global (and the local reloaded it).
          flushedOnAllPaths = true;
          newRegion();
          break;
        }
        case Op.selectTyped: {
          const count = reader.count("select type");
          for (let index = 0; index < count; index++) readValueType(reader);
          charge(costs.control);
          break;
        }
        case Op.localGet:
        case Op.localSet:
        case Op.localTee:
        case Op.globalGet:
        case Op.globalSet: {
          // Out-of-range indices are invalid, and would otherwise name the locals and globals added here.
          const index = reader.u32();
          const count = op <= Op.localTee ? locals : this.context.globalCount;
          if (index >= count) throw malformed(offset, `${op <= Op.localTee ? "local" : "global"} index ${index} (only ${count})`);
          charge(this.singleCosts[op] as number);
          if (isInternal && op <= Op.localTee && index >= paramCount) {
            sync(offset);
            w.byte(op);
            w.u32(index + 1);
            copyFrom = reader.pos;
          }
          break;
        }
        case Op.tableGet:
        case Op.tableSet:
        case Op.refFunc:
          reader.u32();
          charge(this.singleCosts[op] as number);
          break;
        case Op.memorySize:
          readMemoryZero();
          charge(costs.memorySize);
          break;
        case Op.memoryGrow: {
          readMemoryZero();
          charge(costs.memoryGrow);
          sync(offset);
          flush();
          // pageFuel += pages_now * (fuel - mark); mark = fuel: the integral up to this grow.
          globalGet(globals.pageFuel);
          w.byte(Op.memorySize);
          w.byte(0);
          w.byte(Op.i64ExtendI32U);
          globalGet(globals.fuel);
          globalGet(globals.pageFuelMark);
          w.byte(Op.i64Sub);
          w.byte(Op.i64Mul);
          w.byte(Op.i64Add);
          globalSet(globals.pageFuel);
          globalGet(globals.fuel);
          globalSet(globals.pageFuelMark);
          sync(reader.pos);
          // Memory never shrinks, so the size after a grow is the peak so far.
          w.byte(Op.memorySize);
          w.byte(0);
          globalSet(globals.pages);
          this.stats.memoryGrowSites++;
          break;
        }
        case Op.i32Const:
          reader.skipSigned(32);
          charge(costs.constant);
          break;
        case Op.i64Const:
          reader.skipSigned(64);
          charge(costs.constant);
          break;
        case Op.f32Const:
          reader.skip(4);
          charge(costs.constant);
          break;
        case Op.f64Const:
          reader.skip(8);
          charge(costs.constant);
          break;
        case Op.refNull: {
          const typeOffset = reader.pos;
          const type = reader.byte();
          if (type !== 0x70 && type !== 0x6f) throw malformed(typeOffset, `ref.null type 0x${type.toString(16)} (not WebAssembly 2.0)`);
          charge(costs.table);
          break;
        }
        case Op.prefixMisc: {
          const sub = reader.u32();
          const name = miscClass(sub);
          if (name === undefined) throw malformed(offset, `instruction 0xfc ${sub} (not WebAssembly 2.0)`);
          charge(costs[name]);
          switch (sub) {
            case 8: // memory.init data memory
              reader.u32();
              readMemoryZero();
              break;
            case 10: // memory.copy memory memory
              readMemoryZero();
              readMemoryZero();
              break;
            case 11: // memory.fill memory
              readMemoryZero();
              break;
            case 12: // table.init element table
            case 14: // table.copy table table
              reader.u32();
              reader.u32();
              break;
            case 9: // data.drop
            case 13: // elem.drop
            case 15: // table.grow
            case 16: // table.size
            case 17: // table.fill
              reader.u32();
              break;
            default: // saturating truncations: no immediates
              break;
          }
          if (name === "bulk") {
            sync(offset);
            chargeLength(sub === 8 || sub === 10 || sub === 11 ? this.context.bulkBytesShift : this.context.tableElementsShift);
          }
          break;
        }
        case Op.prefixSimd: {
          const sub = reader.u32();
          const shape = sub <= 0xff ? simdShape(sub) : undefined;
          if (shape === undefined) throw malformed(offset, `instruction 0xfd ${sub} (not WebAssembly 2.0 SIMD)`);
          switch (shape.immediate) {
            case "memarg":
              readMemarg();
              break;
            case "memargLane":
              readMemarg();
              reader.byte();
              break;
            case "lane":
              reader.byte();
              break;
            case "bytes16":
              reader.skip(16);
              break;
            case "none":
              break;
          }
          charge(costs[shape.class]);
          break;
        }
        default: {
          const cost = this.singleCosts[op] as number;
          if (cost < 0) throw malformed(offset, `opcode 0x${op.toString(16)} (${unsupportedOpcodeFeature(op)}, not WebAssembly 2.0)`);
          if (op >= 0x28 && op <= 0x3e) readMemarg();
          charge(cost);
        }
      }
    }
  }

  /** Writes the size-prefixed body: original locals plus ours, then the code with region charges inserted. */
  private compose(
    bytes: Uint8Array,
    groups: number,
    groupsStart: number,
    groupsEnd: number,
    i64Locals: number,
    fuelLocal: number,
    usesLength: boolean,
    out: ByteWriter,
  ): void {
    const { flags, globals } = this.context;
    const body = this.body;
    body.reset();
    body.u32(groups + (i64Locals > 0 ? 1 : 0) + (usesLength ? 1 : 0));
    body.copy(bytes, groupsStart, groupsEnd);
    if (i64Locals > 0) {
      body.byte(i64Locals);
      body.byte(I64);
    }
    if (usesLength) {
      body.byte(1);
      body.byte(I32);
    }
    const code = this.code.view();
    let copied = 0;
    for (let index = 0; index < this.insertAt.length; index++) {
      const cost = this.regionCost[index] as number;
      const flushes = this.regionFlush[index] === true;
      if (cost === 0 && !flushes) continue;
      const at = this.insertAt[index] as number;
      body.copy(code, copied, at);
      copied = at;
      if (flushes) {
        // Only with the local counter: the new total goes to the global too.
        body.byte(Op.localGet);
        body.u32(fuelLocal);
        if (cost > 0) {
          body.byte(Op.i64Const);
          body.sInt(cost);
          body.byte(Op.i64Add);
          body.byte(Op.localTee);
          body.u32(fuelLocal);
          this.stats.blocks++;
        }
        body.byte(Op.globalSet);
        body.u32(globals.fuel);
        this.stats.flushes++;
        continue;
      }
      if (flags.localCounter) {
        body.byte(Op.localGet);
        body.u32(fuelLocal);
      } else {
        body.byte(Op.globalGet);
        body.u32(globals.fuel);
      }
      body.byte(Op.i64Const);
      body.sInt(cost);
      body.byte(Op.i64Add);
      if (flags.localCounter) {
        body.byte(Op.localSet);
        body.u32(fuelLocal);
      } else {
        body.byte(Op.globalSet);
        body.u32(globals.fuel);
      }
      this.stats.blocks++;
    }
    body.copy(code, copied, code.length);
    out.u32(body.length);
    out.bytes(body.view());
  }
}
