import { describe, expect, it } from "vitest";
import { wat, watText } from "../../test/fixtures/wasm/wat.js";
import { ByteWriter } from "./bytes.js";
import { instrument, isFuelExhausted, MeteringExports, readFuel, readMeteringUsage, setFuelLimit, weightsV1 } from "./index.js";
import { instrumentWithFlags, naiveFlags, optimizedFlags } from "./instrument.js";
import type { InstrumentFlags } from "./instrument.js";
import { readSections, SectionId } from "./sections.js";

const modes: Array<[string, InstrumentFlags]> = [
  ["optimized", optimizedFlags],
  ["naive", naiveFlags],
  ["merged blocks only", { ...naiveFlags, mergeBlocks: true }],
  ["local counter only", { ...naiveFlags, localCounter: true }],
  ["local counter and hoisting", { ...naiveFlags, localCounter: true, hoistLoops: true }],
  ["without internal calls", { ...optimizedFlags, internalCalls: false }],
];

function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}): WebAssembly.Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports).exports;
}

type Fn = (...args: unknown[]) => unknown;

/** Runs `name(args)` on a fresh instance of `bytes`; answers the result (or trap) and the usage. */
function run(bytes: Uint8Array, name: string, args: unknown[], limit?: bigint, imports: WebAssembly.Imports = {}) {
  const exports = instantiate(bytes, imports);
  if (limit !== undefined) setFuelLimit(exports, limit);
  try {
    const result = (exports[name] as Fn)(...args);
    return { result, trap: undefined, exhausted: false, ...readMeteringUsage(exports) };
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    return { result: undefined, trap: error.message, exhausted: isFuelExhausted(exports, error), ...readMeteringUsage(exports) };
  }
}

/** The same call on the original and on every instrumentation mode: same results, same fuel (and twice the same). */
function agree(original: Uint8Array, name: string, args: unknown[]): bigint {
  const plain = instantiate(original);
  let expected: unknown;
  let expectedTrap: string | undefined;
  try {
    expected = (plain[name] as Fn)(...args);
  } catch (error) {
    expectedTrap = (error as Error).message;
  }
  const fuels = new Set<bigint>();
  for (const [, flags] of modes) {
    const { bytes } = instrumentWithFlags(original, weightsV1, flags);
    const first = run(bytes, name, args);
    const second = run(bytes, name, args);
    expect(first.result).toEqual(expected);
    expect(first.trap).toBe(expectedTrap);
    expect(second.fuel).toBe(first.fuel);
    if (expectedTrap === undefined) fuels.add(first.fuel);
  }
  // Without traps every mode charges exactly the executed instructions.
  if (expectedTrap === undefined) expect(fuels.size).toBe(1);
  return [...fuels][0] ?? -1n;
}

const sumLoop = wat(`(module
  (func (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $acc)))`);

describe("fuel", () => {
  it("charges the weights of exactly the executed instructions", () => {
    expect(agree(wat(`(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))`), "f", [])).toBe(3n);
    // i32.div_u is a divide (4), the rest 1 each: 2 local.get + 1 div + 0 for end.
    expect(agree(wat(`(module (func (export "f") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))))`), "f", [7, 2])).toBe(6n);
  });

  it("costs a loop of n iterations exactly 12n + 6, in every mode and every run", () => {
    // block loop (2) + n × [local.get eqz br_if (3) + body (9)] + final test (3) + local.get (1)
    for (const n of [0, 1, 2, 10, 1000]) expect(agree(sumLoop, "sum", [n])).toBe(BigInt(12 * n + 6));
  });

  it("stops at the first check that sees more fuel than the limit, at the same point in every mode", () => {
    // Checks: entry (fuel 0), then loop header k at fuel 2 + 12k.
    for (const [, flags] of modes) {
      const { bytes } = instrumentWithFlags(sumLoop, weightsV1, flags);
      for (const [limit, stoppedAt] of [
        [0n, 2n],
        [1n, 2n],
        [2n, 14n],
        [50n, 62n],
        [62n, 74n],
      ] as const) {
        const outcome = run(bytes, "sum", [100], limit);
        expect(outcome.trap).toBe("unreachable");
        expect(outcome.exhausted).toBe(true);
        expect(outcome.fuel).toBe(stoppedAt);
      }
      // A budget of exactly what the call needs is enough.
      expect(run(bytes, "sum", [100], 1206n)).toMatchObject({ result: 5050, exhausted: false, fuel: 1206n });
    }
  });

  it("stops infinite loops and unbounded recursion", () => {
    const hostile = wat(`(module
      (func (export "spin") (loop (br 0)))
      (func $deep (export "deep") (call $deep)))`);
    const { bytes } = instrument(hostile);
    expect(run(bytes, "spin", [], 1_000_000n)).toMatchObject({ exhausted: true, fuel: 1_000_001n }); // loop (1), then br (1) per iteration
    const deep = run(bytes, "deep", [], 1_000n);
    expect(deep.exhausted).toBe(true);
    expect(deep.fuel).toBe(1_005n); // each call costs 5; the entry check after 201 calls sees 1005
  });

  it("leaves the check of a loop that starts by calling a function of the module to that function's entry", () => {
    const module = wat(`(module
      (import "env" "tick" (func $tick (param i32) (result i32)))
      (func $step (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1)))
      (func (export "viaStep") (param $n i32) (result i32)
        (loop $l (br_if $l (local.tee $n (call $step (local.get $n)))))
        (local.get $n))
      (func (export "viaImport") (param $n i32) (result i32)
        (loop $l (br_if $l (local.tee $n (call $tick (local.get $n)))))
        (local.get $n)))`);
    const imports = { env: { tick: (n: number) => n - 1 } };
    for (const [, flags] of modes) {
      const { bytes, report } = instrumentWithFlags(module, weightsV1, flags);
      // Entries of $step, viaStep and viaImport, and viaImport's loop header: an import checks nothing.
      expect(report.checks).toBe(4);
      // viaStep: entry 0, then each iteration: local.get, call, local.tee, br_if (5 with the call's 2);
      // $step's entry sees the fuel before its own body, so it stops there, at the same point in every mode.
      const outcome = run(bytes, "viaStep", [1_000_000], 100n, imports);
      expect(outcome).toMatchObject({ trap: "unreachable", exhausted: true });
      expect(outcome.fuel > 100n && outcome.fuel <= 110n).toBe(true);
      expect(run(bytes, "viaImport", [1_000_000], 100n, imports)).toMatchObject({ trap: "unreachable", exhausted: true });
    }
    // The same stopping point in every mode.
    const stops = modes.map(([, flags]) => run(instrumentWithFlags(module, weightsV1, flags).bytes, "viaStep", [1_000_000], 100n, imports).fuel);
    expect(new Set(stops).size).toBe(1);
  });

  it("treats an ordinary trap as such, with deterministic fuel no less than at the last check", () => {
    const trapping = wat(`(module
      (func (export "f") (param $n i32) (result i32) (local $i i32)
        (loop $top
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
        (i32.div_u (i32.const 1) (i32.sub (local.get $i) (local.get $n)))))`);
    for (const [, flags] of modes) {
      const { bytes } = instrumentWithFlags(trapping, weightsV1, flags);
      const first = run(bytes, "f", [10]);
      expect(first.trap).toMatch(/divide by zero/);
      expect(first.exhausted).toBe(false);
      expect(run(bytes, "f", [10]).fuel).toBe(first.fuel);
      // The last check was the 10th loop header, at loop (1) + 9 iterations of 8.
      expect(first.fuel).toBeGreaterThanOrEqual(73n);
    }
  });

  it("charges bulk memory by length (1 per 8 bytes) and bulk table operations per element", () => {
    const bulk = wat(`(module (memory 2) (table 0 funcref)
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 1) (local.get 0)))
      (func (export "copy") (param i32) (memory.copy (i32.const 0) (i32.const 8) (local.get 0)))
      (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))`);
    for (const name of ["fill", "copy"]) {
      const base = agree(bulk, name, [0]);
      expect(base).toBe(13n); // three operands (3) + bulk (10)
      for (const length of [7, 8, 100, 65536]) expect(agree(bulk, name, [length]) - base).toBe(BigInt(Math.floor(length / 8)));
    }
    const base = agree(bulk, "grow", [0]);
    expect(agree(bulk, "grow", [5]) - base).toBe(5n);
  });

  it("keeps counting right through calls, returns and br_table exits to the function", () => {
    const branches = wat(`(module
      (func $pick (param i32) (result i32)
        (i32.add (i32.const 100)
          (block $b1 (result i32)
            (drop (block $b0 (result i32) (br_table $b0 $b1 2 (i32.const 7) (local.get 0))))
            (i32.const 1))))
      (func (export "f") (param i32) (result i32) (call $pick (local.get 0))))`);
    const results = [0, 1, 2, 9].map((selector) => [selector, agree(branches, "f", [selector])]);
    expect(new Set(results.map(([, fuel]) => fuel)).size).toBeGreaterThan(1);
  });
});

describe("the limit", () => {
  const limitRead = `global.get 1`; // the modules have no globals: the counter is global 0, the limit 1

  it("is never read by the guest: every check compares the counter, kept from minus the limit, with 0", () => {
    const module = wat(`(module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "quiet") (param $n i32) (result i32)
        (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.mul (local.get $n) (i32.const 3))))))
        (local.get $n))
      (func (export "busy") (param $n i32) (result i32)
        (loop $l (br_if $l (i32.and (call $leaf (local.get $n)) (call $leaf (local.tee $n (i32.shr_u (local.get $n) (i32.const 1)))))))
        (local.get $n)))`);
    for (const mode of [{}, { optimize: false }]) expect(watText(instrument(module, mode).bytes)).not.toContain(limitRead);
    for (const name of ["quiet", "busy"]) expect(agree(module, name, [1000])).toBeGreaterThan(0n);
  });

  it("can be lowered from an import during a call: the counter moves with it, and the next check stops the call", () => {
    const module = wat(`(module
      (import "env" "tick" (func $tick (param i32) (result i32)))
      (func $viaHost (param i32) (result i32) (call $tick (local.get 0)))
      (func (export "hosted") (param $n i32) (result i32)
        (loop $l
          ;; A block first: a loop that begins with the call would leave its check to $viaHost.
          (local.set $n (block (result i32) (local.get $n)))
          (br_if $l (local.tee $n (i32.sub (call $viaHost (local.get $n)) (i32.const 1)))))
        (local.get $n)))`);
    const { bytes } = instrument(module);
    let ticks = 0;
    let exports: WebAssembly.Exports = {};
    const seen: bigint[] = [];
    const tick = (n: number) => {
      if (++ticks === 3) {
        seen.push(readFuel(exports));
        setFuelLimit(exports, 0n);
        seen.push(readFuel(exports));
      }
      return n;
    };
    exports = instantiate(bytes, { env: { tick } });
    let error: unknown;
    try {
      (exports.hosted as Fn)(10);
    } catch (caught) {
      error = caught;
    }
    expect(ticks).toBe(3);
    expect(isFuelExhausted(exports, error)).toBe(true);
    // Changing the limit does not change the fuel consumed; the call stopped right after the import.
    expect(seen[0]).toBeGreaterThan(0n);
    expect(seen[1]).toBe(seen[0]);
    expect(readFuel(exports) - (seen[0] as bigint)).toBeLessThan(20n);
  });
});

describe("calls that end a function", () => {
  const tail = wat(`(module
    (func $leaf (param i32) (result i32) (i32.div_u (i32.const 100) (local.get 0)))
    (func $middle (param i32) (result i32) (call $leaf (i32.add (local.get 0) (i32.const -1))))
    (func (export "f") (param i32) (result i32) (call $middle (local.get 0))))`);

  it("leave the callee's total in the global without a reload or a final flush", () => {
    // With every call through the global: leaf at its end; middle and f before the call only.
    expect(instrumentWithFlags(tail, weightsV1, { ...optimizedFlags, internalCalls: false }).report.flushes).toBe(3);
    // With internal calls (middle and leaf take the fuel as a parameter and return it): f and
    // middle before their calls (nothing has flushed on their way there), and f at its end for
    // the host. Not after the calls: the functions end there, with nothing that can trap.
    expect(instrument(tail).report).toMatchObject({ internalFunctions: 2, flushes: 3 });
    // f: local.get + call (6); middle: local.get, i32.const, i32.add + call (8); leaf: two operands + div_u (6).
    expect(agree(tail, "f", [5])).toBe(6n + 8n + 6n);
    // A trap in the leaf leaves the fuel flushed before its call, in every mode.
    for (const [, flags] of modes) {
      const trapped = run(instrumentWithFlags(tail, weightsV1, flags).bytes, "f", [1]);
      expect(trapped).toMatchObject({ trap: "divide by zero", exhausted: false });
      expect(trapped.fuel).toBeGreaterThanOrEqual(14n);
    }
    // Exhaustion at the leaf's entry check (fuel 14 > 13) stops every mode at the same point.
    for (const [, flags] of modes) expect(run(instrumentWithFlags(tail, weightsV1, flags).bytes, "f", [5], 13n)).toMatchObject({ exhausted: true, fuel: 14n });
  });
});

describe("counted loops", () => {
  /** `for (i = i0; i != n; i += step)` in the rotated form compilers emit, with a store in the body. */
  const countedLoop = (step: number) => `
    (func (export "step${step >>> 0}") (param $i i32) (param $n i32) (result i32) (local $acc i32)
      (loop $l
        (i32.store (i32.and (local.get $i) (i32.const 0xfffc)) (local.get $acc))
        (local.set $acc (i32.add (local.get $acc) (i32.const 1)))
        (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const ${step}))) (local.get $n))))
      (local.get $acc))`;
  const steps = [1, 8, 3, -1, 0x10000000, 2];
  const counted = wat(`(module (memory 1) ${steps.map(countedLoop).join("\n")}
    (func (export "oob") (param $i i32) (param $n i32)
      (loop $l
        (i32.store (i32.mul (local.get $i) (i32.const 4096)) (i32.const 1))
        (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))))`);

  it("recognises the rotated counted loop and keeps fuel exact for every trip count", () => {
    expect(instrument(counted).report.hoistedLoops).toBe(steps.length + 1);
    expect(instrument(counted, { optimize: false }).report.hoistedLoops).toBe(0);
    // Steps up, down (-1), odd (3), by powers of two, and 2^28 from n: wraps back to n after 16 iterations.
    const cases: Array<[string, number, number, number]> = [
      ["step1", 0, 1000, 1000],
      ["step1", 7, 8, 1],
      ["step8", 0, 800, 100],
      ["step3", 1, 31, 10],
      ["step4294967295", 50, 0, 50],
      ["step268435456", 5, 5, 16],
      ["step2", 0, 64, 32],
    ];
    for (const [name, from, to, trips] of cases) {
      // 10 per iteration before the tail, 7 in the tail, plus loop (1) and local.get (1).
      expect(agree(counted, name, [from, to])).toBe(BigInt(17 * trips + 2));
      expect(run(instrument(counted).bytes, name, [from, to]).result).toBe(trips);
    }
  });

  it("falls back to per-iteration metering where the loop never ends or the budget runs out inside it", () => {
    const hoisted = instrument(counted).bytes;
    const naive = instrument(counted, { optimize: false }).bytes;
    // step 2 from an even to an odd bound never meets it: only fuel stops it, at the same point.
    for (const limit of [0n, 5n, 1_000n, 20_001n]) {
      const expected = run(naive, "step2", [0, 7], limit);
      expect(expected.exhausted).toBe(true);
      expect(run(hoisted, "step2", [0, 7], limit)).toEqual(expected);
    }
    // A finite loop whose budget runs out at iteration 38 stops there, as without hoisting
    // (header k is checked at 1 + 17k).
    const limit = 1n + 17n * 37n;
    const expected = run(naive, "step1", [0, 1000], limit);
    expect(expected).toMatchObject({ exhausted: true, fuel: limit + 17n });
    expect(run(hoisted, "step1", [0, 1000], limit)).toEqual(expected);
    // Just enough for the whole loop: it runs hoisted and completes.
    expect(run(hoisted, "step1", [0, 1000], 17_002n)).toMatchObject({ result: 1000, fuel: 17_002n });
  });

  it("reports at least the fuel of the last check when the hoisted loop traps", () => {
    // Iteration 16 stores at 65536, out of bounds.
    const hoisted = run(instrument(counted).bytes, "oob", [0, 100]);
    const naive = run(instrument(counted, { optimize: false }).bytes, "oob", [0, 100]);
    expect(hoisted.trap).toMatch(/out of bounds/);
    expect(hoisted.exhausted).toBe(false);
    expect(naive.trap).toBe(hoisted.trap);
    // The hoisted loop was charged in full before it ran: loop (1) + 100 iterations of 13.
    expect(hoisted.fuel).toBe(1n + 1300n);
    expect(hoisted.fuel).toBeGreaterThanOrEqual(naive.fuel);
  });
});

describe("WebAssembly 2.0 features", () => {
  it("multi-value blocks and functions", () => {
    const multi = wat(`(module
      (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
      (func (export "f") (param i32 i32) (result i32)
        (local.get 0) (local.get 1)
        (block (param i32 i32) (result i32 i32) (call $swap) (br_if 0 (i32.const 1)))
        (i32.sub)))`);
    expect(agree(multi, "f", [10, 3])).toBeGreaterThan(0n);
    expect(run(instrument(multi).bytes, "f", [10, 3]).result).toBe(-7);
  });

  it("SIMD with lanes, shuffles and memory operands", () => {
    const simd = wat(`(module (memory 1) (data (i32.const 16) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")
      (func (export "f") (param i32) (result i32)
        (i32x4.extract_lane 2
          (i32x4.add
            (i32x4.splat (local.get 0))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
              (v128.load offset=16 (i32.const 0))
              (v128.load32_lane 1 (i32.const 20) (v128.const i32x4 1 2 3 4)))))))`);
    expect(agree(simd, "f", [5])).toBeGreaterThan(0n);
    expect(run(instrument(simd).bytes, "f", [5]).result).toBe(0x0c0b0a09 + 5);
  });

  it("reference types, call_indirect, typed select, sign extension and saturating conversions", () => {
    const refs = wat(`(module
      (type $unary (func (param i32) (result i32)))
      (table $t 2 funcref)
      (elem declare func $double)
      (func $double (type $unary) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "f") (param i32) (result i32)
        (table.set $t (i32.const 1) (ref.func $double))
        (i32.add
          (call_indirect $t (type $unary) (local.get 0) (i32.const 1))
          (i32.add
            (select (result i32) (i32.const 1) (i32.const 2) (ref.is_null (table.get $t (i32.const 0))))
            (i32.add (i32.extend8_s (i32.const 0xff)) (i32.trunc_sat_f32_s (f32.const 1e20)))))))`);
    expect(agree(refs, "f", [21])).toBeGreaterThan(0n);
    expect(run(instrument(refs).bytes, "f", [21]).result).toBe(42 + 1 - 1 + 2147483647 | 0);
  });

  it("observes memory.grow for the peak and the page × fuel integral", () => {
    const growing = wat(`(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`);
    const exports = instantiate(instrument(growing).bytes);
    expect(readMeteringUsage(exports)).toEqual({ fuel: 0n, memoryPeakPages: 1, pageFuelIntegral: 0n });
    expect((exports.grow as Fn)(2)).toBe(1);
    // local.get (1) + memory.grow (100) charged before the grow: 1 page held for 101 fuel.
    expect(readMeteringUsage(exports)).toEqual({ fuel: 101n, memoryPeakPages: 3, pageFuelIntegral: 101n });
    expect((exports.grow as Fn)(1)).toBe(3);
    expect(readMeteringUsage(exports)).toEqual({ fuel: 202n, memoryPeakPages: 4, pageFuelIntegral: 101n + 3n * 101n });
    expect((exports.grow as Fn)(70000)).toBe(-1);
    expect(readMeteringUsage(exports)).toMatchObject({ memoryPeakPages: 4, pageFuelIntegral: 101n + 3n * 101n + 4n * 101n });
  });
});

describe("module structure", () => {
  const full = wat(`(module
    (import "env" "log" (func $log (param i32)))
    (import "env" "g" (global $imported i32))
    (type $t (func))
    (table 2 funcref)
    (memory (export "memory") 1 2)
    (global $g (mut i32) (i32.const 5))
    (global $h i64 (i64.const 6))
    (func $start (global.set $g (global.get $imported)))
    (func (export "read") (result i32) (global.get $g))
    (func (export "size") (result i32) (memory.size))
    (start $start)
    (elem (i32.const 0) $start)
    (data $d "abc")
    (func (export "init") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3)) (data.drop $d)))`);
  const custom = new ByteWriter();
  custom.name("tfaas-test");
  custom.bytes(Uint8Array.from([1, 2, 3]));
  const customSection = new ByteWriter();
  customSection.byte(0);
  customSection.u32(custom.length);
  customSection.bytes(custom.view());
  // A custom section at the end and one between the type and import sections.
  const typeEnd = readSections(full)[0]?.end as number;
  const withCustom = Uint8Array.from([...full.subarray(0, typeEnd), ...customSection.view(), ...full.subarray(typeEnd), ...customSection.view()]);

  it("copies every section except globals, exports and code byte for byte, in order", () => {
    const { bytes, report } = instrument(withCustom);
    const before = readSections(withCustom);
    const after = readSections(bytes);
    expect(after.map((section) => section.id)).toEqual(before.map((section) => section.id));
    expect(before.map((section) => section.id)).toContain(SectionId.dataCount);
    for (const [index, section] of before.entries()) {
      const output = after[index];
      if (output === undefined) throw new Error("section missing");
      const original = withCustom.subarray(section.payloadOffset, section.end);
      const rewritten = bytes.subarray(output.payloadOffset, output.end);
      if (section.id === SectionId.code) continue;
      if (section.id === SectionId.global || section.id === SectionId.export) {
        // Same entries first (after the count, which grows by the appended entries).
        expect(rewritten[0]).toBe((original[0] as number) + 6);
        expect([...rewritten.subarray(1, original.length)]).toEqual([...original.subarray(1)]);
      } else {
        expect([...rewritten]).toEqual([...original]);
      }
    }
    expect(report).toMatchObject({ weightsVersion: "v1", functions: 4, inputBytes: withCustom.length, outputBytes: bytes.length });
    const module = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.customSections(module, "tfaas-test")).toHaveLength(2);
    const exports = instantiate(bytes, { env: { log: () => undefined, g: 9 } });
    expect((exports.read as Fn)()).toBe(9);
    expect(exports[MeteringExports.fuel]).toBeInstanceOf(WebAssembly.Global);
  });

  it("adds global and export sections where the module had none, in section order", () => {
    const bare = wat(`(module (func (drop (i32.const 1))) (start 0))`);
    const { bytes } = instrument(bare);
    expect(readSections(bytes).map((section) => section.id)).toEqual([
      SectionId.type,
      SectionId.function,
      SectionId.global,
      SectionId.export,
      SectionId.start,
      SectionId.code,
    ]);
    // The start function ran during instantiation and was metered: i32.const + drop.
    expect(readMeteringUsage(instantiate(bytes)).fuel).toBe(2n);
    expect(new Set(WebAssembly.Module.exports(new WebAssembly.Module(bytes)).map((entry) => entry.name))).toEqual(new Set(Object.values(MeteringExports)));
  });

  it("instruments a module without functions", () => {
    const { bytes, report } = instrument(wat("(module)"));
    expect(report.functions).toBe(0);
    expect(readMeteringUsage(instantiate(bytes))).toEqual({ fuel: 0n, memoryPeakPages: 0, pageFuelIntegral: 0n });
  });

  it("rejects modules that already use a metering name", () => {
    for (const text of [`(module (global (export "__tfaas_fuel") i64 (i64.const 0)))`, `(module (import "env" "__tfaas_fuel_limit" (global i64)))`]) {
      expect(() => instrument(wat(text))).toThrow(/already imports or exports __tfaas_fuel/);
    }
  });

  it("validates the fuel limit and reports exhaustion only for the fuel trap", () => {
    const exports = instantiate(instrument(sumLoop).bytes);
    expect(() => setFuelLimit(exports, -1n)).toThrow(/Cannot set fuel limit: current value is -1/);
    expect(() => setFuelLimit(exports, 1n << 63n)).toThrow(/Cannot set fuel limit/);
    setFuelLimit(exports, undefined);
    expect((exports[MeteringExports.fuelLimit] as WebAssembly.Global).value).toBe((1n << 63n) - 1n);
    expect(isFuelExhausted(exports, new Error("not a trap"))).toBe(false);
    expect(() => readMeteringUsage({})).toThrow(/was not instrumented/);
  });
});
