/**
 * Where the flush after an internal call can be left out. The flush is there so that a trap
 * after the call finds the callee's work in the global; if no trap can come before the fuel is
 * written anyway, nothing can observe its absence.
 */
import { ByteReader } from "./bytes.js";
import { straightLine } from "./counted-loop.js";
import { Op } from "./opcodes.js";

/** Kinds of open frames, as body.ts numbers them. */
export const FRAME_FUNCTION = 0;
export const FRAME_BLOCK = 1;
export const FRAME_LOOP = 2;
export const FRAME_IF = 3;

/** i32/i64.trunc_f32/f64_s/u: they trap on NaN and out-of-range values (the `float` class otherwise cannot). */
const isTrappingTruncation = (op: number) => (op >= 0xa8 && op <= 0xab) || (op >= 0xae && op <= 0xb1);

/**
 * Whether every path from `pos` reaches, through code that cannot trap, a loop header (every
 * metered loop flushes there) or the function's exit (where the fuel is the caller's to
 * flush, or the function flushes it). `frames` holds the kinds of the open frames, the
 * function's first. Only straight-line code, `br`/`br_if` to loops or out of the function,
 * the `end` of blocks, ifs and loops, and `return` are followed: anything else (a call, a block
 * entered, an `else`, a branch to a block's end) answers false, which only keeps a flush.
 */
export function trapFreeToFlush(bytes: Uint8Array, pos: number, end: number, localCount: number, globalCount: number, frames: readonly number[]): boolean {
  try {
    const reader = new ByteReader(bytes, pos, end);
    let open = frames.length;
    for (;;) {
      const op = reader.byte();
      switch (op) {
        case Op.end:
          open--;
          if (open === 0) return true;
          break;
        case Op.return:
          return true;
        case Op.br:
        case Op.brIf: {
          const target = open - 1 - reader.u32();
          if (target < 0 || (target > 0 && frames[target] !== FRAME_LOOP)) return false;
          // Out of the function, or to a loop's header: both write the fuel, with nothing between.
          if (op === Op.br) return true;
          break;
        }
        default: {
          const decoded = straightLine(op, reader, localCount, globalCount);
          if (decoded === undefined) return false;
          const { name } = decoded;
          if (name === "load" || name === "store" || name === "divide" || name === "table" || name === "simdMemory" || isTrappingTruncation(op)) return false;
        }
      }
    }
  } catch {
    // Malformed input: the main rewrite reports it with its offset.
    return false;
  }
}
