/**
 * A QuickJS engine's linear memory captured once, after the engine is set up (runtime, context,
 * host functions, prelude), and written back after every call: each call starts from the same
 * bytes, so no call sees what an earlier one left, and fuel does not depend on call history.
 *
 * Writing back all of it (about 5.6 MB, most of it the emscripten build's 5 MiB C stack reserve,
 * unused) would cost more than the call. The image is cut into what a call can write:
 * - static data and the C heap's bookkeeping: from address 0 to the start of the unused stack,
 *   plus a margin for zero-initialised statics that follow the last non-zero byte;
 * - the used top of the C stack and the heap: from `STACK_RESERVE_BYTES` below the deepest stack
 *   byte the setup touched, up to the heap break at capture time. QuickJS stops JavaScript
 *   recursion at its stack limit (256 KiB, set by the runtime), well inside that reserve;
 * - heap the call took beyond the captured break is zeroed, up to the break at the end.
 * Two guard bands around the part that is not written back must still be zero after a call; if
 * either is not (a deeper C stack, a static beyond the margin), the whole image is written back.
 *
 * Where the guarantee stops: the break is read when the call ends. This build's allocator never
 * gives memory back (its break only grows), so that covers everything the call touched; with an
 * allocator that trims, bytes above the break it returned would stay until a later allocation
 * overwrites them (unreachable from JavaScript short of a memory-safety bug in QuickJS).
 */
import { TfaasError } from "../../../shared/errors.js";

/** Margin after the last non-zero static byte, for zero-initialised statics. */
const STATIC_MARGIN_BYTES = 64 * 1024;
/** C stack below the deepest byte the setup used that a call may write (JS limit: 256 KiB). */
const STACK_RESERVE_BYTES = 512 * 1024;
/** Bands just outside the written-back regions that must stay zero. */
const GUARD_BYTES = 16 * 1024;
/** The heap break word lives in static data, within this many bytes of address 0. */
const STATIC_SCAN_BYTES = 1024 * 1024;

type Span = readonly [start: number, end: number];

const align = (value: number, to: number) => Math.ceil(value / to) * to;

/**
 * Finds the static word that holds the C heap's break (emscripten's sbrk value) while `grow`
 * holds a block of `grownBytes`: of the words that moved up by at least that much (the break, the
 * allocator's top chunk, free-list heads now pointing into the new memory), the break is the one
 * with the highest value, since every heap address lies below it.
 */
export function findBreakWord(memory: WebAssembly.Memory, grownBytes: number, grow: () => void): number {
  const before = new Uint32Array(memory.buffer.slice(0, STATIC_SCAN_BYTES));
  grow();
  const after = new Uint32Array(memory.buffer, 0, STATIC_SCAN_BYTES / 4);
  let found = -1;
  let highest = 0;
  let ties = 0;
  for (let i = 0; i < before.length; i++) {
    const value = after[i]!;
    if (value - before[i]! < grownBytes || value > memory.buffer.byteLength || value < highest) continue;
    ties = value === highest ? ties + 1 : 1;
    highest = value;
    found = i * 4;
  }
  if (found < 0 || ties !== 1) {
    throw new TfaasError("internal", `Cannot snapshot QuickJS: no single heap break word in static data (candidates at the top: ${ties})`);
  }
  return found;
}

export class MemoryImage {
  readonly #memory: WebAssembly.Memory;
  readonly #image: Uint8Array;
  readonly #breakWord: number;
  readonly #regions: Span[];
  readonly #guards: Span[];
  #fullRestores = 0;

  constructor(memory: WebAssembly.Memory, breakWord: number) {
    this.#memory = memory;
    this.#breakWord = breakWord;
    const end = this.heapBreak();
    this.#image = new Uint8Array(memory.buffer.slice(0, end));
    const gap = longestZeroRun(this.#image);
    const staticEnd = align(gap.start, 16) + STATIC_MARGIN_BYTES;
    const stackStart = Math.floor(gap.end / 16) * 16 - STACK_RESERVE_BYTES;
    if (stackStart - staticEnd < 4 * GUARD_BYTES) {
      // Too little unused memory to be worth skipping: write back everything.
      this.#regions = [[0, end]];
      this.#guards = [];
    } else {
      this.#regions = [
        [0, staticEnd],
        [stackStart, end],
      ];
      this.#guards = [
        [staticEnd, staticEnd + GUARD_BYTES],
        [stackStart - GUARD_BYTES, stackStart],
      ];
    }
  }

  /** The C heap's current break (the top of the memory it uses). */
  heapBreak(): number {
    return new Uint32Array(this.#memory.buffer, this.#breakWord, 1)[0]!;
  }

  /** Bytes written back after an ordinary call. */
  get restoredBytes(): number {
    return this.#regions.reduce((sum, [start, end]) => sum + end - start, 0);
  }

  /** How often a call reached beyond the regions, so the whole image was written back. */
  get fullRestores(): number {
    return this.#fullRestores;
  }

  /** Puts memory back to the captured bytes. */
  restore(): void {
    const heap = new Uint8Array(this.#memory.buffer);
    const used = this.heapBreak();
    if (this.#guards.every(([start, end]) => isZero(heap, start, end))) {
      for (const [start, end] of this.#regions) heap.set(this.#image.subarray(start, end), start);
    } else {
      this.#fullRestores++;
      heap.set(this.#image);
    }
    if (used > this.#image.length) heap.fill(0, this.#image.length, Math.min(used, heap.length));
  }
}

function isZero(heap: Uint8Array, start: number, end: number): boolean {
  const words = new Int32Array(heap.buffer, start, (end - start) >> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** The longest run of zero words (the unused C stack), as a byte span. */
function longestZeroRun(image: Uint8Array): { start: number; end: number } {
  const words = new Int32Array(image.buffer, 0, image.length >> 2);
  let best = { start: 0, end: 0 };
  let runStart = -1;
  for (let i = 0; i <= words.length; i++) {
    if (i < words.length && words[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if ((i - runStart) * 4 > best.end - best.start) best = { start: runStart * 4, end: i * 4 };
      runStart = -1;
    }
  }
  return best;
}
