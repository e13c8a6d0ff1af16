import { describe, expect, it } from "vitest";
import { wat, watText } from "../../test/fixtures/wasm/wat.js";
import { instrument, isFuelExhausted, readMeteringUsage, setFuelLimit, weightsV1 } from "./index.js";
import { instrumentWithFlags, naiveFlags, optimizedFlags } from "./instrument.js";

/** Naive, optimised, and optimised with every call through the global: they must agree. */
const variants = {
  naive: (bytes: Uint8Array) => instrumentWithFlags(bytes, weightsV1, naiveFlags).bytes,
  optimized: (bytes: Uint8Array) => instrument(bytes).bytes,
  classicCalls: (bytes: Uint8Array) => instrumentWithFlags(bytes, weightsV1, { ...optimizedFlags, internalCalls: false }).bytes,
};

type Fn = (...args: unknown[]) => unknown;

interface Outcome {
  result: unknown;
  trap: string | undefined;
  exhausted: boolean;
  fuel: bigint;
}

/** Calls `name(args)` on a fresh instance; `before` may use the exports first (e.g. to fill a table). */
function run(bytes: Uint8Array, name: string, args: unknown[], limit?: bigint): Outcome {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {});
  if (limit !== undefined) setFuelLimit(exports, limit);
  try {
    const result = (exports[name] as Fn)(...args);
    return { result, trap: undefined, exhausted: false, fuel: readMeteringUsage(exports).fuel };
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    return { result: undefined, trap: error.message, exhausted: isFuelExhausted(exports, error), fuel: readMeteringUsage(exports).fuel };
  }
}

/** Every variant: the original's result, and one fuel for all of them. */
function fuelOf(original: Uint8Array, name: string, args: unknown[]): bigint {
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(original as Uint8Array<ArrayBuffer>), {});
  const expected = (exports[name] as Fn)(...args);
  const fuels = Object.values(variants).map((variant) => {
    const outcome = run(variant(original), name, args);
    expect(outcome.result).toEqual(expected);
    return outcome.fuel;
  });
  expect(new Set(fuels).size).toBe(1);
  return fuels[0] as bigint;
}

/** Under each limit, every variant stops (or completes) at the same point with the same fuel. */
function expectSameStops(original: Uint8Array, name: string, args: unknown[], limits: bigint[]): number {
  let stopped = 0;
  for (const limit of limits) {
    const [first, ...rest] = Object.values(variants).map((variant) => run(variant(original), name, args, limit));
    for (const outcome of rest) expect(outcome).toEqual(first);
    if (first?.exhausted === true) stopped++;
  }
  return stopped;
}

/**
 * $fib recurses through direct calls only (internal); $double is in a table and called through
 * call_indirect; $square is exported and also called directly; $pair returns two values and
 * leaves through br_if, br_table, return and its end; $sum has locals and a counted loop on one of them.
 */
const calls = wat(`(module
  (type $unary (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $double)
  (memory 1)
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $double (param i32) (result i32) (i32.add (local.get 0) (call $fib (local.get 0))))
  (func $square (export "square") (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $pair (param $x i32) (result i32 i32) (local $y i32)
    (local.set $y (i32.mul (local.get $x) (i32.const 3)))
    (br_if 0 (local.get $y) (local.get $x) (i32.eq (local.get $x) (i32.const 1)))
    (drop) (drop)
    (block $b (result i32 i32)
      (br_table $b 1 (local.get $x) (local.get $y) (i32.and (local.get $x) (i32.const 1))))
    (if (i32.eq (local.get $x) (i32.const 4)) (then (return (local.get $y) (i32.const 1)))))
  (func $sum (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i32.add (local.get $acc) (call $sum (i32.sub (local.get $n) (i32.const 1)))))
  (func (export "fib") (param i32) (result i32) (call $fib (local.get 0)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $unary) (local.get 0) (i32.const 0)))
  (func (export "squares") (param i32) (result i32) (i32.add (call $square (local.get 0)) (call $fib (call $square (local.get 0)))))
  (func (export "pair") (param i32) (result i32) (call $pair (local.get 0)) (i32.sub))
  (func (export "sum") (param i32) (result i32) (call $sum (local.get 0)))
  (func (export "table") (result funcref) (table.get (i32.const 0))))`);

describe("internal calls (fuel as a parameter and a result)", () => {
  it("give only functions no one can reach from outside the internal type, keeping every other signature", () => {
    const { bytes, report } = instrument(calls);
    // $fib, $pair and $sum; not $double (table), $square (exported) or the exports.
    expect(report.internalFunctions).toBe(3);
    const text = watText(bytes);
    // Functions 0 to 4: $fib, $double, $square, $pair, $sum.
    expect(text).toMatch(/\(func \(;0;\) \(type \d+\) \(param i32 i64\) \(result i32 i64\)/);
    expect(text).toMatch(/\(func \(;1;\) \(type 0\) \(param i32\) \(result i32\)/);
    expect(text).toMatch(/\(func \(;2;\) \(type 0\) \(param i32\) \(result i32\)/);
    expect(text).toMatch(/\(func \(;3;\) \(type \d+\) \(param i32 i64\) \(result i32 i32 i64\)/);
    expect(text).toMatch(/\(func \(;4;\) \(type \d+\) \(param i32 i64\) \(result i32 i64\)/);
    // The renumbered counted loop is still charged once.
    expect(report.hoistedLoops).toBe(1);
    expect(instrument(calls, { optimize: false }).report.internalFunctions).toBe(0);
  });

  it("charge exactly the executed instructions through recursion, call_indirect, exports called directly and multi-value returns", () => {
    expect(fuelOf(calls, "fib", [15])).toBeGreaterThan(10_000n);
    // x = 1: br_if with (3x, x); odd: br_table to the function with (x, 3x); 4: return (3x, 1); else its end with (x, 3x).
    const pairs: Array<[number, number]> = [[1, 2], [7, -14], [4, 11], [2, -4], [0, 0]];
    for (const [x, expected] of pairs) {
      fuelOf(calls, "pair", [x]);
      expect(run(instrument(calls).bytes, "pair", [x]).result).toBe(expected);
    }
    fuelOf(calls, "indirect", [12]);
    fuelOf(calls, "squares", [4]);
    expect(run(instrument(calls).bytes, "squares", [4]).result).toBe(16 + 987);
    fuelOf(calls, "square", [9]);
    expect(fuelOf(calls, "sum", [40])).toBeGreaterThan(40n * 20n);
  });

  it("call a table's function from the host with its original signature and the same fuel", () => {
    for (const variant of Object.values(variants)) {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(variant(calls) as Uint8Array<ArrayBuffer>), {});
      const double = (exports.table as () => (x: number) => number)();
      expect(double(10)).toBe(10 + 55);
    }
    const fuels = Object.values(variants).map((variant) => {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(variant(calls) as Uint8Array<ArrayBuffer>), {});
      (exports.table as () => (x: number) => number)()(10);
      return readMeteringUsage(exports).fuel;
    });
    expect(new Set(fuels).size).toBe(1);
  });

  it("stop at the same point under every limit as the naive instrumentation", () => {
    const fib = fuelOf(calls, "fib", [12]);
    const limits = Array.from({ length: 60 }, (_, k) => (fib * BigInt(k)) / 59n);
    expect(expectSameStops(calls, "fib", [12], limits)).toBeGreaterThan(50);
    for (const [name, arg] of [["indirect", 8], ["squares", 3], ["sum", 8]] as const) {
      const total = fuelOf(calls, name, [arg]);
      expect(expectSameStops(calls, name, [arg], Array.from({ length: 40 }, (_, k) => (total * BigInt(k)) / 39n))).toBeGreaterThan(30);
    }
    // Unbounded recursion through internal calls is stopped by the entry checks.
    const deep = wat(`(module (func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))
      (func (export "f") (result i32) (call $down (i32.const 0))))`);
    const stopped = run(instrument(deep).bytes, "f", [], 10_000n);
    expect(stopped.exhausted).toBe(true);
    expect(stopped).toEqual(run(variants.naive(deep), "f", [], 10_000n));
  });

  it("skip the flush before a call that every path reaches through a flush, and still agree", () => {
    const loop = wat(`(module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "f") (param $n i32) (result i32) (local $acc i32)
        (loop $l
          (if (i32.and (local.get $n) (i32.const 1)) (then (local.set $acc (i32.add (local.get $acc) (i32.const 2)))))
          (local.set $acc (call $leaf (local.get $acc)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))`);
    // The loop header's flush reaches the call on both arms of the if, and nothing after the call
    // can trap before the header or the exit: only the header and the function's end flush.
    expect(instrument(loop).report).toMatchObject({ internalFunctions: 1, flushes: 2 });
    const total = fuelOf(loop, "f", [25]);
    expect(expectSameStops(loop, "f", [25], Array.from({ length: 30 }, (_, k) => (total * BigInt(k)) / 29n))).toBeGreaterThan(20);
  });

  it("flush after a call only where a trap could come before the loop's header or the exit, and still agree", () => {
    // $step may trap; f's loop makes one call per iteration. In "quiet" nothing after the call
    // can trap before the header (which flushes) or the exit; in "storing" a store can.
    const loop = wat(`(module
      (memory 1)
      (func $step (param i32) (result i32)
        (if (i32.eq (local.get 0) (i32.const 100)) (then unreachable))
        (i32.mul (local.get 0) (i32.const 3)))
      (func (export "quiet") (param $n i32) (param $bad i32) (result i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (call $step (i32.add (local.get $n) (local.get $bad)))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc))
      (func (export "storing") (param $n i32) (param $bad i32) (result i32) (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (call $step (i32.add (local.get $n) (local.get $bad)))))
          (i32.store (local.get $acc) (local.get $n))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))`);
    // quiet: its header and its end; storing: its header, after the call, and its end.
    expect(instrument(loop).report).toMatchObject({ internalFunctions: 1, flushes: 5 });
    for (const name of ["quiet", "storing"]) {
      const total = fuelOf(loop, name, [40, 0]);
      expect(expectSameStops(loop, name, [40, 0], Array.from({ length: 30 }, (_, k) => (total * BigInt(k)) / 29n))).toBeGreaterThan(20);
      // A trap in the callee on the 34th iteration ($n + $bad = 7 + 93): the fuel of the 33 before it.
      const trapped = run(instrument(loop).bytes, name, [40, 93]);
      const reference = run(variants.naive(loop), name, [40, 93]);
      expect(trapped).toMatchObject({ trap: "unreachable", exhausted: false });
      // The naive count is exact but for the trapping region: within an iteration's cost of it.
      expect(reference.fuel - trapped.fuel).toBeLessThanOrEqual(30n);
      expect(trapped.fuel - reference.fuel).toBeLessThanOrEqual(30n);
    }
    // A store out of bounds right after the call: the call's fuel is in the global.
    const outOfBounds = run(instrument(loop).bytes, "storing", [40, 0x10000]);
    const naive = run(variants.naive(loop), "storing", [40, 0x10000]);
    expect(outOfBounds.trap).toMatch(/out of bounds/);
    expect(naive.fuel - outOfBounds.fuel).toBeLessThanOrEqual(12n);
    expect(outOfBounds.fuel - naive.fuel).toBeLessThanOrEqual(12n);
  });

  it("leave a trap's fuel behind the work by at most a straight-line stretch, going down or up the recursion", () => {
    // Work before the recursive call (descending) or after it (ascending); `unreachable` at the
    // bottom, or at the top once everything below has returned.
    const recursion = wat(`(module
      (func $down (param $n i32) (result i32)
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 1)) (i32.const 0)))
        (if (i32.eqz (local.get $n)) (then unreachable))
        (call $down (i32.sub (local.get $n) (i32.const 1))))
      (func $up (param $n i32) (param $top i32) (result i32) (local $r i32)
        (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
        (local.set $r (call $up (i32.sub (local.get $n) (i32.const 1)) (local.get $top)))
        (local.set $r (i32.add (i32.mul (local.get $r) (i32.const 3)) (local.get $n)))
        (if (i32.eq (local.get $n) (local.get $top)) (then unreachable))
        (local.get $r))
      (func (export "down") (param i32) (result i32) (call $down (local.get 0)))
      (func (export "up") (param i32) (param i32) (result i32) (call $up (local.get 0) (local.get 1))))`);
    const optimized = instrument(recursion).bytes;
    const naive = variants.naive(recursion);
    // Climbing all the way back up without a trap: the fuel of the whole ascent.
    const completed = run(optimized, "up", [1000, 1001]);
    expect(completed.trap).toBeUndefined();
    for (const [name, args, atLeast] of [
      // Per level: 6 (the local.set), 3 (the if), 8 (the call).
      ["down", [1000], 1000n * 17n],
      ["up", [1000, 1000], completed.fuel - 20n],
    ] as const) {
      const trapped = run(optimized, name, [...args]);
      const reference = run(naive, name, [...args]);
      expect(trapped).toMatchObject({ trap: "unreachable", exhausted: false });
      expect(run(optimized, name, [...args]).fuel).toBe(trapped.fuel);
      expect(trapped.fuel).toBeGreaterThanOrEqual(atLeast);
      // The naive instrumentation updates the global in every region: within one region's cost of it.
      expect(trapped.fuel - reference.fuel).toBeLessThanOrEqual(20n);
      expect(reference.fuel - trapped.fuel).toBeLessThanOrEqual(20n);
    }
  });
});
